"""Audit trail 审计日志: append-only, hash-chained entries.

Each entry's hash covers its own fields and the previous entry's hash, so changing, removing
or inserting any entry breaks the chain from that point on (``lantai audit verify``). The
table also refuses UPDATE and DELETE at the database level (triggers on SQLite and PostgreSQL).
"""

from __future__ import annotations

from django.db import IntegrityError, models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出")
    LOCKED_OUT = "locked_out", _("账户锁定")
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    VIEW = "view", _("查看")
    DOWNLOAD = "download", _("下载")
    EXPORT = "export", _("导出")
    ROLE_CHANGE = "role_change", _("角色变更")
    PERMISSION_CHANGE = "permission_change", _("权限变更")
    ACCOUNT = "account", _("账户管理")
    JOB = "job", _("后台任务")
    SYSTEM = "system", _("系统")


class AuditEntry(models.Model):
    seq = models.PositiveBigIntegerField(_("序号"), unique=True)
    timestamp = models.DateTimeField(_("时间"), db_index=True)
    # Who acted, kept as plain values (not a foreign key) so the entry stays as written even
    # if the account is later renamed; the hash covers them.
    actor_id = models.BigIntegerField(_("用户ID"), null=True, blank=True, db_index=True)
    actor_username = models.CharField(_("用户名"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=32, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象ID"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=300, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    ip_address = models.CharField(_("IP地址"), max_length=45, blank=True)
    request_id = models.CharField(_("请求ID"), max_length=64, blank=True)
    algorithm = models.CharField(_("摘要算法"), max_length=16)
    prev_hash = models.CharField(_("前一条摘要"), max_length=128)
    hash = models.CharField(_("摘要"), max_length=128)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-seq"]
        permissions = [("verify_chain", _("校验审计链"))]
        indexes = [
            models.Index(fields=["object_type", "object_id", "seq"], name="audit_object"),
            models.Index(fields=["action", "seq"], name="audit_action"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_repr}"

    # The ORM refuses to change or delete an entry; database triggers refuse it too.
    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise IntegrityError("audit trail is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise IntegrityError("audit trail is append-only")
