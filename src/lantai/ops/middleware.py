"""A clear answer while the database is away 数据库不可用.

When PostgreSQL restarts or fails over, a request would otherwise end in a bare 500 error.
This answers 503 with a short Chinese (or English) message and ``Retry-After``, JSON for the
API, and logs one line instead of a traceback per request. Nothing else changes: when the
database returns, the next request works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

logger = logging.getLogger("lantai.ops")


def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("database unavailable: %s", str(exc).strip().splitlines()[0][:200])
    close_old_connections()
    message = _("数据库暂时无法连接，请稍后再试。")
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(
            f"<!DOCTYPE html><meta charset='utf-8'><title>503</title><h1>503</h1><p>{message}</p>",
            status=503,
        )
    response["Retry-After"] = "10"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError) as exc:
            # Raised in a middleware (e.g. loading the session) rather than a view.
            return database_unavailable(request, exc)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, OperationalError | InterfaceError):
            return database_unavailable(request, exc)
        return None
