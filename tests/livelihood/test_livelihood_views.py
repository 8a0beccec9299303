# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""The screens: the portal lookup (login, identity, rate limit, no leak), applying and
following a request; staff pages refused to everyone without the permission."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from lantai.accounts.roles import Role
from lantai.livelihood import services
from lantai.livelihood.models import CrossRequest, CrossStatus
from livelihood.world import LI_ID, ZHANG_ID, lw  # noqa: F401

pytestmark = pytest.mark.django_db
LOOKUP = "/portal/livelihood/"


def test_lookup_page_needs_login_and_profile(lw):
    response = Client().get(LOOKUP)
    assert response.status_code == 302 and "/portal/login/" in response["Location"]
    page = lw.client(lw.archivist).get(LOOKUP).content.decode()
    assert "need-profile" in page


def test_citizen_lookup_shows_own_records_masked(lw):
    client = lw.client(lw.zhang)
    page = client.post(LOOKUP, {"name": "张三", "id_number": ZHANG_ID}).content.decode()
    assert "張三、李*结婚登记" in page and "张三参保登记表" in page
    assert "李四" not in page  # the other party's name never shown
    assert lw.secret.title not in page and lw.other_zhang.title not in page
    assert lw.old.title not in page and 'id="possible"' in page  # count only
    assert lw.ws_note.title not in page
    # Someone else's ID: refused, nothing listed.
    page = client.post(LOOKUP, {"name": "李四", "id_number": LI_ID}).content.decode()
    assert "只能查询本人的档案" in page and "结婚登记" not in page


