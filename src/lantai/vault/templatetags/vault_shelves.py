"""Template tags of the shelves screens: where a volume or item is (on holdings pages)."""

from __future__ import annotations

from django import template

from lantai.core.permissions import has
from lantai.vault import services_shelves

register = template.Library()


@register.simple_tag(takes_context=True)
def whereabouts_of(context, obj):
    """``{% whereabouts_of item as where %}``: a ``Whereabouts`` for vault staff (keepers, and
    archivists, who may view the vault environment), else None: shelf marks are not for unit
    officers or the public."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if obj is None or user is None:
        return None
    if not (has(user, "vault.manage_vault") or has(user, "vault.view_environment")):
        return None
    where = services_shelves.whereabouts(obj)
    where.can_manage = has(user, "vault.manage_vault")
    return where
