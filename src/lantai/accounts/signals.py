"""Keep role groups and their permissions in step with roles.ROLE_PERMISSIONS.

When an upgrade changes what a role may do, the change reaches every holder of the role at
the next ``migrate``; it is a permission change like any other, so it goes into the audit
trail (权限变更): one entry per role that gained or lost permissions. A fresh install (no role
groups yet) and the flush between tests (post_migrate without pre_migrate) record nothing.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.db import connections, transaction
from django.db.models.signals import post_migrate, pre_migrate
from django.dispatch import receiver

#: Role permissions as they were before the running ``migrate``, per database alias.
_before_migrate: dict[str, dict[str, set[str]]] = {}


def sync_roles(using: str = "default") -> None:
    """Create a group per role and set exactly the permissions ROLE_PERMISSIONS lists."""
    from django.contrib.auth.models import Group, Permission

    from lantai.accounts.roles import ROLE_PERMISSIONS

    for role, perm_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=str(role))
        wanted = {tuple(name.split(".", 1)) for name in perm_names}
        perms = [
            perm
            for perm in Permission.objects.using(using)
            .filter(codename__in={codename for _, codename in wanted})
            .select_related("content_type")
            if (perm.content_type.app_label, perm.codename) in wanted
        ]
        group.permissions.set(perms)


def role_permissions(using: str = "default") -> dict[str, set[str]]:
    """{role code: {"app_label.codename", …}} of the role groups that exist now."""
    from django.contrib.auth.models import Group

    from lantai.accounts.roles import ROLE_PERMISSIONS

    if "auth_group" not in connections[using].introspection.table_names():
        return {}
    current: dict[str, set[str]] = {}
    groups = Group.objects.using(using).filter(name__in=[str(r) for r in ROLE_PERMISSIONS])
    for group in groups.prefetch_related("permissions__content_type"):
        current[group.name] = {
            f"{perm.content_type.app_label}.{perm.codename}" for perm in group.permissions.all()
        }
    return current


def audit_role_permission_changes(before: dict[str, set[str]], using: str = "default") -> int:
    """Record a PERMISSION_CHANGE entry for every role that existed in ``before`` and whose
    permissions now differ. Returns the number of entries written."""
    if "audit_auditentry" not in connections[using].introspection.table_names():
        return 0
    from lantai.accounts.roles import Role
    from lantai.audit.models import AuditAction
    from lantai.audit.services import record

    after = role_permissions(using)
    written = 0
    with transaction.atomic(using=using):
        for role, old in sorted(before.items()):
            new = after.get(role, set())
            if new == old:
                continue
            record(
                AuditAction.PERMISSION_CHANGE,
                object_type="auth.group",
                object_id=role,
                object_repr=str(Role(role).label) if role in Role.values else role,
                detail={
                    "role": role,
                    "added": sorted(new - old),
                    "removed": sorted(old - new),
                    "reason": "migrate",
                },
            )
            written += 1
    return written


def _last_app_signalled() -> str:
    # migrate sends post_migrate once per app that has a models module, in this order.
    labels = [a.label for a in global_apps.get_app_configs() if a.models_module is not None]
    return labels[-1]


@receiver(pre_migrate, dispatch_uid="lantai_roles_before_migrate")
def _roles_before_migrate(sender, app_config=None, using="default", **kwargs) -> None:
    # pre_migrate comes once per app before any migration runs: note the roles at the first.
    if using not in _before_migrate:
        _before_migrate[using] = role_permissions(using)


@receiver(post_migrate, dispatch_uid="lantai_roles_after_migrate")
def _sync_roles_after_migrate(sender, app_config=None, using="default", **kwargs) -> None:
    # post_migrate fires once per app, each creating its own permissions first; syncing every
    # time means the last call sees every app's permissions (missing ones are added later).
    if app_config is not None and app_config.name.startswith("lantai."):
        sync_roles(using)
    if app_config is not None and app_config.label == _last_app_signalled():
        before = _before_migrate.pop(using, None)
        if before:
            audit_role_permission_changes(before, using)
