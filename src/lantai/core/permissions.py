"""Permission checks for services. Views and API call services; services call ``require``.

Checking here, not only in templates, means the UI, the API and the CLI refuse the same things.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _


def require(user, *perms: str) -> None:
    """Raise PermissionDenied unless ``user`` is active and holds every permission in ``perms``.

    ``user`` None means the system itself (a migration, a management command run by the
    operator on the server) and is allowed.
    """
    if user is None:
        return
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        raise PermissionDenied(_("请先登录。"))
    missing = [perm for perm in perms if not user.has_perm(perm)]
    if missing:
        message = _("您没有执行此操作的权限：%(perms)s") % {"perms": "、".join(missing)}
        raise PermissionDenied(message)


def has(user, perm: str) -> bool:
    if user is None:
        return True
    return bool(getattr(user, "is_active", False) and user.has_perm(perm))
