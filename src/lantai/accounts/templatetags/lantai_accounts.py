"""Template helpers for the account pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

register = template.Library()


@register.simple_tag
def retry_at(cooloff: timedelta | None) -> datetime | None:
    """When a locked-out login may be tried again: each attempt restarts the cool-off."""
    if not cooloff:
        return None
    return timezone.localtime(timezone.now() + cooloff)


@register.filter
def minutes(value: timedelta | None) -> int:
    if not value:
        return 0
    return int(value.total_seconds() // 60)
