"""统计年报 models. The statistics keep no numbers of their own (every figure is computed from
the owning app's records); the one model here only carries the permission to read them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AnnualReport(models.Model):
    """统计年报: no table; holds the ``statistics.view_statistics`` permission."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = _("统计年报")
        verbose_name_plural = _("统计年报")
        permissions = [("view_statistics", _("查看与导出统计年报"))]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
