"""Online archiving 在线归档: agencies' systems submit SIPs (归档信息包) through the API; each
goes through the DA/T 70 four-property checks (四性检测) and, when it passes, becomes an AIP.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """接口令牌: issued by the administrator to a unit's system, scoped to the unit's fonds.

    Only a hash of the secret is kept; the secret is shown once when issued.
    """

    unit = models.ForeignKey(
        "holdings.Unit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="api_tokens"
    )
    name = models.CharField(_("名称"), max_length=100)
    key_prefix = models.CharField(_("令牌前缀"), max_length=12, unique=True)
    key_hash = models.CharField(max_length=128)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("签发时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("有效期至"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-created_at"]
        permissions = [
            ("manage_tokens", _("签发与吊销接口令牌")),
            ("submit_sip", _("提交归档信息包")),
            ("view_sip", _("查看归档信息包与检测报告")),
            ("manage_checks", _("配置四性检测规则")),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.key_prefix}…）"


class SipFormat(models.TextChoices):
    BAGIT = "bagit", _("BagIt 包")
    EEP = "eep", _("DA/T 48 封装包")


class SipStatus(models.TextChoices):
    RECEIVED = "received", _("已接收")
    CHECKING = "checking", _("检测中")
    STORING = "storing", _("封装保存中")
    STORED = "stored", _("已归档")
    FAILED = "failed", _("检测未通过")
    ERROR = "error", _("处理出错")


class Sip(models.Model):
    """归档信息包 (SIP) as received, with its check report and outcome."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    unit = models.ForeignKey(
        "holdings.Unit", verbose_name=_("单位"), on_delete=models.PROTECT, related_name="sips"
    )
    fonds = models.ForeignKey(
        "holdings.Fonds",
        verbose_name=_("全宗"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sips",
    )
    token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.PROTECT, related_name="sips"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source = models.CharField(_("来源"), max_length=16, default="api")  # api, cli, accession
    format = models.CharField(_("格式"), max_length=8, choices=SipFormat.choices, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    original_name = models.CharField(_("原始文件名"), max_length=255, blank=True)
    received_path = models.CharField(max_length=500, blank=True)
    size = models.BigIntegerField(_("大小"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        _("状态"),
        max_length=16,
        choices=SipStatus.choices,
        default=SipStatus.RECEIVED,
        db_index=True,
    )
    # The last pipeline step completed, so a restarted worker resumes or fails it cleanly.
    stage = models.CharField(_("处理阶段"), max_length=32, blank=True)
    report = models.JSONField(_("检测报告"), default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)
    item = models.ForeignKey(
        "holdings.Item", null=True, blank=True, on_delete=models.SET_NULL, related_name="sips"
    )
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("接收时间"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("归档信息包")
        verbose_name_plural = _("归档信息包")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "idempotency_key"], name="sip_unique_idempotency"
            )
        ]
        indexes = [models.Index(fields=["unit", "status"], name="sip_unit_status")]

    def __str__(self) -> str:
        return str(self.id)


class CheckStage(models.TextChoices):
    ARCHIVING = "GD", _("归档")
    TRANSFER = "YJ", _("移交与接收")
    PRESERVATION = "BC", _("长期保存")


class CheckProperty(models.TextChoices):
    AUTHENTICITY = "authenticity", _("真实性")
    INTEGRITY = "integrity", _("完整性")
    USABILITY = "usability", _("可用性")
    SECURITY = "security", _("安全性")


class CheckMode(models.TextChoices):
    BLOCKING = "blocking", _("阻断")
    WARNING = "warning", _("警告")
    OFF = "off", _("不检测")


class CheckRule(models.Model):
    """四性检测项: one DA/T 70 check at one stage, configured blocking, warning or off."""

    stage = models.CharField(_("检测环节"), max_length=2, choices=CheckStage.choices)
    property = models.CharField(_("检测属性"), max_length=16, choices=CheckProperty.choices)
    code = models.CharField(_("检测项编号"), max_length=20)
    name = models.CharField(_("检测项"), max_length=100)
    description = models.CharField(_("检测内容"), max_length=300, blank=True)
    mode = models.CharField(
        _("处理方式"), max_length=8, choices=CheckMode.choices, default=CheckMode.BLOCKING
    )
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        verbose_name = _("四性检测项")
        verbose_name_plural = _("四性检测项")
        ordering = ["stage", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "code"], name="checkrule_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.stage}-{self.code} {self.name}"


class AcceptedFormat(models.Model):
    """归档格式: a file format (PRONOM PUID) the archive accepts for long-term keeping."""

    puid = models.CharField(_("PRONOM 标识"), max_length=20, unique=True)
    name = models.CharField(_("格式名称"), max_length=100)
    mime = models.CharField(_("MIME 类型"), max_length=100, blank=True)
    accepted = models.BooleanField(_("接收"), default=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("归档格式")
        verbose_name_plural = _("归档格式")
        ordering = ["puid"]

    def __str__(self) -> str:
        return f"{self.puid} {self.name}"
