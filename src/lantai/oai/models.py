"""OAI-PMH 目录发布 models.

Only one table: the tombstones 删除记录 behind the ``transient`` deleted-record policy. A
tombstone says "this identifier was in the open catalog and is not any more" — written when an
open item is deleted or stops being open (控制使用, 密级 raised). It carries no description, so
it reveals nothing beyond the identifier a harvester already had.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Tombstone(models.Model):
    """删除记录: an item withdrawn from the open catalog (OAI-PMH header status="deleted")."""

    item_id = models.BigIntegerField(_("条目ID"), unique=True)
    fonds_code = models.CharField(_("全宗号"), max_length=8, blank=True)
    category_code = models.CharField(_("门类代码"), max_length=8, blank=True)
    withdrawn_at = models.DateTimeField(_("撤出时间"), db_index=True)

    class Meta:
        verbose_name = _("OAI 删除记录")
        verbose_name_plural = _("OAI 删除记录")
        ordering = ["item_id"]

    def __str__(self) -> str:
        return str(self.item_id)
