"""Health, readiness and metrics endpoints for load balancers and monitoring 运维接口."""

from __future__ import annotations

import hmac
import os

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from lantai import __version__
from lantai.accounts.roles import Role
from lantai.ops import health, metrics


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and answering (no dependency is touched)."""
    return JsonResponse({"status": "ok", "version": __version__})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready to serve: every dependency answers. 503 names the ones that do not."""
    probes = health.readiness()
    ready = all(p.ok for p in probes)
    body = {"status": "ready" if ready else "unavailable", "version": __version__}
    # Anyone (a load balancer) learns which dependency fails; the details (host names, paths,
    # error texts) only whoever may read the metrics.
    if _may_scrape(request):
        body["checks"] = {p.name: p.as_dict() for p in probes}
    else:
        body["checks"] = {p.name: {"ok": p.ok} for p in probes}
    return JsonResponse(body, status=200 if ready else 503)


def _may_scrape(request: HttpRequest) -> bool:
    token = os.environ.get("LANTAI_METRICS_TOKEN", "")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].strip().encode(), token.encode())
    # Without a token only a signed-in system administrator may look: the figures describe
    # the archive's internals and are not for the public. Reading the session needs the
    # database; when that is away (readyz must still answer) nobody is recognised.
    try:
        user = request.user
        has_role = getattr(user, "has_role", None)
        return bool(user.is_authenticated and has_role and has_role(Role.SYSADMIN))
    except (OperationalError, InterfaceError):
        return False


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _may_scrape(request):
        response = HttpResponse("forbidden\n", status=403, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="lantai-metrics"'
        return response
    body, content_type = metrics.render()
    return HttpResponse(body, content_type=content_type)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database that went away answers 503 with a clear message (the error may
    have been raised by a middleware, e.g. saving the session, where no view can catch it)."""
    import sys

    from django.views.defaults import server_error as default_server_error

    from lantai.ops.middleware import database_unavailable

    exc = sys.exc_info()[1]
    while exc is not None and not isinstance(exc, OperationalError | InterfaceError):
        exc = exc.__cause__ or exc.__context__
    if exc is not None:
        return database_unavailable(request, exc)
    return default_server_error(request)
