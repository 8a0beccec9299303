"""The screens: staff-only queue and actions, a citizen's own pages (others' are 404, files
included), applying with attachments, and the public verification page (genuine, forged,
PDF check, rate limit)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lantai.storage import services as storage
from lantai.utilization import codes, services
from lantai.utilization.models import Delivery, RequestStatus, UseRequest
from utilization.use_world import pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db


def apply(world, who="citizen_a", delivery=Delivery.ECOPY):
    return services.submit_request(
        world.users[who],
        purpose="verify",
        delivery_wanted=delivery,
        reference_codes=[world.open_item.reference_code],
    )


def provided(world, who="citizen_a", delivery=Delivery.ECOPY):
    archivist = world.users["archivist"]
    req = services.transition(archivist, apply(world, who, delivery), "accept")
    req = services.transition(archivist, req, "approve")
    code = None
    if delivery == Delivery.CERTIFICATE:
        _cert, code = services.issue_certificate(archivist, req.items.get(), "结婚登记属实。")
    return services.transition(archivist, req, "provide"), code


def test_staff_screens_need_the_permission(world):
    req = apply(world)
    urls = [
        reverse("utilization:queue"),
        reverse("utilization:walk_in"),
        reverse("utilization:detail", args=[req.pk]),
    ]
    for url in urls:
        assert Client().get(url).status_code == 302  # to the login page
        for who in ("citizen_a", "keeper"):
            assert world.client(who).get(url).status_code == 403
        assert world.client("archivist").get(url).status_code == 200
    post = reverse("utilization:act", args=[req.pk])
    assert world.client("citizen_a").post(post, {"action": "accept"}).status_code == 403
    req.refresh_from_db()
    assert req.status == RequestStatus.SUBMITTED


def test_queue_marks_overdue_and_filters(world):
    late = apply(world)
    apply(world, who="citizen_b")
    UseRequest.objects.filter(pk=late.pk).update(due_date=date(2020, 1, 6))
    page = world.client("archivist").get(reverse("utilization:queue")).content.decode()
    assert page.count('data-overdue="1"') == 1
    assert "1 件已逾期" in page
    only = world.client("archivist").get(reverse("utilization:queue"), {"overdue": "1"})
    assert only.context["page"].paginator.count == 1
    found = world.client("archivist").get(reverse("utilization:queue"), {"q": "王五"})
    assert [r.applicant_name for r in found.context["page"]] == ["王五"]


def test_staff_actions_through_the_screens(world):
    req = apply(world, delivery=Delivery.CERTIFICATE)
    staff = world.client("archivist")
    act = reverse("utilization:act", args=[req.pk])
    response = staff.post(act, {"action": "close"}, follow=True)
    assert "申请当前为“待受理”，不能“办结”。" in response.content.decode()
    staff.post(act, {"action": "accept"})
    staff.post(act, {"action": "approve"})
    response = staff.post(
        reverse("utilization:certificate", args=[req.pk]),
        {"requested_item": req.items.get().pk, "content": "结婚登记属实。"},
        follow=True,
    )
    assert "已出具档案证明。" in response.content.decode()
    staff.post(act, {"action": "provide"})
    req.refresh_from_db()
    assert req.status == RequestStatus.PROVIDED
    cert = req.certificates.get()
    response = staff.get(reverse("utilization:certificate_download", args=[req.pk, cert.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_approval_through_the_screen_needs_a_reason(world):
    req = services.submit_request(
        world.users["citizen_a"],
        purpose="verify",
        delivery_wanted=Delivery.ECOPY,
        reference_codes=[world.restricted_item.reference_code],
    )
    staff = world.client("archivist")
    staff.post(reverse("utilization:act", args=[req.pk]), {"action": "accept"})
    entry = req.items.get()
    url = reverse("utilization:approve_item", args=[req.pk, entry.pk])
    response = staff.post(url, {"reason": ""}, follow=True)
    assert "请填写特批理由。" in response.content.decode()
    staff.post(url, {"reason": "本人档案"})
    entry.refresh_from_db()
    assert entry.approved


def test_citizen_applies_with_attachment(world):
    citizen = world.client("citizen_a")
    url = reverse("utilization_public:apply")
    form = citizen.get(url, {"ref": world.open_item.reference_code})
    assert world.open_item.reference_code in form.content.decode()
    purpose = services.active_purposes().get(code="verify")
    bad = citizen.post(url, {"purpose": purpose.pk, "delivery": "ecopy"})
    assert "请填写档号或描述所需档案。" in bad.content.decode()
    response = citizen.post(
        url,
        {
            "purpose": purpose.pk,
            "delivery": "certificate",
            "reference_codes": world.open_item.reference_code,
            "attachments": [
                SimpleUploadedFile("身份证.pdf", pdf_bytes("ID"), "application/pdf"),
                SimpleUploadedFile("委托书.png", png_bytes(), "image/png"),
            ],
        },
    )
    req = UseRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == req.get_absolute_url()
    assert req.applicant == world.users["citizen_a"]
    assert sorted(a.filename for a in req.attachments.all()) == ["委托书.png", "身份证.pdf"]
    page = citizen.get(req.get_absolute_url()).content.decode()
    assert req.number in page and world.open_item.title in page


def test_citizens_see_only_their_own_requests_and_files(world):
    req, _code = provided(world, "citizen_a")
    cert_req, _ = provided(world, "citizen_a", Delivery.CERTIFICATE)
    ecopy = req.ecopies.first()
    cert = cert_req.certificates.get()
    own = world.client("citizen_a")
    other = world.client("citizen_b")
    assert own.get(reverse("utilization_public:list")).context["requests"].__len__() == 2
    assert list(other.get(reverse("utilization_public:list")).context["requests"]) == []
    urls = [
        reverse("utilization_public:detail", args=[req.pk]),
        reverse("utilization_public:ecopy_download", args=[req.pk, ecopy.pk]),
        reverse("utilization_public:certificate_download", args=[cert_req.pk, cert.pk]),
    ]
    for url in urls:
        assert own.get(url).status_code == 200
        assert other.get(url).status_code == 404
        assert world.client("keeper").get(url).status_code == 404
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and "/portal/login/" in anonymous["Location"]
    # A file of one request asked for under another request's address is not found either.
    wrong = reverse("utilization_public:ecopy_download", args=[cert_req.pk, ecopy.pk])
    assert own.get(wrong).status_code == 404
    data = b"".join(own.get(urls[1]).streaming_content)
    assert data == storage.open_object(ecopy.object).read()


def test_restricted_title_not_shown_to_citizen_until_approved(world):
    req = services.submit_request(
        world.users["citizen_a"],
        purpose="verify",
        delivery_wanted=Delivery.ECOPY,
        reference_codes=[world.restricted_item.reference_code],
    )
    page = world.client("citizen_a").get(req.get_absolute_url()).content.decode()
    assert world.restricted_item.reference_code in page  # what they typed
    assert world.restricted_item.title not in page


def test_verify_page_genuine_forged_and_pdf(world):
    req, code = provided(world, "citizen_a", Delivery.CERTIFICATE)
    cert = req.certificates.get()
    client = Client()
    genuine = client.get(reverse("utilization_public:verify_code", args=[code]))
    page = genuine.content.decode()
    assert genuine.status_code == 200 and 'data-result="genuine"' in page
    assert cert.reference_code in page and cert.title in page and "张*" in page
    assert "<dd>张三</dd>" not in page
    forged = client.get(reverse("utilization_public:verify_code", args=[codes.new_code()]))
    assert forged.status_code == 404 and 'data-result="unknown"' in forged.content.decode()
    assert cert.reference_code not in forged.content.decode()
    pdf = storage.open_object(cert.object).read()
    match = client.post(
        reverse("utilization_public:verify"),
        {"code": codes.display(code), "pdf": SimpleUploadedFile("c.pdf", pdf, "application/pdf")},
    )
    assert 'data-result="match"' in match.content.decode()
    changed = client.post(
        reverse("utilization_public:verify"),
        {"code": code, "pdf": SimpleUploadedFile("c.pdf", pdf + b"\n", "application/pdf")},
    )
    assert 'data-result="mismatch"' in changed.content.decode()
    empty = client.post(reverse("utilization_public:verify"), {"code": ""})
    assert empty.status_code == 400 and "请输入验证码。" in empty.content.decode()


def test_verify_is_rate_limited(world, settings):
    settings.LANTAI_VERIFY_RATE_LIMIT = 3
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [
        client.get(reverse("utilization_public:verify_code", args=[codes.new_code()])).status_code
        for _ in range(5)
    ]
    assert statuses[:3] == [404, 404, 404] and statuses[3:] == [429, 429]
    other = Client(REMOTE_ADDR="203.0.113.10")
    assert other.get(reverse("utilization_public:verify")).status_code == 200


def test_revoked_certificate_fails_verification(world):
    req, code = provided(world, "citizen_a", Delivery.CERTIFICATE)
    cert = req.certificates.get()
    staff = world.client("archivist")
    url = reverse("utilization:certificate_revoke", args=[req.pk, cert.pk])
    assert world.client("citizen_a").post(url, {"reason": "x"}).status_code == 403
    response = staff.post(url, {"reason": ""}, follow=True)
    assert "请填写作废理由。" in response.content.decode()
    staff.post(url, {"reason": "申请人提供的信息有误"})
    cert.refresh_from_db()
    assert cert.revoked
    page = Client().get(reverse("utilization_public:verify_code", args=[code]))
    assert page.status_code == 404
    # The citizen no longer gets it either.
    download = reverse("utilization_public:certificate_download", args=[req.pk, cert.pk])
    assert world.client("citizen_a").get(download).status_code == 404


def test_config_screen_purposes_and_holidays(world):
    from lantai.utilization.models import Holiday, Purpose
    from lantai.utilization.workdays import add_working_days

    url = reverse("utilization:config")
    assert world.client("citizen_a").get(url).status_code == 403
    staff = world.client("archivist")
    assert "查证" in staff.get(url).content.decode()
    staff.post(
        reverse("utilization:purpose_add"), {"code": "legal", "name": "法律诉讼", "active": "on"}
    )
    assert services.active_purposes().filter(code="legal", name="法律诉讼").exists()
    bad = staff.post(
        reverse("utilization:purpose_add"), {"code": "Bad Code", "name": "x"}, follow=True
    )
    assert "代码须为" in bad.content.decode()
    personal = Purpose.objects.get(code="personal")
    staff.post(reverse("utilization:purpose_save", args=[personal.pk]), {"name": "个人其他"})
    assert not services.active_purposes().filter(code="personal").exists()  # retired, kept
    staff.post(reverse("utilization:holiday_save"), {"date": "2031-01-01", "name": "元旦"})
    holiday = Holiday.objects.get(date=date(2031, 1, 1))
    assert add_working_days(date(2030, 12, 31), 1) == date(2031, 1, 2)
    staff.post(reverse("utilization:holiday_delete", args=[holiday.pk]))
    assert not Holiday.objects.exists()


def test_applications_are_rate_limited(world, settings):
    settings.LANTAI_USE_APPLY_RATE_LIMIT = 2
    citizen = world.client("citizen_b")
    purpose = services.active_purposes().get(code="verify")
    data = {"purpose": purpose.pk, "delivery": "reading", "description": "查阅1998年档案"}
    statuses = [
        citizen.post(reverse("utilization_public:apply"), data).status_code for _ in range(3)
    ]
    assert statuses == [302, 302, 429]
    assert UseRequest.objects.count() == 2


def test_portal_personal_page_lists_own_requests(world):
    try:
        url = reverse("portal:me")
    except Exception:  # the portal's personal page is not there
        pytest.skip("portal:me not installed")
    mine = apply(world, "citizen_a")
    theirs = apply(world, "citizen_b")
    page = world.client("citizen_a").get(url).content.decode()
    assert mine.get_absolute_url() in page
    assert theirs.number not in page and theirs.get_absolute_url() not in page
