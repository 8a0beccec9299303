"""A small fixed-window rate limiter 访问频率限制 for the public verification page, so codes
cannot be guessed by brute force. Uses the search app's limiter when it exists, else the
Django cache (per process with locmem, shared with Redis)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def _limits() -> tuple[int, int]:
    limit = int(getattr(settings, "LANTAI_VERIFY_RATE_LIMIT", 20))
    window = int(getattr(settings, "LANTAI_VERIFY_RATE_WINDOW", 60))
    return limit, window


def allow(scope: str, who: str) -> bool:
    """True if ``who`` (a client address) may make one more ``scope`` request now."""
    limit, window = _limits()
    try:
        from lantai.search import ratelimit as shared  # the project-wide one, when present
    except ImportError:
        shared = None
    check = getattr(shared, "check", None)
    if check is not None:
        try:
            return bool(check(f"{scope}:{who}", limit=limit, window=window))
        except TypeError:
            pass  # another signature: fall back to our own counter
    bucket = int(time.time() // window)
    key = f"lantai:ratelimit:{scope}:{who}:{bucket}"
    if cache.add(key, 1, timeout=window + 1):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 1)
        return True
    return count <= limit
