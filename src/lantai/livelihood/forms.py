"""民生档案 forms (Chinese labels; services do the real checking)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from lantai.holdings.models import Category


def _categories():
    return [("", _("不限"))] + [
        (c.code, c.name) for c in Category.objects.filter(livelihood=True).order_by("sort_order")
    ]


class LookupForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(label=_("身份证号"), max_length=25)


class PersonSearchForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    id_number = forms.CharField(label=_("身份证号"), max_length=25, required=False)
    birth_year = forms.IntegerField(
        label=_("出生年份"), required=False, min_value=1850, max_value=2100
    )


class ApplyForm(forms.Form):
    id_number = forms.CharField(
        label=_("身份证号"), max_length=25, help_text=_("须与实名注册信息一致。")
    )
    holding_code = forms.ChoiceField(label=_("查档馆"))
    category_code = forms.ChoiceField(label=_("档案门类"), required=False)
    records_sought = forms.CharField(
        label=_("所需档案"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    purpose = forms.CharField(label=_("利用目的"), max_length=200)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)

    def __init__(self, *args, holders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["holding_code"].choices = list(holders)
        self.fields["category_code"].choices = _categories()


class WalkInForm(ApplyForm):
    applicant_name = forms.CharField(label=_("申请人姓名"), max_length=50)

    field_order = ("applicant_name", "id_number")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["id_number"].help_text = _("请核对申请人居民身份证原件。")


class ReasonForm(forms.Form):
    note = forms.CharField(label=_("说明"), max_length=2000, required=False)


class PartnerForm(forms.Form):
    code = forms.CharField(label=_("档案馆代码"), max_length=20)
    name = forms.CharField(label=_("档案馆名称"), max_length=100)
    region = forms.CharField(label=_("地区"), max_length=100, required=False)
    contact = forms.CharField(label=_("联系方式"), max_length=200, required=False)
    base_url = forms.CharField(
        label=_("接口地址"),
        max_length=200,
        required=False,
        help_text=_("如 https://dag.example.gov.cn"),
    )
    outbound_token = forms.CharField(
        label=_("对方签发给本馆的令牌"),
        max_length=200,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("留空则不修改。"),
    )
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)
