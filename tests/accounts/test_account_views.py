"""User management pages: who sees what, field errors in place, 403 for the others."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from lantai.accounts.models import User
from lantai.audit.models import AuditAction, AuditEntry


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_sysadmin_lists_and_creates_accounts(sysadmin, archivist, password):
    client = as_user(sysadmin)
    page = client.get(reverse("accounts:user_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "archivist1" in html and "新建账户" in html

    form = client.get(reverse("accounts:user_create"))
    assert form.status_code == 200 and "初始密码" in form.content.decode()
    response = client.post(
        reverse("accounts:user_create"),
        {
            "username": "newbie",
            "real_name": "新人",
            "password": password,
            "password_confirm": password,
            "phone": "",
            "email": "",
        },
    )
    user = User.objects.get(username="newbie")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:user_detail", args=[user.pk])
    assert user.role_codes == set() and not user.is_superuser
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, object_id=str(user.pk)).exists()


def test_create_form_shows_field_errors_in_place(sysadmin):
    client = as_user(sysadmin)
    response = client.post(
        reverse("accounts:user_create"),
        {"username": "weakling", "password": "123", "password_confirm": "123"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "has-error" in html
    assert "密码太短" in html and "不能全是数字" in html
    assert not User.objects.filter(username="weakling").exists()

    response = client.post(
        reverse("accounts:user_create"),
        {"username": "typo", "password": "Good-pass-2024", "password_confirm": "Good-pass-2025"},
    )
    assert "两次输入的密码不一致" in response.content.decode()


def test_duplicate_username_error_in_place(sysadmin, archivist, password):
    response = as_user(sysadmin).post(
        reverse("accounts:user_create"),
        {"username": "ARCHIVIST1", "password": password, "password_confirm": password},
    )
    assert response.status_code == 200
    assert "已被使用" in response.content.decode()


def test_secadmin_assigns_roles_but_cannot_create(secadmin, make_user):
    client = as_user(secadmin)
    assert client.get(reverse("accounts:user_list")).status_code == 200
    assert client.get(reverse("accounts:user_create")).status_code == 403
    assert client.post(reverse("accounts:user_create"), {"username": "x"}).status_code == 403

    user = make_user("staff1")
    url = reverse("accounts:user_roles", args=[user.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"roles": ["archivist", "keeper"]})
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).role_codes == {"archivist", "keeper"}

    refused = client.post(url, {"roles": ["sysadmin", "archivist"]})
    assert refused.status_code == 200
    assert "三员分立" in refused.content.decode() and "errorlist" in refused.content.decode()
    assert User.objects.get(pk=user.pk).role_codes == {"archivist", "keeper"}


def test_secadmin_cannot_open_own_roles_form(secadmin):
    client = as_user(secadmin)
    url = reverse("accounts:user_roles", args=[secadmin.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"roles": []}).status_code == 403
    assert User.objects.get(pk=secadmin.pk).role_codes == {"secadmin"}


def test_sysadmin_cannot_assign_roles(sysadmin, archivist):
    url = reverse("accounts:user_roles", args=[archivist.pk])
    client = as_user(sysadmin)
    assert client.get(url).status_code == 403
    assert client.post(url, {"roles": ["keeper"]}).status_code == 403


@pytest.mark.parametrize("role", ["auditor", "archivist", "keeper", "public"])
def test_other_roles_refused_user_management(make_user, role, archivist):
    client = as_user(make_user("other", role))
    assert client.get(reverse("accounts:user_list")).status_code == 403
    assert client.get(reverse("accounts:user_create")).status_code == 403
    assert client.get(reverse("accounts:user_detail", args=[archivist.pk])).status_code == 403
    assert client.post(reverse("accounts:user_deactivate", args=[archivist.pk])).status_code == 403
    assert User.objects.get(pk=archivist.pk).is_active


def test_deactivate_reactivate_and_reset_password(sysadmin, archivist):
    client = as_user(sysadmin)
    detail = client.get(reverse("accounts:user_detail", args=[archivist.pk]))
    assert "停用账户" in detail.content.decode()
    assert client.get(reverse("accounts:user_deactivate", args=[archivist.pk])).status_code == 405
    client.post(reverse("accounts:user_deactivate", args=[archivist.pk]))
    assert not User.objects.get(pk=archivist.pk).is_active
    client.post(reverse("accounts:user_reactivate", args=[archivist.pk]))
    assert User.objects.get(pk=archivist.pk).is_active

    url = reverse("accounts:user_password", args=[archivist.pk])
    bad = client.post(url, {"password": "abc", "password_confirm": "abc"})
    assert bad.status_code == 200 and "密码太短" in bad.content.decode()
    ok = client.post(url, {"password": "Reset-by-admin-1", "password_confirm": "Reset-by-admin-1"})
    assert ok.status_code == 302
    assert User.objects.get(pk=archivist.pk).check_password("Reset-by-admin-1")


def test_sysadmin_refused_on_auditor_account(sysadmin, auditor):
    client = as_user(sysadmin)
    assert client.get(reverse("accounts:user_detail", args=[auditor.pk])).status_code == 200
    assert client.get(reverse("accounts:user_password", args=[auditor.pk])).status_code == 403
    assert client.get(reverse("accounts:user_edit", args=[auditor.pk])).status_code == 403
    assert client.post(reverse("accounts:user_deactivate", args=[auditor.pk])).status_code == 403
    assert User.objects.get(pk=auditor.pk).is_active


def test_edit_profile_field_errors(sysadmin, archivist, unit):
    client = as_user(sysadmin)
    url = reverse("accounts:user_edit", args=[archivist.pk])
    bad = client.post(url, {"real_name": "张", "phone": "电话号码", "email": "", "unit": ""})
    assert bad.status_code == 200 and "手机号格式不正确" in bad.content.decode()
    ok = client.post(url, {"real_name": "张馆员", "phone": "13812345678", "unit": unit.pk})
    assert ok.status_code == 302
    archivist.refresh_from_db()
    assert archivist.phone == "13812345678" and archivist.unit == unit


def test_my_account_changes_own_password_and_stays_signed_in(make_user, password):
    user = make_user("mine", "keeper")
    client = as_user(user)
    page = client.get(reverse("accounts:me"))
    assert page.status_code == 200 and "库管员" in page.content.decode()
    wrong = client.post(
        reverse("accounts:me"),
        {
            "old_password": "nope",
            "password": "Keeper-new-2024",
            "password_confirm": "Keeper-new-2024",
        },
    )
    assert "原密码不正确" in wrong.content.decode()
    ok = client.post(
        reverse("accounts:me"),
        {
            "old_password": password,
            "password": "Keeper-new-2024",
            "password_confirm": "Keeper-new-2024",
        },
    )
    assert ok.status_code == 302
    assert User.objects.get(pk=user.pk).check_password("Keeper-new-2024")
    assert client.get(reverse("accounts:me")).status_code == 200  # still signed in


def test_user_list_filters(secadmin, archivist, auditor):
    client = as_user(secadmin)
    html = client.get(reverse("accounts:user_list"), {"role": "auditor"}).content.decode()
    assert "auditor1" in html and "archivist1" not in html
    html = client.get(reverse("accounts:user_list"), {"q": "张馆"}).content.decode()
    assert "archivist1" in html and "auditor1" not in html
