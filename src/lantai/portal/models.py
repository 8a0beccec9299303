"""公众服务门户 models: the citizen's real-name profile 实名信息.

The 居民身份证 number is never stored in the clear: ``id_hash`` (HMAC-SHA256 of the
normalised number) finds and matches a person, ``id_encrypted`` (Fernet) lets staff holding
``portal.reveal_id_number`` read it back when really needed (audited), ``id_masked`` is what
pages show. Keys are derived from SECRET_KEY (see ``portal.services``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CitizenProfile(models.Model):
    """实名信息 of a registered citizen 注册公众 (one per account, one account per ID)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账户"),
        on_delete=models.CASCADE,
        related_name="citizen_profile",
    )
    real_name = models.CharField(_("姓名"), max_length=50)
    id_hash = models.CharField(_("身份证号摘要"), max_length=64, unique=True)
    id_encrypted = models.TextField(_("身份证号密文"))
    id_masked = models.CharField(_("身份证号（脱敏）"), max_length=18)
    phone = models.CharField(_("手机号"), max_length=20)
    created_at = models.DateTimeField(_("注册时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("实名信息")
        verbose_name_plural = _("实名信息")
        ordering = ["-created_at"]
        permissions = [("reveal_id_number", _("查看完整身份证号"))]

    def __str__(self) -> str:
        return f"{self.real_name}（{self.id_masked}）"
