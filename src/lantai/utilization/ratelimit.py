"""A small fixed-window rate limiter 访问频率限制 for the public verification page (so codes
cannot be guessed by brute force) and for applications. Counts live in the Django cache (per
process with locmem, shared by all workers with Redis). The search app's token bucket is keyed
by request and tuned for typing speed; codes need a stricter, per-scope limit, hence this one."""

from __future__ import annotations

from django.conf import settings

from lantai.core.ratelimit import within_limit

#: scope → (requests, seconds): verification by address (guessing codes), applications by
#: account (a person files a few a day; a script files hundreds).
DEFAULTS = {"verify": (20, 60), "apply": (20, 3600)}


def _limits(scope: str) -> tuple[int, int]:
    limit, window = DEFAULTS.get(scope, (60, 60))
    if scope == "verify":
        limit = int(getattr(settings, "LANTAI_VERIFY_RATE_LIMIT", limit))
        window = int(getattr(settings, "LANTAI_VERIFY_RATE_WINDOW", window))
    elif scope == "apply":
        limit = int(getattr(settings, "LANTAI_USE_APPLY_RATE_LIMIT", limit))
    return limit, window


def allow(scope: str, who: str) -> bool:
    """True if ``who`` (a client address or account) may make one more ``scope`` request now."""
    limit, window = _limits(scope)
    return within_limit(f"use:{scope}", who, limit, window)
