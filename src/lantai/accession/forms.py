"""Forms of the accession screens. They shape input only; every rule and every write is in
``accession.services`` (views pass ``cleaned_data`` on and show its ValidationErrors)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.utils.translation import gettext_lazy as _

from lantai.accession import services
from lantai.accession.models import Acquisition, AcquisitionCampaign, ColumnMapping, ReceiptPlan
from lantai.holdings.models import Fonds, Unit


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


class BatchCreateForm(forms.Form):
    unit = forms.ModelChoiceField(
        label=_("移交单位"), queryset=Unit.objects.filter(active=True), required=False
    )
    fonds = forms.ModelChoiceField(label=_("全宗"), queryset=Fonds.objects.all())
    title = forms.CharField(label=_("批次说明"), max_length=200, required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not services.is_archivist(user):
            # A unit officer transfers for his own unit only: no choice to make.
            del self.fields["unit"]
            self.fields["fonds"].queryset = Fonds.objects.filter(unit_id=user.unit_id)
        else:
            self.fields["unit"].required = True


class UploadForm(forms.Form):
    catalog = forms.FileField(
        label=_("目录文件"),
        help_text=_("归档文件目录、案卷目录或卷内目录：.xlsx、.xls 或 .csv（UTF-8 或 GBK）"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv"}),
    )
    files = forms.FileField(
        label=_("电子文件包（可选）"),
        required=False,
        help_text=_("以档号命名的电子文件打包成的 .zip"),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip"}),
    )
    mapping = forms.ModelChoiceField(
        label=_("列对应关系（可选）"),
        queryset=ColumnMapping.objects.none(),
        required=False,
        empty_label=_("自动：本单位已保存的对应关系与常见表头"),
    )

    def __init__(self, *args, batch=None, **kwargs):
        super().__init__(*args, **kwargs)
        if batch is not None and batch.unit_id:
            self.fields["mapping"].queryset = ColumnMapping.objects.filter(unit_id=batch.unit_id)


class SubmitForm(forms.Form):
    opening_opinion = forms.CharField(
        label=_("开放意见"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("移交单位对档案开放的意见（档案法第三十条）"),
    )


class ReturnForm(forms.Form):
    reason = forms.CharField(
        label=_("退回理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class MappingNameForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class PlanForm(forms.ModelForm):
    class Meta:
        model = ReceiptPlan
        fields = services.PLAN_FIELDS


class CampaignForm(forms.ModelForm):
    class Meta:
        model = AcquisitionCampaign
        fields = services.CAMPAIGN_FIELDS
        widgets = {  # noqa: RUF012 (Django Meta)
            "start_date": _DateInput(),
            "end_date": _DateInput(),
        }


class AcquisitionForm(forms.ModelForm):
    class Meta:
        model = Acquisition
        fields = services.ACQUISITION_FIELDS
        widgets = {  # noqa: RUF012 (Django Meta)
            "agreement_date": _DateInput(),
            "deposit_until": _DateInput(),
            "received_at": _DateInput(),
            "rights": forms.Textarea(attrs={"rows": 3}),
            "description": forms.Textarea(attrs={"rows": 3}),
        }


class AcquisitionBatchForm(forms.Form):
    fonds = forms.ModelChoiceField(label=_("入藏全宗"), queryset=Fonds.objects.all())
    title = forms.CharField(label=_("批次说明"), max_length=200, required=False)


def initial_of(obj, fields) -> dict:
    return model_to_dict(obj, fields=fields)
