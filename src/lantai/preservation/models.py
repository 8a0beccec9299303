"""Long-term preservation 长期保存: AIPs, PREMIS events and fixity audits.

An AIP is a BagIt bag (original files, metadata, METS with PREMIS) whose every file is a
stored object replicated by the storage layer; content is never modified in place.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _


class AipStatus(models.TextChoices):
    ACTIVE = "active", _("在用")
    SUPERSEDED = "superseded", _("已被替代")


class Aip(models.Model):
    """档案信息包 (AIP)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(
        "holdings.Item", verbose_name=_("条目"), on_delete=models.PROTECT, related_name="aips"
    )
    sip = models.OneToOneField(
        "ingest.Sip", null=True, blank=True, on_delete=models.SET_NULL, related_name="aip"
    )
    key_prefix = models.CharField(_("存储前缀"), max_length=200, unique=True)
    file_count = models.PositiveIntegerField(_("文件数"), default=0)
    size = models.BigIntegerField(_("大小"), default=0)
    # SHA-256 of the bag's tagmanifest: one value that pins the whole package.
    tagmanifest_sha256 = models.CharField(max_length=64)
    status = models.CharField(
        _("状态"), max_length=16, choices=AipStatus.choices, default=AipStatus.ACTIVE
    )
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    verified_at = models.DateTimeField(_("最近校验"), null=True, blank=True)

    class Meta:
        verbose_name = _("档案信息包")
        verbose_name_plural = _("档案信息包")
        ordering = ["-created_at"]
        permissions = [
            ("download_dip", _("下载利用包(DIP)与导出封装包")),
            ("run_fixity", _("执行固定性检查")),
        ]

    def __str__(self) -> str:
        return str(self.id)


class AipFile(models.Model):
    """One file of an AIP bag (payload or tag file) and the stored object holding it."""

    aip = models.ForeignKey(Aip, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(_("包内路径"), max_length=500)
    object = models.ForeignKey(
        "storage.StoredObject", on_delete=models.PROTECT, related_name="aip_files"
    )
    puid = models.CharField(_("PRONOM 标识"), max_length=20, blank=True)
    format_name = models.CharField(_("格式"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("包内文件")
        verbose_name_plural = _("包内文件")
        constraints = [models.UniqueConstraint(fields=["aip", "path"], name="aipfile_unique")]

    def __str__(self) -> str:
        return self.path


class EventOutcome(models.TextChoices):
    SUCCESS = "success", _("成功")
    WARNING = "warning", _("警告")
    FAILURE = "failure", _("失败")


class PreservationEvent(models.Model):
    """PREMIS event 保存事件: ingestion, fixity check, format identification, replication…"""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    aip = models.ForeignKey(
        Aip, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    sip = models.ForeignKey(
        "ingest.Sip", null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    object = models.ForeignKey(
        "storage.StoredObject",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
    )
    event_type = models.CharField(_("事件类型"), max_length=60, db_index=True)
    event_datetime = models.DateTimeField(_("事件时间"), db_index=True)
    outcome = models.CharField(_("结果"), max_length=8, choices=EventOutcome.choices)
    detail = models.CharField(_("说明"), max_length=500, blank=True)
    outcome_detail = models.JSONField(_("结果详情"), default=dict, blank=True)
    agent = models.CharField(_("执行者"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("保存事件")
        verbose_name_plural = _("保存事件")
        ordering = ["-event_datetime"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.outcome}"


class FixityAuditStatus(models.TextChoices):
    RUNNING = "running", _("进行中")
    DONE = "done", _("完成")
    FAILED = "failed", _("出错")


class FixityAudit(models.Model):
    """固定性检查: one audit run over a storage location (or all)."""

    location = models.ForeignKey(
        "storage.StorageLocation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fixity_audits",
    )
    status = models.CharField(
        max_length=8, choices=FixityAuditStatus.choices, default=FixityAuditStatus.RUNNING
    )
    scheduled = models.BooleanField(_("定期任务"), default=False)
    started_at = models.DateTimeField(_("开始时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    copies_checked = models.PositiveIntegerField(_("检查副本数"), default=0)
    bytes_checked = models.BigIntegerField(_("检查字节数"), default=0)
    failures = models.PositiveIntegerField(_("异常数"), default=0)
    repaired = models.PositiveIntegerField(_("已修复"), default=0)
    report = models.JSONField(_("报告"), default=dict, blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("固定性检查")
        verbose_name_plural = _("固定性检查")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{localtime(self.started_at):%Y-%m-%d %H:%M} {self.get_status_display()}"
