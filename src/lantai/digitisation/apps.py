from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DigitisationConfig(AppConfig):
    name = "lantai.digitisation"
    label = "digitisation"
    verbose_name = _("数字化与OCR")
