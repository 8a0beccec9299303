from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _seed_purposes(sender, **kwargs) -> None:
    # The built-in 利用目的 when there are none (a data migration runs once: after a flush
    # applicants would have nothing to choose). Only into an empty table, so a purpose an
    # administrator deleted stays deleted.
    from lantai.utilization.models import Purpose
    from lantai.utilization.services import ensure_purposes

    if not Purpose.objects.exists():
        ensure_purposes()


class UtilizationConfig(AppConfig):
    name = "lantai.utilization"
    label = "utilization"
    verbose_name = _("档案利用")

    def ready(self) -> None:
        post_migrate.connect(_seed_purposes, sender=self, dispatch_uid="utilization-purposes")
