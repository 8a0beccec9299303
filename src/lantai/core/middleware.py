"""Request context: a request id for logs and audit entries, and the current request.

The current request is kept in a context variable so services can record who acted and from
where without every call passing the request along.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "lantai_request", default=None
)
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("lantai_request_id", default="")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request() -> HttpRequest | None:
    return _current_request.get()


def current_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str) -> contextvars.Token:
    """Used by job workers so a job's audit entries and logs carry the id of its request."""
    return _request_id.set(value)


def client_ip(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return request.META.get("REMOTE_ADDR", "")[:45]


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid
        token_req = _current_request.set(request)
        token_id = _request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            _current_request.reset(token_req)
            _request_id.reset(token_id)
        response["X-Request-ID"] = rid
        return response
