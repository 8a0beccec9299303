"""Digitisation forms 数字化表单: the scan upload."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (the scans of one item)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            files = [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        else:
            files = [super().clean(data, initial)] if data else []
        if self.required and not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return files


class UploadForm(forms.Form):
    files = MultipleFileField(
        label=_("扫描文件"),
        help_text=_("TIFF（可多页）、JPEG、PNG 或 PDF，可一次选择多个文件，按文件名顺序排页"),
        widget=MultipleFileInput(attrs={"accept": ".tif,.tiff,.jpg,.jpeg,.png,.pdf"}),
        error_messages={"required": _("请选择要上传的扫描文件。")},
    )
    colour_elements = forms.BooleanField(
        label=_("含红头或印章"),
        required=False,
        help_text=_("含红头、印章、批注等彩色信息的文件不得以黑白二值扫描"),
    )
    run_ocr = forms.BooleanField(label=_("检测通过后立即识别"), required=False, initial=True)
    note = forms.CharField(label=_("备注"), required=False, max_length=300)
