from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IngestConfig(AppConfig):
    name = "lantai.ingest"
    label = "ingest"
    verbose_name = _("在线归档")

    def ready(self) -> None:
        from lantai.ingest import signals  # noqa: F401
