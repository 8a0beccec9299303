"""业务指导 screens: every page answers only to the right people; a unit officer never reaches
another unit's evaluation, inspection, rectification or evidence (404, so nothing leaks);
inspections with overdue rectifications stand out; training and the register."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from lantai.audit.models import AuditEntry
from lantai.supervision import services
from lantai.supervision.models import (
    Attendance,
    EvaluationStatus,
    Professional,
    RectificationStatus,
)

pytestmark = pytest.mark.django_db


def xlsx(rows) -> SimpleUploadedFile:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return SimpleUploadedFile("sheet.xlsx", buf.getvalue())


def test_pages_refuse_people_without_permission(client, world):
    client.force_login(world.public)
    for name in ("home", "set_list", "evaluation_list", "inspection_list", "session_list",
                 "professional_list", "grade_chart", "training_hours"):  # fmt: skip
        assert client.get(reverse(f"supervision:{name}")).status_code == 403, name
    client.force_login(world.officer_a)
    for name in ("set_list", "grade_chart", "session_list", "professional_list", "training_hours"):
        assert client.get(reverse(f"supervision:{name}")).status_code == 403, name
    assert client.get(reverse("supervision:set_detail", args=[world.iset.pk])).status_code == 403
    client.logout()
    assert client.get(reverse("supervision:home")).status_code == 302


def test_supervisor_pages_render(client, world):
    client.force_login(world.supervisor)
    services.start_evaluations(world.supervisor, world.iset, [world.unit_a])
    for name in ("home", "set_list", "evaluation_list", "inspection_list", "rectification_list",
                 "session_list", "professional_list", "grade_chart", "training_hours",
                 "set_create", "inspection_create", "session_create", "professional_create"):  # fmt: skip  # noqa: E501
        response = client.get(reverse(f"supervision:{name}"))
        assert response.status_code == 200, name
    response = client.get(reverse("supervision:set_detail", args=[world.iset.pk]))
    assert "档案安全" in response.content.decode() and "一票否决" in response.content.decode()
    response = client.get(reverse("supervision:set_export", args=[world.iset.pk]))
    assert response.status_code == 200 and response.content[:2] == b"PK"


def test_self_assessment_through_the_page_and_unit_scoping(client, world):
    ev_a, ev_b = services.start_evaluations(
        world.supervisor, world.iset, [world.unit_a, world.unit_b]
    )
    ind = {i.code: i.pk for i in world.iset.indicators.all()}
    client.force_login(world.officer_a)
    listing = client.get(reverse("supervision:evaluation_list")).content.decode()
    assert "区教育局" in listing and "区卫健委" not in listing
    # Another unit's evaluation does not exist for him: 404 on every route.
    for name in ("evaluation_detail", "evaluation_submit", "evidence_upload"):
        method = client.get if name == "evaluation_detail" else client.post
        assert method(reverse(f"supervision:{name}", args=[ev_b.pk])).status_code == 404, name

    url = reverse("supervision:evaluation_detail", args=[ev_a.pk])
    data = {"action": "self"}
    for code, value in (("1.1", "40"), ("1.2", "30"), ("2.1", "25")):
        data[f"s{ind[code]}-self"] = value
        data[f"s{ind[code]}-note"] = "已落实"
    assert client.post(url, data).status_code == 302
    ev_a.refresh_from_db()
    assert str(ev_a.self_total) == "95.00"
    bad = dict(data, **{f"s{ind['2.1']}-self": "99"})
    response = client.post(url, bad)
    assert response.status_code == 400 and "0 到 30" in response.content.decode()
    # An officer cannot review his own unit.
    response = client.post(url, {"action": "review", f"s{ind['1.1']}-score": "40"})
    assert response.status_code == 403

    upload = SimpleUploadedFile("制度汇编.pdf", b"%PDF-1.4 evidence " * 50)
    response = client.post(
        reverse("supervision:evidence_upload", args=[ev_a.pk]),
        {"indicator": ind["1.1"], "file": upload},
    )
    assert response.status_code == 302
    evidence = ev_a.scores.get(indicator_id=ind["1.1"]).evidence.get()
    download = client.get(reverse("supervision:evidence_download", args=[evidence.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF-1.4 evidence")
    client.force_login(world.officer_b)
    assert (
        client.get(reverse("supervision:evidence_download", args=[evidence.pk])).status_code == 404
    )
    assert client.get(url).status_code == 404

    client.force_login(world.officer_a)
    client.post(reverse("supervision:evaluation_submit", args=[ev_a.pk]))
    ev_a.refresh_from_db()
    assert ev_a.status == EvaluationStatus.REVIEW
    # The inspector's scores stay hidden from the unit until published.
    client.force_login(world.supervisor)
    review = {"action": "review", "comment": "良好"}
    for code, value in (("1.1", "38"), ("1.2", "30"), ("2.1", "26")):
        review[f"s{ind[code]}-score"] = value
        review[f"s{ind[code]}-comment"] = "核实"
    assert client.post(url, review).status_code == 302
    client.force_login(world.officer_a)
    page = client.get(url).content.decode()
    assert 'id="grade"' not in page
    client.force_login(world.supervisor)
    client.post(reverse("supervision:evaluation_publish", args=[ev_a.pk]))
    client.force_login(world.officer_a)
    page = client.get(url).content.decode()
    assert 'id="grade"' in page and "优秀" in page


def test_inspection_rectification_overdue_and_response(client, world):
    client.force_login(world.supervisor)
    response = client.post(
        reverse("supervision:inspection_create"),
        {"kind": "planned", "plan_year": 2024, "unit": world.unit_a.pk, "subject": "档案安全检查",
         "planned_date": "2024-05-01", "inspectors": [world.supervisor.pk]},
    )  # fmt: skip
    assert response.status_code == 302
    inspection = services.visible_inspections(world.supervisor).get()
    assert inspection.number == "JC-2024-001"
    # Planned, not yet carried out: the unit does not see it.
    client.force_login(world.officer_a)
    assert (
        client.get(reverse("supervision:inspection_detail", args=[inspection.pk])).status_code
        == 404
    )
    client.force_login(world.supervisor)
    client.post(
        reverse("supervision:finding_add", args=[inspection.pk]),
        {"description": "库房无温湿度记录", "basis": "机关档案管理规定第二十八条"},
    )
    past = timezone.localdate() - timedelta(days=3)
    client.post(
        reverse("supervision:rectification_add", args=[inspection.pk]),
        {"requirement": "建立温湿度记录", "deadline": past.isoformat()},
    )
    client.post(
        reverse("supervision:rectification_add", args=[inspection.pk]),
        {"requirement": "补齐归档章", "deadline": (past + timedelta(days=30)).isoformat()},
    )
    overdue, later = inspection.rectifications.order_by("deadline")
    page = client.get(reverse("supervision:inspection_list")).content.decode()
    assert 'id="overdue-badge"' in page and "逾期整改 1" in page
    filtered = client.get(reverse("supervision:rectification_list"), {"overdue": "1"})
    assert overdue.number in filtered.content.decode()
    assert later.number not in filtered.content.decode()
    assert services.overdue_count(world.supervisor) == 1
    # The other unit sees nothing of it; the inspected unit answers with evidence.
    client.force_login(world.officer_b)
    assert (
        client.get(reverse("supervision:inspection_detail", args=[inspection.pk])).status_code
        == 404
    )
    assert services.overdue_count(world.officer_b) == 0
    response = client.post(
        reverse("supervision:rectification_respond", args=[overdue.pk]), {"response": "x"}
    )
    assert response.status_code == 404
    client.force_login(world.officer_a)
    response = client.post(
        reverse("supervision:rectification_respond", args=[overdue.pk]),
        {"response": "已建立记录", "files": SimpleUploadedFile("记录.jpg", b"\xff\xd8jpeg" * 20)},
    )
    assert response.status_code == 302
    overdue.refresh_from_db()
    assert overdue.status == RectificationStatus.RESPONDED and overdue.evidence.count() == 1
    assert services.overdue_count(world.supervisor) == 0
    # Verification: sent back needs a reason; then accepted; then the inspection closes.
    client.force_login(world.supervisor)
    client.post(reverse("supervision:rectification_verify", args=[overdue.pk]), {"accepted": "0"})
    overdue.refresh_from_db()
    assert overdue.status == RectificationStatus.RESPONDED
    client.post(reverse("supervision:inspection_close", args=[inspection.pk]))
    inspection.refresh_from_db()
    assert inspection.status == "done"
    client.post(
        reverse("supervision:rectification_verify", args=[overdue.pk]),
        {"accepted": "1", "note": "核实完成"},
    )
    later.status = RectificationStatus.CLOSED
    later.save()
    client.post(reverse("supervision:inspection_close", args=[inspection.pk]))
    inspection.refresh_from_db()
    assert inspection.status == "closed"
    assert (
        AuditEntry.objects.filter(
            object_type="supervision.rectification", object_id=str(overdue.pk)
        ).count()
        >= 3
    )


def test_training_attendance_import_hours_and_register(client, world):
    client.force_login(world.supervisor)
    pro = services.save_professional(
        world.supervisor,
        {"name": "张三", "unit": world.unit_a, "title": "馆员", "specialties": "电子档案"},
    )
    response = client.post(
        reverse("supervision:session_create"),
        {"course": "电子档案归档实务", "date": "2024-04-10", "hours": "6", "trainer": "李老师"},
    )
    assert response.status_code == 302
    session = services.TrainingSession.objects.get()
    response = client.post(
        reverse("supervision:session_import", args=[session.pk]),
        {"file": xlsx([["姓名", "单位", "证书编号"], ["张三", "A01", "PX-001"],
                       ["李四", "某街道办", ""], ["王五", "区卫健委", "PX-003"]])},
    )  # fmt: skip
    assert response.status_code == 302
    assert Attendance.objects.filter(session=session).count() == 3
    assert Attendance.objects.get(name="张三").professional == pro
    # A sheet with a duplicate is refused whole, with the row number.
    client.post(
        reverse("supervision:session_import", args=[session.pk]),
        {"file": xlsx([["姓名", "单位"], ["赵六", "A01"], ["张三", "A01"]])},
    )
    assert not Attendance.objects.filter(name="赵六").exists()
    second = services.save_session(
        world.supervisor, {"course": "保密", "date": date(2024, 9, 1), "hours": "2.5"}
    )
    services.add_attendance(world.supervisor, second, "张三", world.unit_a)
    rows = {r["name"]: r for r in services.hours_by_person(world.supervisor, 2024)}
    assert rows["张三"]["hours"] == 8.5 and rows["张三"]["sessions"] == 2
    page = client.get(reverse("supervision:training_hours"), {"year": 2024}).content.decode()
    assert "张三" in page and "20.5" in page  # 6 × 3 + 2.5
    register = client.get(reverse("supervision:professional_list"), {"q": "电子"}).content.decode()
    assert "张三" in register
    assert Professional.objects.count() == 1
