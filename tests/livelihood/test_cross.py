# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""Cross-archive requests 跨馆出证: the local flow, deadlines in working days, forwarding to a
partner over HTTP and the answer coming back, a dead partner, and the partner API's auth."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from lantai.audit.models import AuditEntry
from lantai.livelihood import services
from lantai.livelihood.models import CrossRequest, CrossResult, CrossStatus, Direction
from lantai.utilization.models import Holiday
from livelihood.world import LI_ID, ZHANG_ID, build, lw  # noqa: F401

APPLY = {"records_sought": "2005年结婚登记", "purpose": "办理房产过户"}


@pytest.mark.django_db
def test_local_request_from_lookup_to_certificate(lw):
    result = services.lookup_own(lw.zhang, "张三", ZHANG_ID)
    # The applicant may only attach their own records: 李四's ids are dropped.
    req = services.apply(
        lw.zhang,
        {**APPLY, "id_number": ZHANG_ID},
        item_ids=[*result.item_ids, lw.other_zhang.pk, lw.secret.pk],
    )
    assert req.direction == Direction.LOCAL and req.status == CrossStatus.SUBMITTED
    assert set(req.items.values_list("pk", flat=True)) == {lw.marriage.pk, lw.insurance.pk}
    assert req.applicant_id_masked.endswith(ZHANG_ID[-4:]) and "*" in req.applicant_id_masked
    assert not req.applicant_id_encrypted  # nothing to forward
    assert list(services.requests_of(lw.zhang)) == [req]
    assert not services.requests_of(lw.li).exists()
    with pytest.raises(PermissionDenied):
        services.accept(lw.zhang, req)
    req = services.accept(lw.archivist, req, "核验身份证原件")
    assert req.status == CrossStatus.ASSISTING and req.due_on > date.today()
    req = services.answer(lw.archivist, req, found=True, note="查有档案")
    assert req.status == CrossStatus.ANSWERED and req.result == CrossResult.FOUND
    assert lw.marriage.reference_code in req.reference_codes
    # Not yet 办结: the citizen cannot download yet; another citizen never.
    with pytest.raises(PermissionDenied):
        services.open_certificate(lw.zhang, req)
    req = services.conclude(lw.archivist, req)
    assert req.status == CrossStatus.DONE
    with services.open_certificate(lw.zhang, req) as fh:
        assert fh.read().startswith(b"%PDF")
    with pytest.raises(PermissionDenied):
        services.open_certificate(lw.li, req)
    steps = list(req.events.values_list("action", flat=True))
    assert steps == ["apply", "accept", "answer", "conclude"]
    audited = AuditEntry.objects.filter(
        object_type="livelihood.crossrequest", object_id=str(req.pk)
    )
    assert audited.count() == 4 + 1  # four steps and the download
    assert set(audited.values_list("actor_username", flat=True)) == {"zhang", "archivist"}


@pytest.mark.django_db
def test_apply_checks_identity_and_input(lw):
    with pytest.raises(ValidationError) as exc:
        services.apply(lw.zhang, {"id_number": LI_ID, "holding_code": "999999"})
    assert set(exc.value.message_dict) == {"id_number", "holding_code", "records_sought", "purpose"}
    with pytest.raises(PermissionDenied):
        services.apply(lw.archivist, {**APPLY, "id_number": ZHANG_ID})  # no profile
    with pytest.raises(PermissionDenied):
        services.apply(lw.zhang, {**APPLY, "applicant_name": "王五"}, walk_in=True)
    walk = services.apply(
        lw.archivist, {**APPLY, "applicant_name": "王五", "id_number": LI_ID}, walk_in=True
    )
    assert walk.applicant is None and walk.applicant_name == "王五"
    # 退回 needs a reason; a returned request takes no further steps.
    with pytest.raises(ValidationError):
        services.return_request(lw.archivist, walk, "")
    walk = services.return_request(lw.archivist, walk, "身份证件与本人不符")
    assert walk.status == CrossStatus.RETURNED
    with pytest.raises(ValidationError):
        services.accept(lw.archivist, walk)
    # Not found ends as 无档.
    req = services.apply(lw.zhang, {**APPLY, "id_number": ZHANG_ID})
    services.accept(lw.archivist, req)
    req = services.answer(lw.archivist, req, found=False, note="经查无档")
    assert req.certificate is None
    assert services.conclude(lw.archivist, req).status == CrossStatus.NO_RECORD


@pytest.mark.django_db
def test_due_dates_skip_weekends_and_holidays(lw, monkeypatch):
    from django.utils import timezone

    friday = date(2025, 9, 26)
    Holiday.objects.create(date=date(2025, 10, 1), name="国庆节")
    Holiday.objects.create(date=date(2025, 9, 28), name="调休", workday=True)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: friday)
    req = services.apply(lw.zhang, {**APPLY, "id_number": ZHANG_ID})
    assert req.due_on == date(2025, 9, 28)  # Sunday worked (调休上班)
    req = services.accept(lw.archivist, req)
    # 4 working days after Fri 26: Sun 28, Mon 29, Tue 30, (Wed 1 off) Thu 2.
    assert req.due_on == date(2025, 10, 2)
    assert services.is_overdue(req, today=date(2025, 10, 3))
    assert not services.is_overdue(req, today=date(2025, 10, 2))


