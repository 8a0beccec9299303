from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HoldingsConfig(AppConfig):
    name = "lantai.holdings"
    label = "holdings"
    verbose_name = _("馆藏")

    def ready(self) -> None:
        from lantai.holdings import signals  # noqa: F401
