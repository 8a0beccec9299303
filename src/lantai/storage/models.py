"""Storage 存储: where the bytes of records live.

A **storage location 存储位置** is a place that holds copies (a local directory, an S3 bucket);
one is the primary (本地), the others are replicas (异地). A **stored object 存储对象** is one
immutable byte string under a key, described by its size and its SHA-256 and SM3 digests; it
has one **copy 副本** per location, each with its last fixity result. A **component 组件** links a
stored object to the item (件) it belongs to: the master file 原件, an access copy 利用件 or
the extracted full text 全文.

Stored content is never modified in place: a key, once registered, always names the same bytes.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BackendKind(models.TextChoices):
    LOCAL = "local", _("本地文件系统")
    S3 = "s3", _("S3 对象存储")


class LocationRole(models.TextChoices):
    PRIMARY = "primary", _("主存储")
    REPLICA = "replica", _("副本")


class CopyStatus(models.TextChoices):
    OK = "ok", _("完好")
    MISSING = "missing", _("缺失")
    CORRUPT = "corrupt", _("损坏")


class ComponentRole(models.TextChoices):
    MASTER = "master", _("原件")
    ACCESS = "access", _("利用件")
    TEXT = "text", _("全文")


class StorageLocation(models.Model):
    code = models.CharField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    backend = models.CharField(_("存储类型"), max_length=16, choices=BackendKind.choices)
    # local: {"root": "/path"}; s3: {"bucket", "prefix", "endpoint_url", "region",
    # "addressing_style"}. Never credentials: those come from the environment.
    config = models.JSONField(_("配置"), default=dict, blank=True)
    role = models.CharField(_("用途"), max_length=16, choices=LocationRole.choices)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("存储位置")
        verbose_name_plural = _("存储位置")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class StoredObject(models.Model):
    key = models.CharField(_("存储键"), max_length=512, unique=True)
    size = models.PositiveBigIntegerField(_("字节数"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    sm3 = models.CharField(_("SM3"), max_length=64)
    purpose = models.CharField(_("用途"), max_length=32, blank=True, db_index=True)
    created_at = models.DateTimeField(_("存储时间"), default=timezone.now)

    class Meta:
        verbose_name = _("存储对象")
        verbose_name_plural = _("存储对象")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.key


class ObjectCopy(models.Model):
    object = models.ForeignKey(
        StoredObject, verbose_name=_("存储对象"), on_delete=models.CASCADE, related_name="copies"
    )
    location = models.ForeignKey(
        StorageLocation, verbose_name=_("存储位置"), on_delete=models.PROTECT, related_name="copies"
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=CopyStatus.choices, default=CopyStatus.OK
    )
    verified_at = models.DateTimeField(_("最近校验"), null=True, blank=True)

    class Meta:
        verbose_name = _("副本")
        verbose_name_plural = _("副本")
        ordering = ["object_id", "location_id"]
        constraints = [
            models.UniqueConstraint(fields=["object", "location"], name="storage_copy_unique")
        ]
        indexes = [models.Index(fields=["location", "status"], name="storage_copy_status")]

    def __str__(self) -> str:
        return f"{self.object_id}@{self.location_id}"


class Component(models.Model):
    # The link goes when its item goes; the stored bytes stay (PROTECT on the object).
    item = models.ForeignKey(
        "holdings.Item",
        verbose_name=_("件"),
        on_delete=models.CASCADE,
        related_name="components",
    )
    object = models.ForeignKey(
        StoredObject,
        verbose_name=_("存储对象"),
        on_delete=models.PROTECT,
        related_name="components",
    )
    role = models.CharField(
        _("组件类型"), max_length=16, choices=ComponentRole.choices, default=ComponentRole.MASTER
    )
    filename = models.CharField(_("文件名"), max_length=255)
    mime = models.CharField(_("媒体类型"), max_length=100, blank=True)
    sequence = models.PositiveIntegerField(_("顺序号"), default=1)

    class Meta:
        verbose_name = _("组件")
        verbose_name_plural = _("组件")
        ordering = ["item_id", "role", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "role", "sequence"], name="storage_component_sequence"
            )
        ]

    def __str__(self) -> str:
        return self.filename
