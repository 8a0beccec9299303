"""测评: indicator trees (versions, copy, .xlsx round trip), the self-assessment with evidence
files, the inspector's review, grades with key items, and unit scoping."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from lantai.audit.models import AuditEntry
from lantai.storage.services import open_object
from lantai.supervision import services
from lantai.supervision.models import (
    Evaluation,
    EvaluationStatus,
    Grade,
    Indicator,
    IndicatorSet,
    SetStatus,
)

pytestmark = pytest.mark.django_db


def codes(indicator_set):
    return {i.code: i for i in indicator_set.indicators.all()}


def self_assess(officer, evaluation, points: dict[str, str]):
    ind = codes(evaluation.indicator_set)
    services.save_self_scores(
        officer,
        evaluation,
        {ind[c].pk: {"self_score": v, "self_note": "见附件"} for c, v in points.items()},
    )


def review(supervisor, evaluation, points: dict[str, str], failed=()):
    ind = codes(evaluation.indicator_set)
    services.save_review(
        supervisor,
        evaluation,
        {
            ind[c].pk: {"score": v, "comment": "核实", "failed": c in failed}
            for c, v in points.items()
        },
        comment="总体较好",
    )


def test_tree_points_and_published_set_is_frozen(world):
    rows = services.tree(world.iset)
    assert [r.code for r in rows] == ["1", "1.1", "1.2", "2", "2.1"]
    assert [r.depth for r in rows] == [0, 1, 1, 0, 1]
    assert rows[0].points == Decimal("70")
    assert services.total_points(world.iset) == Decimal("100")
    assert [i.code for i in services.leaves(world.iset)] == ["1.1", "1.2", "2.1"]
    with pytest.raises(ValidationError):
        services.save_indicator(world.supervisor, world.iset, {"code": "3", "title": "新增"})
    with pytest.raises(PermissionDenied):
        services.save_indicator_set(world.officer_a, {"year": 2025, "name": "x"})


def test_a_parent_given_as_text_is_a_code_never_a_primary_key(world):
    iset = services.save_indicator_set(world.supervisor, {"year": 2030, "name": "编号测试"})
    first = services.save_indicator(world.supervisor, iset, {"code": "A", "title": "甲"})
    # An indicator whose code is the other one's primary key, written as text.
    named = services.save_indicator(world.supervisor, iset, {"code": str(first.pk), "title": "乙"})
    child = services.save_indicator(
        world.supervisor, iset, {"code": "C", "parent": str(first.pk), "title": "丙"}
    )
    assert child.parent == named
    with pytest.raises(ValidationError):
        services.save_indicator(
            world.supervisor, iset, {"code": "D", "parent": "no-such-code", "title": "丁"}
        )


def test_thresholds_validated_and_publish_needs_scored_items(world):
    with pytest.raises(ValidationError) as exc:
        services.save_indicator_set(
            world.supervisor, {"year": 2025, "name": "坏", "excellent_min": "70", "good_min": "80"}
        )
    assert "excellent_min" in exc.value.message_dict
    empty = services.save_indicator_set(world.supervisor, {"year": 2025, "name": "空"})
    with pytest.raises(ValidationError, match="没有评分项"):
        services.publish_set(world.supervisor, empty)


def test_copy_to_new_year_is_a_new_draft_version(world):
    copy = services.copy_set(world.supervisor, world.iset, 2025)
    again = services.copy_set(world.supervisor, world.iset, 2025)
    assert (copy.year, copy.version, copy.status) == (2025, 1, SetStatus.DRAFT)
    assert again.version == 2
    assert [(i.code, i.parent.code if i.parent else None, i.max_points, i.key_item)
            for i in services.tree(copy)] == [
        (i.code, i.parent.code if i.parent else None, i.max_points, i.key_item)
        for i in services.tree(world.iset)
    ]  # fmt: skip
    # The copy is editable; the original is not touched.
    services.save_indicator(
        world.supervisor, copy, {"code": "2.2", "parent": "2", "title": "利用", "max_points": 5}
    )
    assert world.iset.indicators.count() == 5


def test_xlsx_export_import_round_trip_and_bad_file_refused(world, tmp_path):
    dest = tmp_path / "set.xlsx"
    services.export_set_xlsx(world.supervisor, world.iset, dest)
    sheet = load_workbook(dest).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("编号", "上级编号", "指标名称", "分值")
    assert {r[0]: r[4] for r in rows[1:]}["1.2"] == "一票否决"
    target = services.save_indicator_set(world.supervisor, {"year": 2026, "name": "导入"})
    with open(dest, "rb") as fh:
        n = services.import_set_xlsx(world.supervisor, target, fh)
    assert n == 5
    imported = codes(target)
    assert imported["1.2"].key_item == "veto" and imported["1.2"].parent.code == "1"
    assert services.total_points(target) == Decimal("100")
    # A bad file: nothing half-imported, every error with its row.
    book = Workbook()
    book.active.append(["编号", "上级编号", "指标名称", "分值"])
    book.active.append(["9", "", "新", "abc"])
    book.active.append(["9.1", "8", "子", "5"])
    buf = io.BytesIO()
    book.save(buf)
    buf.seek(0)
    with pytest.raises(ValidationError) as exc:
        services.import_set_xlsx(world.supervisor, target, buf)
    text = " ".join(exc.value.messages)
    assert "第 2 行" in text and "第 3 行" in text
    assert target.indicators.count() == 5
    with pytest.raises(ValidationError, match="无法读取"):
        services.import_set_xlsx(world.supervisor, target, io.BytesIO(b"not a workbook"))


def test_grade_thresholds_and_key_item_caps(world):
    s = world.iset
    veto = Indicator(code="v", key_item="veto")
    required = Indicator(code="r", key_item="required")
    assert services.compute_grade(s, Decimal("95"), []) == (Grade.EXCELLENT, [])
    assert services.compute_grade(s, Decimal("90"), [])[0] == Grade.EXCELLENT
    assert services.compute_grade(s, Decimal("89.5"), [])[0] == Grade.GOOD
    assert services.compute_grade(s, Decimal("60"), [])[0] == Grade.PASS
    assert services.compute_grade(s, Decimal("59"), [])[0] == Grade.FAIL
    assert services.compute_grade(s, Decimal("98"), [veto]) == (Grade.GOOD, ["v"])
    assert services.compute_grade(s, Decimal("98"), [required])[0] == Grade.PASS
    # A cap never raises a grade.
    assert services.compute_grade(s, Decimal("10"), [veto])[0] == Grade.FAIL


def test_full_evaluation_flow_with_evidence_and_audit(world):
    [ev_a, _ev_b] = services.start_evaluations(
        world.supervisor, world.iset, [world.unit_a, world.unit_b]
    )
    assert services.start_evaluations(world.supervisor, world.iset, [world.unit_a]) == []
    assert ev_a.scores.count() == 3

    # Only the unit's own officer fills in the self-assessment.
    with pytest.raises(PermissionDenied):
        self_assess(world.officer_b, ev_a, {"1.1": "40"})
    with pytest.raises(PermissionDenied):
        self_assess(world.supervisor, ev_a, {"1.1": "40"})
    with pytest.raises(ValidationError, match="0 到 40"):
        self_assess(world.officer_a, ev_a, {"1.1": "41"})
    with pytest.raises(ValidationError, match="尚未自评"):
        services.submit_self(world.officer_a, ev_a)
    self_assess(world.officer_a, ev_a, {"1.1": "38", "1.2": "30", "2.1": "27.5"})
    ev_a.refresh_from_db()
    assert ev_a.self_total == Decimal("95.5")

    payload = "制度文件扫描件".encode() * 100
    ind = codes(world.iset)
    evidence = services.add_score_evidence(
        world.officer_a, ev_a, ind["1.1"].pk, SimpleUploadedFile("制度.pdf", payload), "制度.pdf"
    )
    with open_object(evidence.object) as fh:
        assert fh.read() == payload
    with pytest.raises(PermissionDenied):
        services.add_score_evidence(world.officer_b, ev_a, ind["1.1"].pk, io.BytesIO(b"x"), "x.pdf")
    # Evidence is readable by the bureau and the unit, not by another unit.
    stream, _ = services.open_evidence(world.supervisor, evidence)
    stream.close()
    with pytest.raises(PermissionDenied):
        services.open_evidence(world.officer_b, evidence)

    services.submit_self(world.officer_a, ev_a)
    with pytest.raises(ValidationError, match="已提交"):
        self_assess(world.officer_a, ev_a, {"1.1": "40"})
    with pytest.raises(PermissionDenied):
        review(world.officer_a, ev_a, {"1.1": "40"})
    with pytest.raises(ValidationError, match="尚未评分"):
        services.publish_evaluation(world.supervisor, ev_a)
    review(world.supervisor, ev_a, {"1.1": "36", "1.2": "30", "2.1": "28"}, failed=("1.2",))
    ev_a.refresh_from_db()
    assert ev_a.total == Decimal("94") and ev_a.grade == Grade.GOOD and ev_a.key_failed == "1.2"
    review(world.supervisor, ev_a, {"1.1": "36", "1.2": "30", "2.1": "28"})
    services.publish_evaluation(world.supervisor, ev_a)
    ev_a.refresh_from_db()
    assert (ev_a.status, ev_a.grade, ev_a.total) == (
        EvaluationStatus.PUBLISHED, Grade.EXCELLENT, Decimal("94"))  # fmt: skip

    actions = AuditEntry.objects.filter(
        object_type="supervision.evaluation", object_id=str(ev_a.pk)
    )
    assert actions.count() >= 5
    assert AuditEntry.objects.filter(
        object_type="supervision.evidence", object_id=str(evidence.pk), action="download"
    ).exists()


def test_return_for_self_needs_reason(world):
    [ev] = services.start_evaluations(world.supervisor, world.iset, [world.unit_a])
    self_assess(world.officer_a, ev, {"1.1": "1", "1.2": "1", "2.1": "1"})
    services.submit_self(world.officer_a, ev)
    with pytest.raises(ValidationError):
        services.return_for_self(world.supervisor, ev, "")
    services.return_for_self(world.supervisor, ev, "佐证材料不全")
    assert ev.status == EvaluationStatus.SELF


def test_agency_sees_only_its_own(world):
    services.start_evaluations(world.supervisor, world.iset, [world.unit_a, world.unit_b])
    assert set(
        services.visible_evaluations(world.officer_a).values_list("unit__code", flat=True)
    ) == {"A01"}
    assert set(
        services.visible_evaluations(world.officer_b).values_list("unit__code", flat=True)
    ) == {"B02"}
    assert services.visible_evaluations(world.supervisor).count() == 2
    assert services.visible_evaluations(world.public).count() == 0
    assert services.visible_evaluations(world.archivist).count() == 0
    other = Evaluation.objects.get(unit=world.unit_b)
    with pytest.raises(Evaluation.DoesNotExist):
        services.get_evaluation(world.officer_a, other.pk)
    with pytest.raises(PermissionDenied):
        services.grade_history(world.officer_a)


def test_grade_history_against_target(world):
    from lantai.holdings.models import Unit

    units = [Unit.objects.create(code=f"G{n}", name=f"单位{n}", kind="agency") for n in range(4)]
    evals = services.start_evaluations(world.supervisor, world.iset, units)
    Evaluation.objects.filter(pk__in=[e.pk for e in evals[:3]]).update(
        status=EvaluationStatus.PUBLISHED, grade=Grade.EXCELLENT
    )
    Evaluation.objects.filter(pk=evals[3].pk).update(
        status=EvaluationStatus.PUBLISHED, grade=Grade.PASS
    )
    [row] = services.grade_history(world.supervisor)
    assert row["year"] == 2024 and row["total"] == 4
    assert row["counts"][Grade.EXCELLENT] == 3 and row["shares"][Grade.EXCELLENT] == 75.0
    assert row["target"] == 90.0
    assert IndicatorSet.objects.get(pk=world.iset.pk).target_excellent_percent == Decimal("90")
