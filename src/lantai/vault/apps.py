from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VaultConfig(AppConfig):
    name = "lantai.vault"
    label = "vault"
    verbose_name = _("库房安全")

    def ready(self) -> None:
        from lantai.vault import signals  # noqa: F401
