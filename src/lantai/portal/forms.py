"""Portal forms. They collect input; ``portal.services`` validates and decides (field names
match the keys of its ValidationError dicts)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from lantai.accounts.forms import LoginForm


class RegisterForm(forms.Form):
    real_name = forms.CharField(
        label=_("真实姓名"),
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    id_number = forms.CharField(
        label=_("居民身份证号码"),
        max_length=24,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "text", "spellcheck": "false"}
        ),
        help_text=_("18 位，最后一位可能是 X。仅用于实名核验，页面只显示脱敏号码。"),
    )
    phone = forms.CharField(
        label=_("手机号码"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        help_text=_("登录时使用手机号码作为用户名。"),
    )
    password = forms.CharField(
        label=_("密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少 10 个字符，不能全是数字，不能过于常见。"),
    )
    password_confirm = forms.CharField(
        label=_("再次输入密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    agree = forms.BooleanField(
        label=_("我已阅读并同意：注册信息仅用于档案利用的实名登记，查阅的档案不得擅自传播。"),
        error_messages={"required": _("请先阅读并同意用户须知。")},
    )

    def clean(self):
        data = super().clean()
        pair = (data.get("password"), data.get("password_confirm"))
        if all(pair) and pair[0] != pair[1]:
            self.add_error("password_confirm", _("两次输入的密码不一致。"))
        return data


class PortalLoginForm(LoginForm):
    """The staff login form with the citizen's words: the user name is the phone number."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("手机号码或用户名")
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("原密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    password = forms.CharField(
        label=_("新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少 10 个字符，不能全是数字，不能过于常见。"),
    )
    password_confirm = forms.CharField(
        label=_("再次输入新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        pair = (data.get("password"), data.get("password_confirm"))
        if all(pair) and pair[0] != pair[1]:
            self.add_error("password_confirm", _("两次输入的密码不一致。"))
        return data


class SearchForm(forms.Form):
    q = forms.CharField(label=_("检索词"), max_length=200, required=False)
    fonds = forms.CharField(max_length=40, required=False)
    category = forms.CharField(max_length=40, required=False)
    year = forms.IntegerField(label=_("年度"), min_value=1, max_value=9999, required=False)
    retention = forms.CharField(max_length=8, required=False)
    sort = forms.ChoiceField(
        label=_("排序"),
        required=False,
        choices=[
            ("relevance", _("相关度")),
            ("-date", _("日期从新到旧")),
            ("date", _("日期从旧到新")),
        ],
    )
    page = forms.IntegerField(label=_("页码"), min_value=1, max_value=500, required=False)
