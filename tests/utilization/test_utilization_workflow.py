"""The use request state machine 受理 → 审核 → 提供 → 办结, 退回/不予提供, due dates, audit
entries, explicit approval of non-public records, e-copy delivery and reminders."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pikepdf
import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from PIL import Image

from lantai.audit.models import AuditEntry
from lantai.storage import services as storage
from lantai.utilization import services
from lantai.utilization.models import Delivery, RequestStatus, UseRequest
from lantai.utilization.workdays import add_working_days
from utilization.use_world import pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db


def _content(page) -> bytes:
    contents = page.obj.Contents
    if isinstance(contents, pikepdf.Array):
        return b"".join(stream.read_bytes() for stream in contents)
    return contents.read_bytes()


def apply(world, who="citizen_a", delivery=Delivery.ECOPY, codes=None, **kw):
    codes = [world.open_item.reference_code] if codes is None else codes
    return services.submit_request(
        world.users[who],
        purpose="verify",
        delivery_wanted=delivery,
        reference_codes=codes,
        **kw,
    )


def test_submit_sets_number_due_dates_items_and_audit(world):
    req = apply(world, description="本人结婚登记")
    assert req.number.startswith(f"LY{timezone.localdate():%Y}-")
    assert req.status == RequestStatus.SUBMITTED
    assert req.applicant_name == "张三"
    today = timezone.localdate()
    assert req.due_date == add_working_days(today, 1)
    assert req.final_due_date == add_working_days(today, 5)
    entry = req.items.get()
    assert entry.item == world.open_item
    assert AuditEntry.objects.filter(
        object_type="utilization.userequest", object_id=str(req.pk), action="create"
    ).exists()
    second = apply(world)
    assert int(second.number[-6:]) == int(req.number[-6:]) + 1


def test_submit_refuses_bad_input_with_chinese_messages(world):
    with pytest.raises(ValidationError) as exc:
        services.submit_request(
            world.users["citizen_a"], purpose="nope", delivery_wanted="fax", reference_codes=[]
        )
    errors = exc.value.message_dict
    assert errors["purpose"] == ["请选择利用目的。"]
    assert errors["delivery"] == ["请选择利用方式。"]
    assert errors["description"] == ["请填写档号或描述所需档案。"]
    bad = services.Upload("virus.exe", b"MZ\x90\x00", "application/octet-stream")
    with pytest.raises(ValidationError) as exc:
        apply(world, uploads=[bad])
    assert "须为 PDF、PNG 或 JPEG 文件" in exc.value.message_dict["attachments"][0]
    assert not UseRequest.objects.exists()


def test_walk_in_needs_staff_and_identity(world):
    with pytest.raises(PermissionDenied):
        apply(world, walk_in={"name": "刘六", "id_number": "110101199001011234"})
    with pytest.raises(ValidationError) as exc:
        apply(world, who="archivist", walk_in={"name": "", "id_number": "x"})
    assert set(exc.value.message_dict) == {"applicant_name", "applicant_id_number"}
    req = apply(
        world,
        who="archivist",
        walk_in={"name": "刘六", "id_number": "110101199001011234", "phone": "13800000000"},
        uploads=[services.Upload("身份证.png", png_bytes(), "image/png")],
    )
    assert req.walk_in and req.applicant is None and req.applicant_name == "刘六"
    att = req.attachments.get()
    assert att.mime == "image/png"
    assert storage.open_object(att.object).read() == png_bytes()


def test_full_path_and_illegal_transitions(world):
    req = apply(world)
    archivist = world.users["archivist"]
    with pytest.raises(ValidationError) as exc:
        services.transition(archivist, req, "provide")
    assert exc.value.message_dict["action"] == ["申请当前为“待受理”，不能“提供”。"]
    with pytest.raises(ValidationError):
        services.transition(archivist, req, "close")
    with pytest.raises(PermissionDenied):
        services.transition(world.users["citizen_a"], req, "accept")
    with pytest.raises(PermissionDenied):
        services.transition(world.users["keeper"], req, "accept")

    req = services.transition(archivist, req, "accept")
    assert req.status == RequestStatus.ACCEPTED and req.assignee == archivist
    assert req.due_date == add_working_days(timezone.localdate(), 2)
    req = services.transition(archivist, req, "approve")
    req = services.transition(archivist, req, "provide")
    assert req.status == RequestStatus.PROVIDED
    assert req.ecopies.count() == 2  # the PDF and the PNG access copies
    req = services.transition(archivist, req, "close", note="已通知申请人")
    assert req.status == RequestStatus.CLOSED and req.due_date is None and req.closed_at
    with pytest.raises(ValidationError) as exc:
        services.transition(archivist, req, "return", note="x")
    assert "已办结" in exc.value.message_dict["action"][0]
    actions = list(req.events.values_list("action", flat=True))
    assert actions == ["submit", "accept", "approve", "provide", "close"]
    details = AuditEntry.objects.filter(
        object_type="utilization.userequest", object_id=str(req.pk), action="update"
    ).values_list("detail", flat=True)
    assert [d["event"] for d in details][::-1] == [
        "use_request.accept",
        "use_request.approve",
        "use_request.provide",
        "use_request.close",
    ]


def test_return_and_refuse_need_reasons(world):
    archivist = world.users["archivist"]
    req = apply(world)
    with pytest.raises(ValidationError) as exc:
        services.transition(archivist, req, "return")
    assert exc.value.message_dict["note"] == ["请填写退回理由。"]
    with pytest.raises(ValidationError):
        services.transition(archivist, req, "refuse", note="不符合")  # not from 待受理
    req = services.transition(archivist, req, "return", note="请补充身份证明")
    assert req.status == RequestStatus.RETURNED and req.reason == "请补充身份证明"
    other = services.transition(archivist, apply(world), "accept")
    other = services.transition(archivist, other, "refuse", note="涉及他人隐私")
    assert other.status == RequestStatus.REFUSED and not other.is_open


def test_restricted_item_needs_explicit_approval(world):
    archivist = world.users["archivist"]
    req = apply(world, codes=[world.restricted_item.reference_code])
    requested = req.items.get()
    assert not services.is_providable(requested)
    req = services.transition(archivist, req, "accept")
    req = services.transition(archivist, req, "approve")
    with pytest.raises(ValidationError) as exc:
        services.transition(archivist, req, "provide")
    assert world.restricted_item.reference_code in exc.value.message_dict["action"][0]
    with pytest.raises(ValidationError) as exc:
        services.approve_item(archivist, requested, "")
    assert exc.value.message_dict["reason"] == ["请填写特批理由。"]
    with pytest.raises(PermissionDenied):
        services.approve_item(world.users["citizen_a"], requested, "自己批准")
    requested = services.approve_item(archivist, requested, "本人收养档案，经领导批准")
    assert requested.approved and requested.approved_by == archivist
    entry = AuditEntry.objects.filter(
        object_id=str(req.pk), detail__event="use_request.approve_item"
    ).get()
    assert entry.detail["reason"] == "本人收养档案，经领导批准"
    req = services.transition(archivist, req, "provide")
    assert req.ecopies.count() == 1
    # The approval is for this request only: someone else's request for it is not providable.
    other = apply(world, who="citizen_b", codes=[world.restricted_item.reference_code])
    assert not services.is_providable(other.items.get())


def test_ecopies_are_watermarked_with_name_and_date(world):
    archivist = world.users["archivist"]
    req = apply(world)
    for action in ("accept", "approve", "provide"):
        req = services.transition(archivist, req, action)
    today = f"{timezone.localdate():%Y-%m-%d}"
    pdf_copy = req.ecopies.get(mime="application/pdf")
    png_copy = req.ecopies.get(mime="image/png")
    assert "张三" in pdf_copy.watermark and today in pdf_copy.watermark
    data = services.open_ecopy(world.users["citizen_a"], pdf_copy).read()
    original = pdf_bytes()
    assert data != original
    with pikepdf.open(io.BytesIO(data)) as pdf, pikepdf.open(io.BytesIO(original)) as orig:
        assert len(pdf.pages) == len(orig.pages)
        # The overlay adds drawing to the page: more content than the original had.
        assert len(_content(pdf.pages[0])) > len(_content(orig.pages[0]))
    image = Image.open(services.open_ecopy(world.users["citizen_a"], png_copy))
    assert image.size == (240, 160)
    colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert len(colours) > 1  # the white page now carries text  # the white page now carries text
    assert req.ecopies.get(pk=pdf_copy.pk).downloads == 1


def test_ecopy_download_window_and_isolation(world):
    archivist = world.users["archivist"]
    req = apply(world)
    for action in ("accept", "approve", "provide"):
        req = services.transition(archivist, req, action)
    ecopy = req.ecopies.first()
    with pytest.raises(UseRequest.DoesNotExist):
        services.open_ecopy(world.users["citizen_b"], ecopy)
    services.open_ecopy(world.users["citizen_a"], ecopy).close()
    UseRequest.objects.filter(pk=req.pk).update(
        ecopy_expires_at=timezone.now() - timedelta(minutes=1)
    )
    ecopy.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.open_ecopy(world.users["citizen_a"], ecopy)
    services.open_ecopy(archivist, ecopy).close()  # staff may still read it


def test_requests_of_and_visibility(world):
    mine = apply(world, who="citizen_a")
    theirs = apply(world, who="citizen_b")
    assert list(services.requests_of(world.users["citizen_a"])) == [mine]
    with pytest.raises(UseRequest.DoesNotExist):
        services.get_request(world.users["citizen_a"], theirs.pk)
    assert services.get_request(world.users["archivist"], theirs.pk) == theirs
    assert set(services.visible_requests(world.users["archivist"])) == {mine, theirs}
    assert not services.requests_of(None).exists()


def test_assign_only_to_handlers(world):
    req = apply(world)
    with pytest.raises(ValidationError) as exc:
        services.assign(world.users["archivist"], req, world.users["keeper"])
    assert exc.value.message_dict["assignee"] == ["经办人须为有权办理利用申请的在用账户。"]
    req = services.assign(world.users["archivist"], req, world.users["archivist2"])
    assert req.assignee == world.users["archivist2"]
    assert set(services.handlers()) == {world.users["archivist"], world.users["archivist2"]}


def test_reminders_mail_assignees_once(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    archivist, other = world.users["archivist"], world.users["archivist2"]
    late = services.transition(archivist, apply(world), "accept")
    UseRequest.objects.filter(pk=late.pk).update(due_date=date(2020, 1, 6))
    unassigned = apply(world)
    far = services.transition(other, apply(world), "accept")
    UseRequest.objects.filter(pk=far.pk).update(due_date=timezone.localdate() + timedelta(days=30))
    result = services.send_reminders()
    # The overdue one to its assignee; the unassigned one (due tomorrow at the latest) to all.
    assert result["requests"] == 2
    by_to = {m.to[0]: m for m in mail.outbox}
    assert set(by_to) == {"arc@example.org", "arc2@example.org"}
    assert late.number in by_to["arc@example.org"].body
    assert "已逾期" in by_to["arc@example.org"].body
    assert "1 件已逾期" in by_to["arc@example.org"].subject
    assert unassigned.number in by_to["arc2@example.org"].body
    assert far.number not in by_to["arc2@example.org"].body
    mail.outbox.clear()
    assert services.send_reminders()["mails"] == 0  # not again within the hour
    later = timezone.now() + timedelta(hours=21)
    assert services.send_reminders(now=later)["requests"] == 2


def test_reminder_job_is_registered(world, settings):
    from lantai.jobs.services import _REGISTRY

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "utilization.remind" in _REGISTRY
    services.transition(world.users["archivist"], apply(world), "accept")
    UseRequest.objects.update(due_date=date(2020, 1, 6))
    assert _REGISTRY["utilization.remind"].handler(None)["mails"] == 1


def test_annual_figures(world):
    from lantai.statistics.registry import collect

    archivist = world.users["archivist"]
    req = apply(world)
    for action in ("accept", "approve", "provide", "close"):
        req = services.transition(archivist, req, action)
    apply(world, delivery=Delivery.READING)
    year = timezone.localdate().year
    figures = {f.key: f for f in collect(year) if f.key.startswith("utilization.")}
    assert figures["utilization.requests_received"].value == 2
    assert figures["utilization.requests_received"].breakdown == {"查证": 2}
    assert figures["utilization.requests_closed"].value == 1
    assert figures["utilization.ecopies"].value == 2
    assert figures["utilization.certificates"].value == 0
    assert {f.key: f.value for f in collect(year - 1) if f.key.startswith("utilization.")} == {
        "utilization.requests_received": 0,
        "utilization.requests_closed": 0,
        "utilization.certificates": 0,
        "utilization.ecopies": 0,
    }


def test_unreadable_access_copy_refuses_provide_and_changes_nothing(world):
    from lantai.storage.models import StoredObject
    from utilization.use_world import attach

    attach(world.open_item, b"not really a png", "损坏.png")
    archivist = world.users["archivist"]
    req = apply(world)
    req = services.transition(archivist, req, "accept")
    req = services.transition(archivist, req, "approve")
    objects_before = StoredObject.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.transition(archivist, req, "provide")
    assert "损坏.png" in exc.value.message_dict["action"][0]
    req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED and not req.ecopies.exists()
    assert StoredObject.objects.count() == objects_before  # no half-written delivery rows


def test_failed_attachment_store_leaves_no_request(world, monkeypatch):
    def broken(*args, **kwargs):
        raise storage.StorageError("disk full")

    monkeypatch.setattr(storage, "put_file", broken)
    entries = AuditEntry.objects.count()
    with pytest.raises(storage.StorageError):
        apply(world, uploads=[services.Upload("身份证.png", png_bytes(), "image/png")])
    assert not UseRequest.objects.exists()
    assert AuditEntry.objects.count() == entries
