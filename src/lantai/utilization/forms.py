"""Forms of the use request screens 利用申请. They only shape input; the rules are in
``utilization.services``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from lantai.utilization import services
from lantai.utilization.models import Delivery, Purpose


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


class ApplyForm(forms.Form):
    """利用申请 by a citizen for themselves."""

    purpose = forms.ModelChoiceField(
        label=_("利用目的"),
        queryset=Purpose.objects.none(),
        empty_label=None,
        error_messages={"required": _("请选择利用目的。"), "invalid_choice": _("请选择利用目的。")},
    )
    delivery = forms.ChoiceField(
        label=_("利用方式"),
        choices=Delivery.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择利用方式。"), "invalid_choice": _("请选择利用方式。")},
    )
    reference_codes = forms.CharField(
        label=_("档号"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每行一个档号；不知道档号时请在下方描述所需档案。"),
    )
    description = forms.CharField(
        label=_("需求说明"),
        required=False,
        max_length=services.MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("例如：本人1998年在某厂的招工登记表。"),
    )
    attachments = MultipleFileField(
        label=_("申请材料"),
        help_text=_("身份证明、委托书等，PDF、PNG 或 JPEG，最多 5 个。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].queryset = services.active_purposes()


class WalkInForm(ApplyForm):
    """到馆登记: staff record an applicant who came in person."""

    applicant_name = forms.CharField(label=_("申请人姓名"), max_length=50, required=False)
    applicant_id_number = forms.CharField(label=_("证件号码"), max_length=32, required=False)
    applicant_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)

    field_order = ("applicant_name", "applicant_id_number", "applicant_phone")


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("说明"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("经办人"),
        queryset=services.handlers(),
        error_messages={"required": _("请选择经办人。"), "invalid_choice": _("请选择经办人。")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = services.handlers()


class ApproveItemForm(forms.Form):
    reason = forms.CharField(label=_("特批理由"), max_length=300, required=False)


class AddItemForm(forms.Form):
    reference_code = forms.CharField(label=_("档号"), max_length=100, required=False)


class CertificateForm(forms.Form):
    requested_item = forms.TypedChoiceField(label=_("档案"), coerce=int, choices=())
    content = forms.CharField(
        label=_("证明内容"),
        required=False,
        max_length=services.MAX_CONTENT,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("摘录档案中需要证明的内容，如姓名、日期、事项。"),
    )

    def __init__(self, *args, requested_items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requested_item"].choices = [
            (r.pk, r.reference_code) for r in requested_items if r.item_id
        ]


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=_("验证码"),
        max_length=40,
        error_messages={"required": _("请输入验证码。")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "XXXX-XXXX-XXXX-XXXX"}),
    )
    pdf = forms.FileField(
        label=_("证明文件（可选）"),
        required=False,
        help_text=_("上传收到的 PDF，核对其是否与本馆出具的文件完全一致。"),
    )


class PurposeForm(forms.Form):
    code = forms.CharField(label=_("代码"), max_length=32, required=False)
    name = forms.CharField(
        label=_("名称"), max_length=50, error_messages={"required": _("请填写名称。")}
    )
    sort_order = forms.IntegerField(label=_("排序"), min_value=0, max_value=32767, required=False)
    active = forms.BooleanField(label=_("在用"), required=False, initial=True)


class HolidayForm(forms.Form):
    date = forms.DateField(
        label=_("日期"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": _("请填写日期。"), "invalid": _("日期格式不正确。")},
    )
    name = forms.CharField(label=_("名称"), max_length=50, required=False)
    workday = forms.BooleanField(
        label=_("调休上班"), required=False, help_text=_("勾选表示该日虽逢周末但需上班。")
    )
