"""业务指导 API /api/v1/supervision/: a unit officer reads and answers only for his own unit
(another unit's evaluation, inspection or order is a 404), results reach the unit only once
published, the bureau reads every unit, a unit's API token reads what its officer reads and
writes nothing, validation errors come back per field in Chinese, and the OpenAPI document
lists every route."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from openapi_spec_validator import validate

from lantai.ingest import services as ingest
from lantai.supervision import services
from lantai.supervision.models import EvaluationStatus, Evidence, RectificationStatus

pytestmark = pytest.mark.django_db

API = "/api/v1/supervision"
SCORES = {"1.1": "40", "1.2": "30", "2.1": "25"}


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_json(client: Client, url: str, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def fill(client: Client, evaluation, scores=SCORES):
    body = {"scores": [{"indicator": c, "self_score": v} for c, v in scores.items()]}
    return post_json(client, f"{API}/evaluations/{evaluation.pk}/self-scores", body)


@pytest.fixture
def evaluations(world):
    return services.start_evaluations(world.supervisor, world.iset, [world.unit_a, world.unit_b])


@pytest.fixture
def token_a(world, make_user):
    admin = make_user("admin9", "sysadmin")
    return ingest.issue_token(admin, world.unit_a, "区教育局 OA")[1]


def test_openapi_document_lists_the_supervision_routes(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    paths = spec["paths"]
    expected = {
        "/api/v1/supervision/evaluations": {"get"},
        "/api/v1/supervision/evaluations/{evaluation_id}": {"get"},
        "/api/v1/supervision/evaluations/{evaluation_id}/self-scores": {"post"},
        "/api/v1/supervision/evaluations/{evaluation_id}/evidence": {"post"},
        "/api/v1/supervision/evaluations/{evaluation_id}/submit": {"post"},
        "/api/v1/supervision/inspections": {"get"},
        "/api/v1/supervision/inspections/{inspection_id}": {"get"},
        "/api/v1/supervision/rectifications": {"get"},
        "/api/v1/supervision/rectifications/{rectification_id}": {"get"},
        "/api/v1/supervision/rectifications/{rectification_id}/response": {"post"},
        "/api/v1/supervision/training/sessions": {"get"},
        "/api/v1/supervision/training/attendances": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
        for method in methods:
            operation = paths[path][method]
            assert operation["tags"] == ["业务指导"]
            schemes = {name for entry in operation["security"] for name in entry}
            # Reading: session or unit token; writing: a person's session only.
            assert schemes == (
                {"SessionAuth"} if method == "post" else {"SessionAuth", "ApiTokenAuth"}
            )
    body = paths["/api/v1/supervision/rectifications/{rectification_id}/response"]["post"]
    assert {"application/json", "multipart/form-data"} <= set(body["requestBody"]["content"])


def test_anonymous_is_401_and_roles_without_supervision_rights_403(client, world, evaluations):
    response = client.get(f"{API}/evaluations")
    assert response.status_code == 401 and response.json()["detail"] == "请先登录。"
    for user in (world.public, world.archivist):
        api = as_user(user)
        for path in ("evaluations", "inspections", "rectifications", "training/sessions",
                     "training/attendances", f"evaluations/{evaluations[0].pk}"):  # fmt: skip
            response = api.get(f"{API}/{path}")
            assert response.status_code == 403, (user.username, path)
            assert "权限" in response.json()["detail"]


def test_unit_officer_sees_only_his_own_units_evaluation(world, evaluations):
    _ev_a, ev_b = evaluations
    officer = as_user(world.officer_a)
    data = officer.get(f"{API}/evaluations").json()
    assert data["total"] == 1 and [e["unit"]["code"] for e in data["items"]] == ["A01"]
    # Another unit's evaluation does not exist for him, whatever the route.
    assert officer.get(f"{API}/evaluations/{ev_b.pk}").status_code == 404
    assert fill(officer, ev_b).status_code == 404
    assert officer.post(f"{API}/evaluations/{ev_b.pk}/submit").status_code == 404
    upload = SimpleUploadedFile("x.pdf", b"%PDF-1.4 x")
    response = officer.post(
        f"{API}/evaluations/{ev_b.pk}/evidence", {"indicator": "1.1", "file": upload}
    )
    assert response.status_code == 404
    ev_b.refresh_from_db()
    assert ev_b.self_total is None and not Evidence.objects.exists()
    # Filters never widen the scope.
    assert officer.get(f"{API}/evaluations", {"year": 2024, "status": "self"}).json()["total"] == 1
    # The bureau reads every unit.
    data = as_user(world.supervisor).get(f"{API}/evaluations").json()
    assert sorted(e["unit"]["code"] for e in data["items"]) == ["A01", "B02"]


def test_self_assessment_evidence_and_submission_through_the_api(world, evaluations):
    ev_a, _ev_b = evaluations
    officer = as_user(world.officer_a)
    detail = officer.get(f"{API}/evaluations/{ev_a.pk}").json()
    assert [r["code"] for r in detail["indicators"]] == ["1", "1.1", "1.2", "2", "2.1"]
    section = detail["indicators"][0]
    assert section["scored"] is False and section["points"] == "70.00"
    assert detail["indicators"][2]["key_item"] == "veto"
    # Partial: one item with a note naming where the evidence is kept.
    body = {"scores": [{"indicator": "1.1", "self_score": 38.5, "self_note": "见 2024 年制度汇编"}]}
    response = post_json(officer, f"{API}/evaluations/{ev_a.pk}/self-scores", body)
    assert response.status_code == 200
    row = {r["code"]: r for r in response.json()["indicators"]}["1.1"]
    assert row["self_score"] == "38.50" and row["self_note"] == "见 2024 年制度汇编"
    assert response.json()["self_total"] == "38.50"
    # Submitting with items missing names them.
    response = officer.post(f"{API}/evaluations/{ev_a.pk}/submit")
    assert response.status_code == 422
    assert "1.2" in response.json()["errors"]["__all__"][0]

    content = b"%PDF-1.4 evidence " * 40
    response = officer.post(
        f"{API}/evaluations/{ev_a.pk}/evidence",
        {"indicator": "1.1", "file": SimpleUploadedFile("制度汇编.pdf", content)},
    )
    assert response.status_code == 201
    evidence = response.json()
    assert evidence["indicator"] == "1.1" and evidence["filename"] == "制度汇编.pdf"
    assert evidence["sha256"] == hashlib.sha256(content).hexdigest()
    assert evidence["size"] == len(content)
    # The reference leads to the file, for his unit only.
    download = officer.get(evidence["download_url"])
    assert b"".join(download.streaming_content) == content
    assert as_user(world.officer_b).get(evidence["download_url"]).status_code == 404
    row = {r["code"]: r for r in officer.get(f"{API}/evaluations/{ev_a.pk}").json()["indicators"]}
    assert [e["id"] for e in row["1.1"]["evidence"]] == [evidence["id"]]

    assert fill(officer, ev_a).status_code == 200
    response = officer.post(f"{API}/evaluations/{ev_a.pk}/submit")
    assert response.status_code == 200 and response.json()["status"] == "review"
    ev_a.refresh_from_db()
    assert ev_a.status == EvaluationStatus.REVIEW and ev_a.self_submitted_by == world.officer_a
    assert str(ev_a.self_total) == "95.00"
    # Submitted: no more changes.
    response = fill(officer, ev_a, {"2.1": "30"})
    assert response.status_code == 422 and "已提交" in response.json()["errors"]["__all__"][0]


def test_self_score_validation_errors(world, evaluations):
    ev_a, _ev_b = evaluations
    officer = as_user(world.officer_a)
    url = f"{API}/evaluations/{ev_a.pk}/self-scores"
    response = fill(officer, ev_a, {"2.1": "31"})  # the item is worth 30
    assert response.status_code == 422
    assert response.json()["detail"] == "数据校验未通过。"
    assert "0 到 30" in response.json()["errors"]["self_score"][0]
    for code in ("9.9", "1"):  # unknown, and a section (not a scored item)
        response = fill(officer, ev_a, {code: "1"})
        assert response.status_code == 422 and "indicator" in response.json()["errors"], code
    response = post_json(officer, url, {"scores": [{"indicator": "1.1", "self_score": "很好"}]})
    assert response.status_code == 422
    assert (
        response.json()["detail"] == "请求参数不正确。"
        and "self_score" in response.json()["errors"]
    )
    assert post_json(officer, url, {"scores": []}).status_code == 422
    duplicate = {
        "scores": [{"indicator": "1.1", "self_score": 1}, {"indicator": "1.1", "self_score": 2}]
    }
    assert post_json(officer, url, duplicate).status_code == 422
    # A body that is not JSON at all: ninja refuses it before any field is looked at.
    response = officer.post(url, "not json", content_type="application/json")
    assert response.status_code == 400 and "detail" in response.json()
    ev_a.refresh_from_db()
    assert ev_a.self_total is None  # nothing half-saved
    # Empty evidence file.
    response = officer.post(
        f"{API}/evaluations/{ev_a.pk}/evidence",
        {"indicator": "1.1", "file": SimpleUploadedFile("空.pdf", b"")},
    )
    assert response.status_code == 422
    # The supervisor may read the unit's evaluation but not fill in its self-assessment.
    response = fill(as_user(world.supervisor), ev_a)
    assert response.status_code == 403


def test_results_reach_the_unit_only_once_published(world, evaluations):
    ev_a, _ev_b = evaluations
    officer = as_user(world.officer_a)
    fill(officer, ev_a)
    assert officer.post(f"{API}/evaluations/{ev_a.pk}/submit").status_code == 200
    ev_a.refresh_from_db()
    ind = {i.code: i.pk for i in world.iset.indicators.all()}
    services.save_review(
        world.supervisor,
        ev_a,
        {
            ind["1.1"]: {"score": "38", "comment": "核实"},
            ind["1.2"]: {"score": "30", "failed": True},
            ind["2.1"]: {"score": "26"},
        },
        comment="总体良好",
    )
    ev_a.refresh_from_db()
    assert ev_a.grade == "good"  # 94 points, capped by the failed 一票否决 item
    body = officer.get(f"{API}/evaluations/{ev_a.pk}").json()
    assert body["results_visible"] is False
    assert body["total"] is None and body["grade"] is None and body["key_failed"] == []
    assert all(r["review"] is None for r in body["indicators"])
    listing = officer.get(f"{API}/evaluations").json()["items"][0]
    assert listing["grade"] is None and listing["total"] is None
    # Filtering by grade must not reveal the unpublished grade either.
    assert officer.get(f"{API}/evaluations", {"grade": "good"}).json()["total"] == 0
    bureau = as_user(world.supervisor)
    body = bureau.get(f"{API}/evaluations/{ev_a.pk}").json()
    assert body["total"] == "94.00" and body["grade"] == "good" and body["key_failed"] == ["1.2"]
    assert bureau.get(f"{API}/evaluations", {"grade": "good"}).json()["total"] == 1

    services.publish_evaluation(world.supervisor, ev_a)
    body = officer.get(f"{API}/evaluations/{ev_a.pk}").json()
    assert body["results_visible"] is True and body["grade"] == "good"
    review = {r["code"]: r["review"] for r in body["indicators"] if r["scored"]}
    assert review["1.2"]["failed"] is True and review["1.1"]["score"] == "38.00"
    assert officer.get(f"{API}/evaluations", {"grade": "good"}).json()["total"] == 1


def test_unit_token_reads_its_own_unit_and_writes_nothing(world, evaluations, token_a):
    ev_a, ev_b = evaluations
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_a}")
    data = client.get(f"{API}/evaluations").json()
    assert [e["id"] for e in data["items"]] == [ev_a.pk]
    assert data["items"][0]["results_visible"] is False
    assert client.get(f"{API}/evaluations/{ev_a.pk}").status_code == 200
    assert client.get(f"{API}/evaluations/{ev_b.pk}").status_code == 404
    # A system token makes no statements for the unit.
    assert fill(client, ev_a).status_code == 401
    assert client.post(f"{API}/evaluations/{ev_a.pk}/submit").status_code == 401
    ev_a.refresh_from_db()
    assert ev_a.self_total is None
    bad = Client(HTTP_AUTHORIZATION="Bearer lts_notavalidtoken")
    assert bad.get(f"{API}/evaluations").status_code == 401


def _inspection_with_orders(world, unit):
    inspection = services.save_inspection(
        world.supervisor,
        {"kind": "planned", "plan_year": 2024, "unit": unit, "subject": "档案安全检查"},
    )
    return inspection


def test_inspections_and_rectification_response(world, token_a):
    inspection = _inspection_with_orders(world, world.unit_a)
    officer = as_user(world.officer_a)
    # Planned, not yet carried out: the unit does not see it.
    assert officer.get(f"{API}/inspections").json()["total"] == 0
    assert officer.get(f"{API}/inspections/{inspection.pk}").status_code == 404
    finding = services.add_finding(world.supervisor, inspection, "库房无温湿度记录", "第二十八条")
    past = timezone.localdate() - timedelta(days=3)
    overdue = services.issue_rectification(
        world.supervisor, inspection, "建立温湿度记录", past, finding
    )
    later = services.issue_rectification(
        world.supervisor, inspection, "补齐归档章", past + timedelta(days=30)
    )
    other = _inspection_with_orders(world, world.unit_b)
    other_rect = services.issue_rectification(world.supervisor, other, "整理案卷", past)

    data = officer.get(f"{API}/inspections").json()
    assert [i["number"] for i in data["items"]] == [inspection.number]
    detail = officer.get(f"{API}/inspections/{inspection.pk}").json()
    assert [f["description"] for f in detail["findings"]] == ["库房无温湿度记录"]
    rects = {r["number"]: r for r in detail["rectifications"]}
    assert rects[overdue.number]["overdue"] is True and rects[later.number]["overdue"] is False
    assert rects[overdue.number]["finding"]["id"] == finding.pk
    listing = officer.get(f"{API}/rectifications", {"overdue": "true"}).json()
    assert [r["number"] for r in listing["items"]] == [overdue.number]
    assert officer.get(f"{API}/inspections", {"overdue": "true"}).json()["total"] == 1
    # The other unit's inspection and order: not found, and not answerable.
    assert officer.get(f"{API}/inspections/{other.pk}").status_code == 404
    assert officer.get(f"{API}/rectifications/{other_rect.pk}").status_code == 404
    response = post_json(
        officer, f"{API}/rectifications/{other_rect.pk}/response", {"response": "x"}
    )
    assert response.status_code == 404
    other_rect.refresh_from_db()
    assert other_rect.status == RectificationStatus.ISSUED
    # The token of unit A reads the same as its officer.
    token = Client(HTTP_AUTHORIZATION=f"Bearer {token_a}")
    assert [r["number"] for r in token.get(f"{API}/rectifications").json()["items"]] == [
        overdue.number,
        later.number,
    ]
    response = post_json(token, f"{API}/rectifications/{overdue.pk}/response", {"response": "x"})
    assert response.status_code == 401

    url = f"{API}/rectifications/{overdue.pk}/response"
    response = post_json(officer, url, {"response": "  "})
    assert response.status_code == 422 and "response" in response.json()["errors"]
    response = post_json(officer, url, {"response": 5})
    assert response.status_code == 422
    response = officer.post(
        url,
        {"response": "已建立记录", "files": [SimpleUploadedFile("记录.jpg", b"\xff\xd8jpeg" * 20)]},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "responded" and body["overdue"] is False
    assert [e["filename"] for e in body["evidence"]] == ["记录.jpg"]
    overdue.refresh_from_db()
    assert overdue.responded_by == world.officer_a
    # Once answered it waits for verification: no second answer.
    assert post_json(officer, url, {"response": "再次"}).status_code == 422
    response = post_json(
        officer, f"{API}/rectifications/{later.pk}/response", {"response": "已补齐"}
    )
    assert response.status_code == 200 and response.json()["evidence"] == []
    # The inspector (no unit) may read but never answers for a unit.
    bureau = as_user(world.supervisor)
    assert bureau.get(f"{API}/rectifications").json()["total"] == 3
    assert (
        post_json(
            bureau, f"{API}/rectifications/{other_rect.pk}/response", {"response": "x"}
        ).status_code
        == 403
    )


def test_training_records_are_scoped_to_the_unit(world, token_a):
    session = services.save_session(
        world.supervisor, {"course": "电子档案归档实务", "date": date(2024, 4, 10), "hours": "6"}
    )
    services.add_attendance(world.supervisor, session, "张三", world.unit_a, "PX-001")
    services.add_attendance(world.supervisor, session, "王五", world.unit_b, "PX-003")
    services.add_attendance(world.supervisor, session, "李四", "某街道办")
    other = services.save_session(
        world.supervisor, {"course": "保密", "date": date(2024, 9, 1), "hours": "2.5"}
    )
    services.add_attendance(world.supervisor, other, "王五", world.unit_b)

    for client in (as_user(world.officer_a), Client(HTTP_AUTHORIZATION=f"Bearer {token_a}")):
        rows = client.get(f"{API}/training/attendances").json()
        assert [(r["name"], r["certificate_no"]) for r in rows["items"]] == [("张三", "PX-001")]
        assert rows["items"][0]["session"]["hours"] == "6.0"
        sessions = client.get(f"{API}/training/sessions").json()
        assert [(s["course"], s["attendances"]) for s in sessions["items"]] == [
            ("电子档案归档实务", 1)
        ]
    bureau = as_user(world.supervisor)
    sessions = bureau.get(f"{API}/training/sessions", {"year": 2024}).json()
    assert [(s["course"], s["attendances"]) for s in sessions["items"]] == [
        ("保密", 1),
        ("电子档案归档实务", 3),
    ]
    rows = bureau.get(f"{API}/training/attendances", {"session": session.pk}).json()
    assert rows["total"] == 3
    assert bureau.get(f"{API}/training/attendances", {"year": 2023}).json()["total"] == 0
    response = bureau.get(f"{API}/training/attendances", {"year": "二〇二四"})
    assert response.status_code == 422 and "year" in response.json()["errors"]


def test_paging_and_csrf(world, evaluations):
    bureau = as_user(world.supervisor)
    page = bureau.get(f"{API}/evaluations", {"per_page": 1, "page": 2}).json()
    assert (page["total"], page["pages"], page["page"], len(page["items"])) == (2, 2, 2, 1)
    response = bureau.get(f"{API}/evaluations", {"per_page": 0})
    assert response.status_code == 422 and "per_page" in response.json()["errors"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.officer_a)
    response = fill(strict, evaluations[0])
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
