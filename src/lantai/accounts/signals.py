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
        perms = []
        for name in perm_names:
            app_label, codename = name.split(".", 1)
            perms.append(
                Permission.objects.using(using).get(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.set(perms)


@receiver(post_migrate)
def _sync_roles_after_migrate(sender, app_config=None, using="default", **kwargs) -> None:
    # Run once, after the last of our apps has migrated and its permissions exist.
    if app_config is not None and app_config.label == "holdings":
        sync_roles(using)
