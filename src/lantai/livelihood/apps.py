"""民生档案."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LivelihoodConfig(AppConfig):
    name = "lantai.livelihood"
    label = "livelihood"
    verbose_name = _("民生档案")

    def ready(self) -> None:
        from lantai.livelihood import signals  # noqa: F401
