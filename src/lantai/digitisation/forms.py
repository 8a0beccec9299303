"""Digitisation forms 数字化表单: the scan upload."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from lantai.digitisation.checks import FORMATS
from lantai.digitisation.models import ColourMode


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


class ProfileForm(forms.Form):
    """检测方案: DA/T 31-2017 thresholds for a 全宗 and/or 门类, or the whole archive."""

    name = forms.CharField(label=_("名称"), max_length=100)
    fonds = forms.ModelChoiceField(
        label=_("全宗"), queryset=None, required=False, empty_label=_("全部全宗")
    )
    category = forms.ModelChoiceField(
        label=_("门类"), queryset=None, required=False, empty_label=_("全部门类")
    )
    min_dpi = forms.IntegerField(label=_("最低分辨率（dpi）"), initial=200)
    allowed_modes = forms.MultipleChoiceField(
        label=_("允许的色彩模式"),
        choices=ColourMode.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不选表示全部允许"),
    )
    allowed_formats = forms.MultipleChoiceField(
        label=_("允许的格式"),
        choices=[(f, f) for f in FORMATS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不选表示全部允许"),
    )
    blank_ink_ratio = forms.FloatField(label=_("空白页阈值"), initial=0.002)
    blocking = forms.BooleanField(label=_("不通过时阻止识别"), required=False, initial=True)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        from lantai.holdings.models import Category, Fonds

        super().__init__(*args, **kwargs)
        self.fields["fonds"].queryset = Fonds.objects.order_by("code")
        self.fields["category"].queryset = Category.objects.all()
