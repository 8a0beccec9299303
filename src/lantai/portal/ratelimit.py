"""Rate limits 访问频率限制 for the public portal, per client address and scope.

Fixed windows counted in the Django cache (Redis in production, so every worker shares the
count; local memory otherwise). Limits per scope come from ``LANTAI_PORTAL_RATE_LIMITS``
({scope: (requests, seconds)}) over the defaults below. The search app may provide its own
``lantai.search.ratelimit``; the portal keeps this small one so that identity posts
(registration, login) are limited whether or not search is installed. Public search itself
("portal-search") goes through ``lantai.search.ratelimit.check`` when that module exists, so
one setting (LANTAI_SEARCH_RATE_LIMITS) governs every search box.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from lantai.core.middleware import client_ip
from lantai.core.ratelimit import seconds_left, within_limit

DEFAULTS: dict[str, tuple[int, int]] = {
    "portal-search": (60, 60),  # a person types; a scraper does not stop
    "portal-register": (10, 3600),  # a reading-room kiosk registers a few people an hour
    "portal-login": (30, 600),  # axes locks one name; this stops trying many names
    "portal-password": (10, 600),
    "portal-file": (120, 60),  # watermarking is CPU work
}


def limit_for(scope: str) -> tuple[int, int]:
    configured = getattr(settings, "LANTAI_PORTAL_RATE_LIMITS", {}) or {}
    return tuple(configured.get(scope) or DEFAULTS.get(scope) or (60, 60))  # type: ignore[return-value]


def _search_limiter():
    try:
        from lantai.search import ratelimit as search_ratelimit
    except ImportError:
        return None
    return search_ratelimit


SEARCH_SCOPE = "portal-search"


def hit(request: HttpRequest, scope: str) -> bool:
    """Count one request; True while the address is within the limit for ``scope``."""
    if scope == SEARCH_SCOPE and (limiter := _search_limiter()) is not None:
        return limiter.check(request, scope)
    limit, window = limit_for(scope)
    return within_limit(f"portal:{scope}", client_ip(request) or "-", limit, window)


def retry_after(scope: str) -> int:
    if scope == SEARCH_SCOPE and (limiter := _search_limiter()) is not None:
        return max(1, limiter.retry_after(scope))
    _limit, window = limit_for(scope)
    return seconds_left(window)
