from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UtilizationConfig(AppConfig):
    name = "lantai.utilization"
    label = "utilization"
    verbose_name = _("档案利用")
