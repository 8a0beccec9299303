"""Fixed-window rate limiting 访问频率限制 in the Django cache (Redis in production, so every
worker shares the count; local memory otherwise). The portal and the use-request pages count
with it under their own scopes and limits; public search keeps its token bucket
(``lantai.search.ratelimit``), which suits typing speed better.
"""

from __future__ import annotations

import time

from django.core.cache import cache


def within_limit(scope: str, who: str, limit: int, window: int) -> bool:
    """Count one request of ``who`` in ``scope``; True while at most ``limit`` fall in the
    current ``window`` seconds."""
    slot = int(time.time() // window)
    key = f"lantai:rl:{scope}:{who}:{slot}"
    # add() is atomic: the first request of a window creates the counter.
    if cache.add(key, 1, timeout=window + 5):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window + 5)
        return True
    return count <= limit


def seconds_left(window: int) -> int:
    """Seconds until the current window ends (for Retry-After)."""
    return max(1, window - int(time.time()) % window)
