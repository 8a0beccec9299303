"""Request context: a request id for logs and audit entries, and the current request.

The current request is kept in a context variable so services can record who acted and from
where without every call passing the request along.
"""

from __future__ import annotations

import contextvars
import re
import time
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


#: Session key holding when the session's expiry was last moved (epoch seconds).
REFRESHED_KEY = "_lantai_refreshed"


class SessionRefreshMiddleware:
    """Slides a signed-in session's idle expiry 会话续期 at most once every
    ``LANTAI_SESSION_REFRESH_SECONDS`` (default 60) instead of writing the session on every
    request: a write per request made every page and API call of staff a database write
    (on SQLite, one writer at a time for the whole site). The idle timeout is then
    ``SESSION_COOKIE_AGE`` give or take that interval. Anonymous visitors get no session
    from it. Must come after SessionMiddleware (its response phase runs first)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        from django.conf import settings

        self.get_response = get_response
        self.interval = int(getattr(settings, "LANTAI_SESSION_REFRESH_SECONDS", 60))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            now = int(time.time())
            try:
                last = int(session.get(REFRESHED_KEY) or 0)
            except (TypeError, ValueError):
                last = 0
            if now - last >= self.interval and session.session_key:
                session[REFRESHED_KEY] = now  # modified: SessionMiddleware saves it
        return response