@pytest.mark.django_db(transaction=True)
def test_forward_and_answer_between_two_archives_over_http(live_server, settings):
    lw = build()
    # Two partner rows: "them" (411002) is where we forward; "us" is how 411002 knows us.
    # Each side's outbound token is the other side's inbound token.
    us, token_for_us = services.save_partner(
        None, {"code": "411009", "name": "兰台区档案馆（对方视角）", "base_url": live_server.url}
    )
    them, token_for_them = services.save_partner(
        None, {"code": "411002", "name": "邻县档案馆", "base_url": live_server.url}
    )
    # We call 411002 with the token 411002 issued to us (its row "us" holds the hash).
    services.save_partner(
        None,
        {
            "code": them.code,
            "name": them.name,
            "base_url": live_server.url,
            "outbound_token": token_for_us,
        },
        them,
    )
    services.save_partner(
        None,
        {
            "code": us.code,
            "name": us.name,
            "base_url": live_server.url,
            "outbound_token": token_for_them,
        },
        us,
    )
    out = services.apply(lw.zhang, {**APPLY, "id_number": ZHANG_ID, "holding_code": "411002"})
    assert out.direction == Direction.OUTGOING and out.applicant_id_encrypted
    out = services.accept(lw.archivist, out)
    assert out.status == CrossStatus.ACCEPTED
    out = services.forward(lw.archivist, out)  # over HTTP
    assert out.status == CrossStatus.ASSISTING and out.forward_error == ""
    assert out.applicant_id_encrypted == ""  # handed over, not kept
    incoming = CrossRequest.objects.get(direction=Direction.INCOMING, number=out.number)
    assert incoming.partner == us and incoming.status == CrossStatus.ASSISTING
    assert incoming.applicant_id_masked == out.applicant_id_masked
    # The holding side's person index suggested the records naming this person.
    assert set(incoming.items.values_list("pk", flat=True)) == {
        lw.marriage.pk,
        lw.insurance.pk,
        lw.secret.pk,
    }
    # Forwarding the same number again is idempotent on the partner side.
    assert (
        services.receive(
            us,
            {
                "number": out.number,
                "applicant_name": "张三",
                "applicant_id_number": ZHANG_ID,
                **APPLY,
            },
        )[1]
        is False
    )
    incoming = services.answer(
        lw.archivist, incoming, found=True, item_ids=[lw.marriage.pk], note="查有结婚登记"
    )
    assert incoming.status == CrossStatus.DONE and incoming.answer_error == ""
    out.refresh_from_db()
    assert out.status == CrossStatus.ANSWERED and out.result == CrossResult.FOUND
    assert out.reference_codes == lw.marriage.reference_code
    assert out.certificate is not None
    out = services.conclude(lw.archivist, out)
    with services.open_certificate(lw.zhang, out) as fh:
        assert fh.read().startswith(b"%PDF")
    actions = list(out.events.values_list("action", flat=True))
    assert actions == ["apply", "accept", "forward", "answer_received", "conclude"]
    assert list(incoming.events.values_list("action", flat=True)) == [
        "receive",
        "answer",
        "answer_sent",
    ]
    # The citizen follows it on the portal.
    client = Client()
    client.force_login(lw.zhang)
    page = client.get(f"/portal/livelihood/requests/{out.pk}/").content.decode()
    assert "办结" in page and "certificate" in page


@pytest.mark.django_db
def test_partner_down_leaves_request_retryable(lw):
    _dead, _tok = services.save_partner(
        None,
        {
            "code": "411003",
            "name": "断网的档案馆",
            "base_url": "http://127.0.0.1:9",
            "outbound_token": "ltp_x",
        },
    )
    req = services.apply(lw.zhang, {**APPLY, "id_number": ZHANG_ID, "holding_code": "411003"})
    req = services.accept(lw.archivist, req)
    with pytest.raises(services.PartnerError) as exc:
        services.forward(lw.archivist, req)
    assert "无法连接协作馆接口" in str(exc.value)
    req.refresh_from_db()
    assert req.status == CrossStatus.ACCEPTED  # retryable
    assert "无法连接协作馆接口" in req.forward_error
    assert req.applicant_id_encrypted  # still there for the retry
    assert req.events.filter(action="forward_failed").exists()
    # Retry fails the same way, still nothing lost.
    with pytest.raises(services.PartnerError):
        services.forward(lw.archivist, req)
    req.refresh_from_db()
    assert req.status == CrossStatus.ACCEPTED
    # The staff page shows the error and offers the retry.
    client = lw.client(lw.archivist)
    page = client.get(f"/livelihood/request/{req.pk}/").content.decode()
    assert "forward-error" in page and "转发协办馆" in page


@pytest.mark.django_db
def test_partner_api_authentication_and_validation(lw):
    partner, token = services.save_partner(None, {"code": "411004", "name": "甲馆"})
    client = Client()
    url = "/api/v1/cross-requests"
    body = {
        "number": "KG4110042025010100001",
        "applicant_name": "张三",
        "applicant_id_number": ZHANG_ID,
        **APPLY,
    }
    assert client.post(url, body, content_type="application/json").status_code == 401
    wrong = {"HTTP_AUTHORIZATION": "Bearer ltp_wrong"}
    assert client.post(url, body, content_type="application/json", **wrong).status_code == 401
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    bad = client.post(
        url, {**body, "applicant_id_number": "123"}, content_type="application/json", **auth
    )
    assert bad.status_code == 422 and "applicant_id_number" in bad.json()["errors"]
    ok = client.post(url, body, content_type="application/json", **auth)
    assert ok.status_code == 201 and ok.json()["status"] == "assisting"
    again = client.post(url, body, content_type="application/json", **auth)
    assert again.status_code == 200
    # An answer for a request we never forwarded to this partner: 404.
    answer = client.post(
        f"{url}/{body['number']}/answer",
        {"result": "found"},
        content_type="application/json",
        **auth,
    )
    assert answer.status_code == 404
    # A deactivated partner's token stops working.
    partner.active = False
    partner.save()
    assert client.post(url, body, content_type="application/json", **auth).status_code == 401
    assert json.loads(ok.content)["holding_code"] == services.archive_code()
