"""实名注册, sign in and out, 个人中心, password change and rate limits on the portal."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from portal_ids import make_id

from lantai.accounts.models import User
from lantai.portal.models import CitizenProfile


def form(citizen_data, **changes):
    data = {**citizen_data, "password_confirm": citizen_data["password"], "agree": "on"}
    data.update(changes)
    return data


@pytest.mark.django_db
def test_register_signs_in_and_shows_masked_id(client, citizen_data):
    response = client.post(reverse("portal:register"), form(citizen_data))
    assert response.status_code == 302 and response["Location"] == reverse("portal:me")
    me = client.get(reverse("portal:me"))
    page = me.content.decode()
    profile = CitizenProfile.objects.get()
    assert profile.id_masked in page
    assert citizen_data["id_number"] not in page
    assert "陈公民" in page


@pytest.mark.django_db
def test_register_errors_are_shown_next_to_fields(client, citizen_data):
    number = citizen_data["id_number"]
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    response = client.post(
        reverse("portal:register"),
        form(citizen_data, id_number=wrong, phone="1234", password_confirm="other-Pass-99"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "校验位" in errors["id_number"][0]
    assert "手机号" in errors["phone"][0]
    assert "不一致" in errors["password_confirm"][0]
    assert not User.objects.exists()
    response = client.post(reverse("portal:register"), form(citizen_data, agree=""))
    assert "同意" in response.context["form"].errors["agree"][0]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_login_with_phone_then_logout(client, citizen, citizen_data):
    response = client.get(reverse("portal:login"))
    assert response.status_code == 200 and "手机号码" in response.content.decode()
    response = client.post(
        reverse("portal:login"),
        {"username": citizen_data["phone"], "password": citizen_data["password"]},
    )
    assert response.status_code == 302 and response["Location"] == reverse("portal:me")
    assert client.get(reverse("portal:me")).status_code == 200
    assert client.get(reverse("portal:logout")).status_code == 405  # POST only
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    response = client.get(reverse("portal:me"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


@pytest.mark.django_db
def test_wrong_password_and_axes_lockout(client, citizen, citizen_data, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(
            reverse("portal:login"), {"username": citizen_data["phone"], "password": "wrong-pass"}
        )
        assert response.status_code == 200
        assert "不正确" in response.content.decode()
    response = client.post(
        reverse("portal:login"), {"username": citizen_data["phone"], "password": "wrong-pass"}
    )
    assert response.status_code == 429  # axes' lockout page
    response = client.post(
        reverse("portal:login"),
        {"username": citizen_data["phone"], "password": citizen_data["password"]},
    )
    assert response.status_code == 429


@pytest.mark.django_db
def test_password_change(client, citizen, citizen_data):
    client.force_login(citizen)
    url = reverse("portal:password")
    response = client.post(
        url,
        {
            "old_password": "nope",
            "password": "Brand-New-Pass-1",
            "password_confirm": "Brand-New-Pass-1",
        },
    )
    assert "原密码不正确" in response.content.decode()
    response = client.post(
        url,
        {
            "old_password": citizen_data["password"],
            "password": "Brand-New-Pass-1",
            "password_confirm": "Brand-New-Pass-1",
        },
    )
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert citizen.check_password("Brand-New-Pass-1")
    assert client.get(reverse("portal:me")).status_code == 200  # still signed in


@pytest.mark.django_db
def test_personal_pages_need_login(client):
    for name in ("portal:me", "portal:password"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/portal/login/" in response["Location"]


@pytest.mark.django_db
def test_staff_personal_page_without_profile(client, archivist):
    client.force_login(archivist)
    page = client.get(reverse("portal:me")).content.decode()
    assert "未在门户实名注册" in page


@pytest.mark.django_db
def test_registration_is_rate_limited_per_address(client, citizen_data, settings):
    settings.LANTAI_PORTAL_RATE_LIMITS = {"portal-register": (3, 3600)}
    for n in range(3):
        data = form(citizen_data, id_number=make_id(seq=f"{n:03d}"), phone=f"1390000000{n}")
        response = client.post(reverse("portal:register"), data)
        assert response.status_code == 302
        client.post(reverse("portal:logout"))
    data = form(citizen_data, id_number=make_id(seq="555"), phone="13900000009")
    response = client.post(reverse("portal:register"), data)
    assert response.status_code == 429 and "过于频繁" in response.content.decode()
    assert response["Retry-After"]
    assert User.objects.count() == 3
    # Another address is not affected.
    other = Client(REMOTE_ADDR="10.0.0.8")
    assert other.post(reverse("portal:register"), data).status_code == 302


@pytest.mark.django_db
def test_login_posts_are_rate_limited(client, settings):
    settings.LANTAI_PORTAL_RATE_LIMITS = {"portal-login": (2, 600)}
    for n in range(2):
        response = client.post(reverse("portal:login"), {"username": f"x{n}", "password": "y"})
        assert response.status_code == 200
    response = client.post(reverse("portal:login"), {"username": "x9", "password": "y"})
    assert response.status_code == 429


@pytest.mark.django_db
def test_search_is_rate_limited(client, settings):
    settings.LANTAI_PORTAL_RATE_LIMITS = {"portal-search": (2, 60)}
    settings.LANTAI_SEARCH_RATE_LIMITS = {"portal-search": (2, 2)}
    codes = [client.get(reverse("portal:search"), {"q": "公园"}).status_code for _ in range(4)]
    assert codes[:2] == [200, 200] and codes[-1] == 429
