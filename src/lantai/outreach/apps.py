"""宣传与编研."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutreachConfig(AppConfig):
    name = "lantai.outreach"
    label = "outreach"
    verbose_name = _("宣传与编研")

    def ready(self) -> None:
        from lantai.outreach import signals  # noqa: F401
