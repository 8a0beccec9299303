"""Template tags of preservation: the AIP box on an item's page."""

from __future__ import annotations

from django import template

from lantai.core.permissions import has
from lantai.preservation import services

register = template.Library()


@register.simple_tag(takes_context=True)
def aips_of(context, item) -> dict | None:
    """{"aips": [...], "can_download": bool} for the item page, or None when it has none."""
    request = context.get("request")
    user = getattr(request, "user", None)
    aips = services.item_aips(user, item)
    if not aips:
        return None
    return {"aips": aips, "can_download": has(user, services.DOWNLOAD)}
