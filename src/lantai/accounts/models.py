"""Accounts 账户: staff, unit records officers and registered citizens in one user table."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from lantai.accounts.roles import Role


class User(AbstractUser):
    """A person who signs in. Roles are groups named by ``Role`` codes.

    ``is_superuser`` is never set by Lantai: a superuser would pass every permission check
    and so break 三员分立.
    """

    real_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    unit = models.ForeignKey(
        "holdings.Unit",
        verbose_name=_("所属单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text=_("单位档案员只能看到本单位的全宗。"),
    )

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        permissions = [
            ("manage_users", _("管理用户账户")),
            ("assign_roles", _("分配角色与权限")),
        ]

    def __str__(self) -> str:
        return self.real_name or self.username

    @property
    def role_codes(self) -> set[str]:
        cache = getattr(self, "_role_codes", None)
        if cache is None:
            valid = set(Role.values)
            cache = {name for name in self.groups.values_list("name", flat=True) if name in valid}
            self._role_codes = cache
        return cache

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_codes.intersection(roles))

    @property
    def role_labels(self) -> list[str]:
        return [str(Role(code).label) for code in Role.values if code in self.role_codes]
