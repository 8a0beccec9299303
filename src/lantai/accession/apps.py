from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessionConfig(AppConfig):
    name = "lantai.accession"
    label = "accession"
    verbose_name = _("接收与征集")
