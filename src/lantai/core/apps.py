from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "lantai.core"
    label = "core"
    verbose_name = _("基础")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_analyze_after_migrate)


def _analyze_after_migrate(sender, using="default", plan=None, **kwargs) -> None:
    # post_migrate is sent once per app with models; act once ("holdings"), and only when
    # migrations were applied (not after a test flush, which sends no plan).
    if sender.label == "holdings" and plan:
        from lantai.core.db import refresh_planner_statistics

        refresh_planner_statistics(using)
