"""Keep role groups and their permissions in step with roles.ROLE_PERMISSIONS."""

from __future__ import annotations

from django.db.models.signals import post_migrate
from django.dispatch import receiver


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


@receiver(post_migrate)
def _sync_roles_after_migrate(sender, app_config=None, using="default", **kwargs) -> None:
    # post_migrate fires once per app, each creating its own permissions first; syncing every
    # time means the last call sees every app's permissions (missing ones are added later).
    if app_config is not None and app_config.name.startswith("lantai."):
        sync_roles(using)
