"""Account forms. They collect input; accounts.services validates and decides.

Field names match the keys of the ValidationError dicts the services raise, so a service's
field errors land next to the right field.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from lantai.accounts.roles import SEPARATED_ROLES, Role
from lantai.holdings.models import Unit


def _units():
    return Unit.objects.filter(active=True).order_by("code")


class LoginForm(AuthenticationForm):
    error_messages = {  # noqa: RUF012 - Django's own pattern for form messages
        "invalid_login": _("用户名或密码不正确。连续失败多次后账户将被暂时锁定。"),
        "inactive": _("该账户已停用，请联系系统管理员。"),
    }


class _PasswordPair(forms.Form):
    password = forms.CharField(
        label=_("新密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text=_("至少 10 个字符，不能全是数字，不能过于常见或与用户名相近。"),
    )
    password_confirm = forms.CharField(
        label=_("再次输入新密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )

    def clean(self):
        data = super().clean()
        if (
            data.get("password")
            and data.get("password_confirm")
            and data["password"] != data["password_confirm"]
        ):
            self.add_error("password_confirm", _("两次输入的密码不一致。"))
        return data


class UserCreateForm(_PasswordPair):
    username = forms.CharField(label=_("用户名"), max_length=150)
    real_name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    unit = forms.ModelChoiceField(
        label=_("所属单位"), queryset=Unit.objects.none(), required=False, empty_label=_("（无）")
    )
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)
    email = forms.EmailField(label=_("电子邮箱"), required=False)

    field_order = ("username", "real_name", "unit", "phone", "email", "password")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = _units()
        self.fields["password"].label = _("初始密码")
        self.fields["password_confirm"].label = _("再次输入初始密码")


class ProfileForm(forms.Form):
    real_name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    unit = forms.ModelChoiceField(
        label=_("所属单位"), queryset=Unit.objects.none(), required=False, empty_label=_("（无）")
    )
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)
    email = forms.EmailField(label=_("电子邮箱"), required=False)

    def __init__(self, *args, with_unit: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if with_unit:
            self.fields["unit"].queryset = _units()
        else:
            del self.fields["unit"]


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("角色"),
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("三员分立：系统管理员、安全保密员、安全审计员三者互斥，且不能与其他角色兼任。"),
    )

    separated = frozenset(str(code) for code in SEPARATED_ROLES)


class PasswordResetForm(_PasswordPair):
    pass


class OwnPasswordForm(_PasswordPair):
    old_password = forms.CharField(
        label=_("原密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        strip=False,
    )

    field_order = ("old_password", "password", "password_confirm")


class UserFilterForm(forms.Form):
    q = forms.CharField(label=_("用户名/姓名/手机号"), required=False)
    role = forms.ChoiceField(label=_("角色"), required=False, choices=[])
    active = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部")), ("1", _("在用")), ("0", _("已停用"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("全部")), *Role.choices]
