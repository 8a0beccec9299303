from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "lantai.core"
    label = "core"
    verbose_name = _("基础")

    def ready(self) -> None:
        from lantai.core import db  # noqa: F401  (connection set-up hooks)
