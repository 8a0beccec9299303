"""OAI-PMH 目录发布."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OaiConfig(AppConfig):
    name = "lantai.oai"
    label = "oai"
    verbose_name = _("OAI-PMH 目录发布")

    def ready(self) -> None:
        from lantai.oai import signals  # noqa: F401
