from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpeningConfig(AppConfig):
    name = "lantai.opening"
    label = "opening"
    verbose_name = _("开放鉴定")
