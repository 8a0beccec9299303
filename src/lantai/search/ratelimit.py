"""Rate limit 访问频率限制 for public search: a token bucket per client address and scope,
kept in the Django cache (Redis in production, so all workers share it; local memory
otherwise). Reusable: ``check(request, "portal-search")``.

Settings (or environment variables of the same name):
``LANTAI_SEARCH_RATE`` requests per minute refilled (default 60), ``LANTAI_SEARCH_BURST``
bucket size (default 20). Per scope: ``LANTAI_SEARCH_RATE_LIMITS = {scope: (rate, burst)}``.
A rate of 0 switches limiting off.
"""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from lantai.core.middleware import client_ip


def _setting(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def limits(scope: str) -> tuple[int, int]:
    """(requests per minute, burst) for ``scope``."""
    per_scope = getattr(settings, "LANTAI_SEARCH_RATE_LIMITS", None) or {}
    if scope in per_scope:
        rate, burst = per_scope[scope]
        return int(rate), int(burst)
    return _setting("LANTAI_SEARCH_RATE", 60), _setting("LANTAI_SEARCH_BURST", 20)


def check(request: HttpRequest, scope: str = "search") -> bool:
    """Take one token for this client in ``scope``; False when the bucket is empty (answer
    429 then). Not strictly atomic across workers — a few requests may slip through at the
    edge, which is fine for a courtesy limit."""
    rate, burst = limits(scope)
    if rate <= 0:
        return True
    key = f"lantai:search:tb:{scope}:{client_ip(request) or '-'}"
    now = time.time()
    tokens, stamp = cache.get(key) or (float(burst), now)
    tokens = min(float(burst), tokens + (now - stamp) * rate / 60.0)
    allowed = tokens >= 1.0
    if allowed:
        tokens -= 1.0
    # Kept long enough for an empty bucket to refill completely.
    cache.set(key, (tokens, now), timeout=int(60 * burst / rate) + 60)
    return allowed


def retry_after(scope: str = "search") -> int:
    """Seconds until one token is back (for the Retry-After header)."""
    rate, _burst = limits(scope)
    return max(1, int(60 / rate)) if rate > 0 else 0
