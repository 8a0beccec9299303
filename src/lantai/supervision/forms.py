"""Forms of the 业务指导 screens. They shape input only; rules and writes are in
``supervision.services`` (views pass ``cleaned_data`` on and show its ValidationErrors)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from lantai.holdings.models import Unit
from lantai.supervision.models import (
    Indicator,
    IndicatorSet,
    Inspection,
    Professional,
    TrainingSession,
)


def add_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: field messages beside their fields."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class DateInput(forms.DateInput):
    input_type = "date"


class IndicatorSetForm(forms.ModelForm):
    class Meta:
        model = IndicatorSet
        fields = [  # noqa: RUF012 (Django Meta)
            "year",
            "name",
            "excellent_min",
            "good_min",
            "pass_min",
            "target_excellent_percent",
            "note",
        ]


class IndicatorForm(forms.ModelForm):
    parent = forms.ModelChoiceField(
        label=_("上级指标"), queryset=Indicator.objects.none(), required=False
    )

    class Meta:
        model = Indicator
        fields = [  # noqa: RUF012 (Django Meta)
            "parent",
            "code",
            "title",
            "max_points",
            "key_item",
            "guidance",
            "evidence_required",
            "sort_order",
        ]
        widgets = {"guidance": forms.Textarea(attrs={"rows": 2}),  # noqa: RUF012 (Django Meta)
                   "evidence_required": forms.Textarea(attrs={"rows": 2})}  # fmt: skip

    def __init__(self, *args, indicator_set=None, **kwargs):
        super().__init__(*args, **kwargs)
        queryset = Indicator.objects.filter(indicator_set=indicator_set)
        if self.instance.pk:
            queryset = queryset.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = queryset

    def _post_clean(self):
        # The service validates and saves (with its audit entry); skip the model's own clean.
        pass


class CopySetForm(forms.Form):
    year = forms.IntegerField(label=_("新年度"), min_value=1900, max_value=2200)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("文件"))


class StartEvaluationsForm(forms.Form):
    indicator_set = forms.ModelChoiceField(
        label=_("测评指标体系"), queryset=IndicatorSet.objects.filter(status="published")
    )
    units = forms.ModelMultipleChoiceField(
        label=_("被测评单位"),
        queryset=Unit.objects.filter(active=True),
        required=False,
        help_text=_("不选则为全部在用单位"),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )


class ReasonForm(forms.Form):
    comment = forms.CharField(label=_("退回理由"), widget=forms.Textarea(attrs={"rows": 2}))


class InspectionForm(forms.ModelForm):
    inspectors = forms.ModelMultipleChoiceField(
        label=_("检查人员"),
        queryset=get_user_model().objects.filter(groups__name="supervisor", is_active=True),
        required=False,
    )

    class Meta:
        model = Inspection
        fields = [  # noqa: RUF012 (Django Meta)
            "kind",
            "plan_year",
            "unit",
            "subject",
            "planned_date",
            "inspected_on",
            "summary",
        ]
        widgets = {"planned_date": DateInput(), "inspected_on": DateInput(),  # noqa: RUF012 (Django Meta)
                   "summary": forms.Textarea(attrs={"rows": 3})}  # fmt: skip

    def _post_clean(self):
        pass


class FindingForm(forms.Form):
    description = forms.CharField(label=_("问题描述"), widget=forms.Textarea(attrs={"rows": 2}))
    basis = forms.CharField(label=_("依据"), max_length=300, required=False)


class RectificationForm(forms.Form):
    requirement = forms.CharField(label=_("整改要求"), widget=forms.Textarea(attrs={"rows": 2}))
    deadline = forms.DateField(label=_("整改期限"), widget=DateInput())
    finding = forms.ModelChoiceField(
        label=_("对应问题"), queryset=Inspection.objects.none(), required=False
    )

    def __init__(self, *args, inspection=None, **kwargs):
        super().__init__(*args, **kwargs)
        if inspection is not None:
            self.fields["finding"].queryset = inspection.findings.all()


class RespondForm(forms.Form):
    response = forms.CharField(label=_("整改情况"), widget=forms.Textarea(attrs={"rows": 3}))
    files = forms.FileField(label=_("佐证材料"), required=False)


class VerifyForm(forms.Form):
    accepted = forms.TypedChoiceField(
        label=_("验收结论"),
        choices=[("1", _("通过，整改完成")), ("0", _("不通过，退回整改"))],
        coerce=lambda v: v == "1",
    )
    note = forms.CharField(
        label=_("验收意见"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    new_deadline = forms.DateField(label=_("新的整改期限"), widget=DateInput(), required=False)


class SessionForm(forms.ModelForm):
    class Meta:
        model = TrainingSession
        fields = ["course", "date", "hours", "trainer", "place", "description"]  # noqa: RUF012 (Django Meta)
        widgets = {"date": DateInput(), "description": forms.Textarea(attrs={"rows": 3})}  # noqa: RUF012 (Django Meta)

    def _post_clean(self):
        pass


class AttendanceForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    unit = forms.CharField(
        label=_("单位"), max_length=200, required=False, help_text=_("单位代码或名称")
    )
    certificate_no = forms.CharField(label=_("证书编号"), max_length=60, required=False)


class ProfessionalForm(forms.ModelForm):
    class Meta:
        model = Professional
        fields = [  # noqa: RUF012 (Django Meta)
            "name",
            "unit",
            "position",
            "title",
            "qualifications",
            "specialties",
            "certificates",
            "phone",
            "active",
        ]
        widgets = {"qualifications": forms.Textarea(attrs={"rows": 2}),  # noqa: RUF012 (Django Meta)
                   "certificates": forms.Textarea(attrs={"rows": 2})}  # fmt: skip

    def _post_clean(self):
        pass
