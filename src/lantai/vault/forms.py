"""Forms of the shelves screens. They only collect input: ``services_shelves`` validates it and
its field errors are put back on the form (``apply_errors``)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from lantai.vault.models import CirculationStatus, VaultType

_TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
_MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ``ValidationError`` on the form, field by field."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, messages in exc.message_dict.items():
        target = name if name in form.fields and name != NON_FIELD_ERRORS else None
        for message in messages:
            form.add_error(target, message)


class VaultForm(forms.Form):
    code = forms.CharField(label=_("库房编号"), max_length=20, required=False)
    name = forms.CharField(label=_("库房名称"), max_length=100, required=False)
    vault_type = forms.ChoiceField(label=_("库房类型"), choices=VaultType.choices)
    floor = forms.CharField(label=_("楼层"), max_length=20, required=False)
    temp_min = forms.CharField(label=_("温度下限(℃)"), required=False)
    temp_max = forms.CharField(label=_("温度上限(℃)"), required=False)
    rh_min = forms.CharField(label=_("湿度下限(%RH)"), required=False)
    rh_max = forms.CharField(label=_("湿度上限(%RH)"), required=False)
    max_daily_temp_swing = forms.CharField(label=_("日温差上限(℃)"), required=False)
    max_daily_rh_swing = forms.CharField(label=_("日湿度差上限(%RH)"), required=False)
    use_defaults = forms.BooleanField(
        label=_("按 JGJ 25-2010 重置温湿度范围"),
        required=False,
        help_text=_("新建时留空的范围自动取该类型的标准值。"),
    )
    open_from = forms.CharField(label=_("开放时间起"), required=False, widget=_TIME)
    open_until = forms.CharField(label=_("开放时间止"), required=False, widget=_TIME)
    keepers = forms.CharField(
        label=_("库管员"), required=False, help_text=_("用户名，多个以逗号或空格分隔")
    )
    active = forms.BooleanField(label=_("在用"), required=False, initial=True)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def data_for_service(self, creating: bool) -> dict:
        data = dict(self.cleaned_data)
        data["keepers"] = [u for u in data["keepers"].replace(",", " ").split() if u]
        if creating:
            data.pop("use_defaults")
        return data


class LocationRangeForm(forms.Form):
    rows = forms.CharField(label=_("排"), help_text=_("如 1-6 或 1,3"))
    columns = forms.CharField(label=_("列"))
    sections = forms.CharField(label=_("节"))
    shelves = forms.CharField(label=_("层"))
    capacity = forms.CharField(label=_("容量(盒)"), required=False)


class BoxForm(forms.Form):
    code = forms.CharField(label=_("盒号"), max_length=60)
    location = forms.CharField(label=_("架位编码"), required=False)
    fonds = forms.CharField(label=_("全宗号"), required=False)
    title = forms.CharField(label=_("盒脊说明"), max_length=200, required=False)


class PlaceForm(forms.Form):
    target = forms.CharField(label=_("档号"), help_text=_("扫描或输入案卷、件的档号"))
    destination = forms.CharField(label=_("放入"), help_text=_("扫描或输入盒号或架位编码"))


class ScanForm(forms.Form):
    code = forms.CharField(
        label=_("扫描码"),
        max_length=120,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )


class CirculationForm(forms.Form):
    purpose = forms.CharField(label=_("出库事由"), max_length=200, required=False)
    targets = forms.CharField(
        label=_("出库档案"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("每行一个档号或盒号，可直接扫码"),
        required=False,
    )
    due_at = forms.CharField(label=_("应归还时间"), required=False, widget=_MOMENT)
    note = forms.CharField(
        label=_("备注"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class CirculationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), choices=[("", _("全部")), *CirculationStatus.choices], required=False
    )
    overdue = forms.BooleanField(label=_("仅逾期"), required=False)


class DecisionForm(forms.Form):
    due_at = forms.CharField(label=_("应归还时间"), required=False, widget=_MOMENT)
    reason = forms.CharField(label=_("驳回理由"), max_length=500, required=False)


class EntryForm(forms.Form):
    vault = forms.CharField(label=_("库房编号"))
    person = forms.CharField(label=_("人员"), required=False, help_text=_("用户名；留空为本人"))
    companions = forms.CharField(label=_("陪同人员"), max_length=200, required=False)
    reason = forms.CharField(label=_("事由"), max_length=200, required=False)
    entered_at = forms.CharField(
        label=_("进入时间"), required=False, widget=_MOMENT, help_text=_("留空为现在")
    )
    circulation = forms.CharField(label=_("出库单号"), required=False)