def test_lookup_is_rate_limited(lw, settings):
    from django.core.cache import cache

    cache.clear()
    settings.LANTAI_SEARCH_RATE_LIMITS = {"livelihood": (1, 2)}
    client = lw.client(lw.zhang)
    codes = [
        client.post(LOOKUP, {"name": "张三", "id_number": ZHANG_ID}).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    cache.clear()


def test_apply_from_lookup_and_follow(lw):
    client = lw.client(lw.zhang)
    client.post(LOOKUP, {"name": "张三", "id_number": ZHANG_ID})
    # The form may carry extra ids; only those the lookup found are kept.
    response = client.post(
        "/portal/livelihood/apply/",
        {
            "items": [str(lw.marriage.pk), str(lw.other_zhang.pk)],
            "id_number": ZHANG_ID,
            "holding_code": services.archive_code(),
            "records_sought": "结婚登记",
            "purpose": "办理房产过户",
        },
    )
    req = CrossRequest.objects.get(applicant=lw.zhang)
    assert (
        response.status_code == 302
        and response["Location"] == f"/portal/livelihood/requests/{req.pk}/"
    )
    assert list(req.items.values_list("pk", flat=True)) == [lw.marriage.pk]
    listing = client.get("/portal/livelihood/requests/").content.decode()
    assert req.number in listing
    # Another citizen: 404 on the request and its certificate.
    other = lw.client(lw.li)
    assert other.get(f"/portal/livelihood/requests/{req.pk}/").status_code == 404
    assert other.get(f"/portal/livelihood/requests/{req.pk}/certificate.pdf").status_code == 404
    assert req.number not in other.get("/portal/livelihood/requests/").content.decode()
    # Bad input: Chinese errors on the form, nothing saved.
    page = client.post(
        "/portal/livelihood/apply/",
        {
            "id_number": LI_ID,
            "holding_code": services.archive_code(),
            "records_sought": "x",
            "purpose": "y",
        },
    ).content.decode()
    assert "身份证号与实名注册信息不一致" in page
    assert CrossRequest.objects.filter(applicant=lw.zhang).count() == 1


def test_staff_flow_through_screens(lw):
    req = services.apply(
        lw.zhang,
        {"id_number": ZHANG_ID, "records_sought": "结婚登记", "purpose": "过户"},
        item_ids=[lw.marriage.pk],
    )
    client = lw.client(lw.archivist)
    home = client.get("/livelihood/?name=张三").content.decode()
    assert lw.secret.title in home  # staff see everything they may see
    queue = client.get("/livelihood/requests/outgoing/").content.decode()
    assert req.number in queue
    client.post(f"/livelihood/request/{req.pk}/accept/", {"note": "核验"})
    client.post(
        f"/livelihood/request/{req.pk}/answer/", {"result": "found", "items": [lw.marriage.pk]}
    )
    client.post(f"/livelihood/request/{req.pk}/conclude/")
    req.refresh_from_db()
    assert req.status == CrossStatus.DONE
    pdf = client.get(f"/livelihood/request/{req.pk}/certificate.pdf")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
    mine = lw.client(lw.zhang).get(f"/portal/livelihood/requests/{req.pk}/certificate.pdf")
    assert mine.status_code == 200
    # Bad step input: a Chinese message, state unchanged.
    page = client.post(f"/livelihood/request/{req.pk}/accept/", follow=True).content.decode()
    assert "只能受理待受理的申请" in page


@pytest.mark.parametrize("role", [Role.PUBLIC, Role.KEEPER, Role.UNIT_OFFICER, Role.AUDITOR])
def test_staff_pages_refused(lw, role):
    req = services.apply(lw.zhang, {"id_number": ZHANG_ID, "records_sought": "x", "purpose": "y"})
    client = lw.world.client(role)
    for url in (
        "/livelihood/?name=张三",
        "/livelihood/requests/incoming/",
        "/livelihood/requests/new/",
        f"/livelihood/request/{req.pk}/",
        "/livelihood/partners/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/livelihood/request/{req.pk}/accept/").status_code == 403
    assert Client().get("/livelihood/").status_code == 302


def test_partner_screens(lw):
    admin = lw.world.client(Role.SYSADMIN)
    assert admin.get(reverse("livelihood:home")).status_code == 302  # to the partner list
    page = admin.post(
        "/livelihood/partners/",
        {"code": "411005", "name": "乙馆", "base_url": "ftp://x", "active": "on"},
    ).content.decode()
    assert "接口地址应以 http:// 或 https:// 开头" in page
    page = admin.post(
        "/livelihood/partners/",
        {"code": "411005", "name": "乙馆", "base_url": "https://b.example", "active": "on"},
    ).content.decode()
    assert 'id="new-token"' in page and "ltp_" in page
    assert lw.client(lw.archivist).get("/livelihood/partners/").status_code == 403


def test_walk_in_and_partner_edit(lw):
    client = lw.client(lw.archivist)
    assert "申请人姓名" in client.get("/livelihood/requests/new/").content.decode()
    response = client.post(
        "/livelihood/requests/new/",
        {
            "applicant_name": "王五",
            "id_number": LI_ID,
            "holding_code": services.archive_code(),
            "records_sought": "1990年招工登记表",
            "purpose": "退休审批",
        },
    )
    req = CrossRequest.objects.get(applicant_name="王五")
    assert response.status_code == 302 and req.applicant is None
    page = client.post(
        "/livelihood/requests/new/",
        {
            "applicant_name": "赵六",
            "id_number": "110105",
            "holding_code": services.archive_code(),
            "records_sought": "x",
            "purpose": "y",
        },
    ).content.decode()
    assert "身份证号码应为 18 位" in page
    assert not CrossRequest.objects.filter(applicant_name="赵六").exists()
    admin = lw.world.client(Role.SYSADMIN)
    partner, token = services.save_partner(None, {"code": "411006", "name": "丙馆"})
    old_hash = partner.inbound_hash
    page = admin.post(f"/livelihood/partners/{partner.pk}/", {"rotate": "1"}).content.decode()
    partner.refresh_from_db()
    assert 'id="new-token"' in page and partner.inbound_hash != old_hash
    assert services.authenticate_partner(token) is None
    response = admin.post(
        f"/livelihood/partners/{partner.pk}/",
        {
            "code": "411006",
            "name": "丙馆",
            "base_url": "https://c.example",
            "outbound_token": "ltp_abc",
            "active": "on",
        },
    )
    partner.refresh_from_db()
    assert response.status_code == 302 and partner.base_url == "https://c.example"
    assert services._decrypt(partner.outbound_token) == "ltp_abc"
