"""Background jobs 后台任务: one row per long piece of work, with its progress and outcome."""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("运行中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")
    CANCELLED = "cancelled", _("已取消")


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("任务类型"), max_length=64, db_index=True)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    progress_done = models.BigIntegerField(_("已完成"), default=0)
    progress_total = models.BigIntegerField(_("总数"), null=True, blank=True)
    message = models.CharField(_("进度说明"), max_length=300, blank=True)
    result = models.JSONField(_("结果"), default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("心跳"), null=True, blank=True)
    worker = models.CharField(_("执行进程"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    request_id = models.CharField(_("请求ID"), max_length=64, blank=True)
    # Cancelling a running job only asks: the handler stops at its next check_cancelled().
    cancel_requested_at = models.DateTimeField(_("请求取消时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["-created_at"]
        permissions = [("run_job", _("提交后台任务"))]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_status")]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, int(self.progress_done * 100 / self.progress_total))

    @property
    def finished(self) -> bool:
        return self.status in {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}

    @property
    def params_json(self) -> str:
        return json.dumps(self.params, ensure_ascii=False, indent=2, sort_keys=True)

    @property
    def result_json(self) -> str:
        return json.dumps(self.result, ensure_ascii=False, indent=2, sort_keys=True)

    @property
    def kind_label(self) -> str:
        from lantai.jobs.services import kind_label

        return kind_label(self.kind)
