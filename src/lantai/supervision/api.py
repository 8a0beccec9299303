"""Supervision API 业务指导接口 (mounted at /api/v1/supervision/; see docs/supervision.md).

What an agency's system integrates: its evaluations 测评 (self-assessment scores and evidence,
then the published result), its inspections 执法检查 with the rectification orders 整改通知 and
their responses, and its people's training records 参训记录.

Scoping is the services' (``visible_*`` for a user, ``unit_*`` for a unit's API token): the
bureau (supervisors) reads every unit, a unit records officer only his own; another unit's
evaluation, inspection or order is a 404, as on the web pages. Inspector's scores, total and
grade reach a unit only once published (``services.results_visible``).

Authentication:

* reading: a signed-in session, or a unit's API token 接口令牌 (``Authorization: Bearer lts_…``,
  the one its system uses for online archiving), which reads exactly what that unit's records
  officer reads;
* writing (self-assessment scores, evidence, submitting, rectification responses): a signed-in
  session of the unit's records officer with the CSRF token (``X-CSRFToken``). These are
  statements a named person answers for (``self_submitted_by``, ``responded_by``), so a
  system token may not make them.

Errors are the API's JSON ``{"detail", "errors": {field: [...]}}``.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import SessionAuth

from lantai.api.schemas import ErrorOut
from lantai.core.permissions import has, require
from lantai.ingest.api import ApiTokenAuth
from lantai.ingest.models import ApiToken
from lantai.supervision import services
from lantai.supervision.models import (
    Attendance,
    Evaluation,
    EvaluationStatus,
    Evidence,
    Grade,
    Inspection,
    InspectionKind,
    InspectionStatus,
    Rectification,
    RectificationStatus,
    TrainingSession,
)

router = Router(tags=["业务指导"])

#: Reading: a session or the unit's API token. Writing: a person's session only.
READ = [ApiTokenAuth(), SessionAuth(csrf=True)]
WRITE = [SessionAuth(csrf=True)]
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}

EvaluationStatusCode = Literal[tuple(EvaluationStatus.values)]  # type: ignore[valid-type]
GradeCode = Literal[tuple(Grade.values)]  # type: ignore[valid-type]
InspectionKindCode = Literal[tuple(InspectionKind.values)]  # type: ignore[valid-type]
InspectionStatusCode = Literal[tuple(InspectionStatus.values)]  # type: ignore[valid-type]
RectificationStatusCode = Literal[tuple(RectificationStatus.values)]  # type: ignore[valid-type]


# --- shapes -------------------------------------------------------------------------------------


class UnitRef(Schema):
    id: int
    code: str = Field(description="单位代码")
    name: str = Field(description="单位名称")


class IndicatorSetRef(Schema):
    id: int
    year: int = Field(description="测评年度")
    version: int = Field(description="版本")
    name: str


class EvaluationOut(Schema):
    id: int
    year: int = Field(description="测评年度")
    unit: UnitRef = Field(description="被测评单位")
    indicator_set: IndicatorSetRef = Field(description="测评指标体系")
    status: str = Field(description="状态：self 自评、review 评审、published 公布")
    self_total: str | None = Field(description="自评得分（十进制字符串）")
    self_submitted_at: datetime | None = Field(description="自评提交时间")
    results_visible: bool = Field(
        description="评审结果是否可见：业务指导人员始终可见，单位在公布后可见"
    )
    total: str | None = Field(description="评审得分（结果可见时）")
    grade: str | None = Field(description="等次 excellent/good/pass/fail（结果可见时）")
    key_failed: list[str] = Field(description="未达标的关键项编号（结果可见时）")
    comment: str = Field(description="评审意见或退回自评的理由")
    published_at: datetime | None = Field(description="公布时间")


class EvaluationPage(Schema):
    total: int
    page: int
    per_page: int
    pages: int
    items: list[EvaluationOut]


class EvidenceOut(Schema):
    id: int
    filename: str = Field(description="文件名")
    mime: str
    size: int = Field(description="字节数")
    sha256: str
    uploaded_at: datetime
    download_url: str = Field(description="下载地址（须登录）")


class ReviewOut(Schema):
    score: str | None = Field(description="评审分")
    comment: str = Field(description="评审意见")
    failed: bool = Field(description="关键项未达标")


class IndicatorRow(Schema):
    id: int
    code: str = Field(description="指标编号")
    parent_code: str | None = Field(description="上级指标编号")
    title: str = Field(description="指标名称")
    depth: int = Field(description="层级，0 为一级指标")
    scored: bool = Field(description="是否评分项（叶子）；否则为分组")
    points: str = Field(description="分值（分组为其下评分项之和）")
    key_item: str = Field(description="关键项：veto 一票否决、required 必备项、空为一般项")
    guidance: str = Field(description="评分标准")
    evidence_required: str = Field(description="佐证材料要求")
    self_score: str | None = Field(description="自评分")
    self_note: str = Field(description="自评说明")
    evidence: list[EvidenceOut] = Field(description="佐证材料")
    review: ReviewOut | None = Field(description="评审分与意见（结果可见时）")


class EvaluationDetail(EvaluationOut):
    indicators: list[IndicatorRow] = Field(description="指标树（深度优先）")


class EvaluationQuery(Schema):
    year: int | None = Field(None, ge=1900, le=2200, description="测评年度")
    status: EvaluationStatusCode | None = Field(None, description="状态")
    grade: GradeCode | None = Field(None, description="等次（单位只匹配已公布的测评）")
    page: int = Field(1, ge=1, description="页码")
    per_page: int = Field(50, ge=1, le=200, description="每页条数")


class SelfScoreIn(Schema):
    indicator: str = Field(max_length=20, description="评分项的指标编号，如 1.1")
    self_score: Decimal | None = Field(
        description="自评分，0 到该项分值；null 表示清除", allow_inf_nan=False
    )
    self_note: str | None = Field(
        None,
        max_length=4000,
        description="自评说明；可写明佐证材料的出处（文号、档号、存放位置）。省略则保持不变",
    )


class SelfScoresIn(Schema):
    scores: list[SelfScoreIn] = Field(min_length=1, max_length=1000, description="各评分项的自评")


class SubmittedEvidence(EvidenceOut):
    indicator: str = Field(description="指标编号")


class FindingOut(Schema):
    id: int
    description: str = Field(description="问题描述")
    basis: str = Field(description="依据")


class RectificationOut(Schema):
    id: int
    number: str = Field(description="通知编号 ZG-年度-序号")
    inspection_id: int
    inspection_number: str = Field(description="检查编号")
    unit: UnitRef
    finding: FindingOut | None = Field(description="对应的检查发现")
    requirement: str = Field(description="整改要求")
    deadline: date = Field(description="整改期限")
    status: str = Field(description="状态：issued 待整改、responded 已反馈、closed 已验收")
    overdue: bool = Field(description="逾期未整改")
    issued_at: datetime
    response: str = Field(description="整改情况")
    responded_at: datetime | None
    verification_note: str = Field(description="验收意见（退回时为理由）")
    closed_at: datetime | None
    evidence: list[EvidenceOut] = Field(description="整改佐证材料")


class RectificationPage(Schema):
    total: int
    page: int
    per_page: int
    pages: int
    items: list[RectificationOut]


class InspectionOut(Schema):
    id: int
    number: str = Field(description="检查编号 JC-年度-序号")
    kind: str = Field(description="planned 计划检查、ad_hoc 专项/临时检查")
    plan_year: int = Field(description="计划年度")
    unit: UnitRef = Field(description="被检查单位")
    subject: str = Field(description="检查事项")
    planned_date: date | None
    inspected_on: date | None = Field(description="检查日期")
    status: str = Field(description="状态：planned 待检查、done 已检查、closed 已办结")
    summary: str = Field(description="检查结论")


class InspectionDetail(InspectionOut):
    findings: list[FindingOut]
    rectifications: list[RectificationOut]


class InspectionPage(Schema):
    total: int
    page: int
    per_page: int
    pages: int
    items: list[InspectionOut]


class InspectionQuery(Schema):
    year: int | None = Field(None, ge=1900, le=2200, description="计划年度")
    kind: InspectionKindCode | None = Field(None, description="检查类型")
    status: InspectionStatusCode | None = Field(None, description="状态")
    overdue: bool = Field(False, description="只列出有逾期未整改通知的检查")
    page: int = Field(1, ge=1)
    per_page: int = Field(50, ge=1, le=200)


class RectificationQuery(Schema):
    status: RectificationStatusCode | None = Field(None, description="状态")
    overdue: bool = Field(False, description="只列出逾期未整改的通知")
    page: int = Field(1, ge=1)
    per_page: int = Field(50, ge=1, le=200)


class SessionRef(Schema):
    id: int
    course: str = Field(description="课程")
    date: date
    hours: str = Field(description="学时")


class SessionOut(SessionRef):
    trainer: str = Field(description="授课人")
    place: str = Field(description="地点")
    description: str = Field(description="内容简介")
    attendances: int = Field(description="参训人数（单位只计本单位人员）")


class SessionPage(Schema):
    total: int
    page: int
    per_page: int
    pages: int
    items: list[SessionOut]


class AttendanceOut(Schema):
    id: int
    name: str = Field(description="姓名")
    unit: UnitRef | None = Field(description="所在单位（已匹配到单位时）")
    unit_name: str = Field(description="单位名称")
    certificate_no: str = Field(description="证书编号")
    session: SessionRef = Field(description="培训")


class AttendancePage(Schema):
    total: int
    page: int
    per_page: int
    pages: int
    items: list[AttendanceOut]


class TrainingQuery(Schema):
    year: int | None = Field(None, ge=1900, le=2200, description="培训年度")
    page: int = Field(1, ge=1)
    per_page: int = Field(50, ge=1, le=200)


class AttendanceQuery(TrainingQuery):
    session: int | None = Field(None, description="培训 id")


# --- who is asking ------------------------------------------------------------------------------


def _token(request: HttpRequest) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def _user(request: HttpRequest, *perms: str):
    """The signed-in user, holding one of ``perms`` (403 otherwise, like the web pages)."""
    user = request.auth
    # has(None, …) means "the system": never let a missing user through as one.
    if user is None or not any(has(user, perm) for perm in perms):
        raise PermissionDenied(_("您没有业务指导相关权限。"))
    return user


def _evaluations(request: HttpRequest) -> tuple[QuerySet[Evaluation], bool]:
    """The evaluations the caller may read and whether he is the bureau (sees results)."""
    token = _token(request)
    if token is not None:
        return services.unit_evaluations(token.unit_id), False
    user = _user(request, services.MANAGE_EVALUATION, services.RESPOND)
    return services.visible_evaluations(user), has(user, services.MANAGE_EVALUATION)


def _inspections(request: HttpRequest) -> QuerySet[Inspection]:
    token = _token(request)
    if token is not None:
        return services.unit_inspections(token.unit_id)
    return services.visible_inspections(_user(request, services.INSPECT, services.RESPOND))


def _rectifications(request: HttpRequest) -> QuerySet[Rectification]:
    token = _token(request)
    if token is not None:
        return services.unit_rectifications(token.unit_id)
    return services.visible_rectifications(_user(request, services.INSPECT, services.RESPOND))


def _attendances(request: HttpRequest) -> QuerySet[Attendance]:
    token = _token(request)
    if token is not None:
        return services.unit_attendances(token.unit_id)
    return services.visible_attendances(_user(request, services.MANAGE_TRAINING, services.RESPOND))


# --- serialisation ------------------------------------------------------------------------------


#: Scores are kept with two decimals; a total just summed in memory is shown the same way.
_CENTS = Decimal("0.01")


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(_CENTS))


def _unit(unit) -> dict[str, Any]:
    return {"id": unit.pk, "code": unit.code, "name": unit.name}


def _page(rows: QuerySet, page: int, per_page: int, out) -> dict[str, Any]:
    total = rows.count()
    start = (page - 1) * per_page
    return {
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": max(1, math.ceil(total / per_page)),
        "items": [out(row) for row in rows[start : start + per_page]],
    }


def _evidence(evidence: Evidence) -> dict[str, Any]:
    return {
        "id": evidence.pk,
        "filename": evidence.filename,
        "mime": evidence.mime,
        "size": evidence.object.size,
        "sha256": evidence.object.sha256,
        "uploaded_at": evidence.uploaded_at,
        "download_url": reverse("supervision:evidence_download", args=[evidence.pk]),
    }


def _evaluation(evaluation: Evaluation, bureau: bool) -> dict[str, Any]:
    visible = services.results_visible(evaluation, bureau=bureau)
    iset = evaluation.indicator_set
    return {
        "id": evaluation.pk,
        "year": evaluation.year,
        "unit": _unit(evaluation.unit),
        "indicator_set": {
            "id": iset.pk,
            "year": iset.year,
            "version": iset.version,
            "name": iset.name,
        },
        "status": evaluation.status,
        "self_total": _dec(evaluation.self_total),
        "self_submitted_at": evaluation.self_submitted_at,
        "results_visible": visible,
        "total": _dec(evaluation.total) if visible else None,
        "grade": (evaluation.grade or None) if visible else None,
        "key_failed": [c for c in evaluation.key_failed.split("、") if c] if visible else [],
        "comment": evaluation.comment,
        "published_at": evaluation.published_at,
    }


def _evaluation_detail(evaluation: Evaluation, bureau: bool) -> dict[str, Any]:
    body = _evaluation(evaluation, bureau)
    visible = body["results_visible"]
    codes = dict(evaluation.indicator_set.indicators.values_list("pk", "code"))
    rows = []
    for row in services.scores_of(evaluation):
        node, score = row["indicator"], row["score"]
        rows.append(
            {
                "id": node.pk,
                "code": node.code,
                "parent_code": codes.get(node.parent_id),
                "title": node.title,
                "depth": node.depth,
                "scored": not node.has_children,
                "points": str(node.points),
                "key_item": node.key_item,
                "guidance": node.guidance,
                "evidence_required": node.evidence_required,
                "self_score": _dec(score.self_score) if score else None,
                "self_note": score.self_note if score else "",
                "evidence": [_evidence(e) for e in score.evidence.all()] if score else [],
                "review": (
                    {"score": _dec(score.score), "comment": score.comment, "failed": score.failed}
                    if score and visible
                    else None
                ),
            }
        )
    body["indicators"] = rows
    return body


def _finding(finding) -> dict[str, Any] | None:
    if finding is None:
        return None
    return {"id": finding.pk, "description": finding.description, "basis": finding.basis}


def _rectification(rect: Rectification, today: date) -> dict[str, Any]:
    return {
        "id": rect.pk,
        "number": rect.number,
        "inspection_id": rect.inspection_id,
        "inspection_number": rect.inspection.number,
        "unit": _unit(rect.inspection.unit),
        "finding": _finding(rect.finding),
        "requirement": rect.requirement,
        "deadline": rect.deadline,
        "status": rect.status,
        "overdue": rect.is_overdue(today),
        "issued_at": rect.issued_at,
        "response": rect.response,
        "responded_at": rect.responded_at,
        "verification_note": rect.verification_note,
        "closed_at": rect.closed_at,
        "evidence": [_evidence(e) for e in rect.evidence.all()],
    }


def _rect_rows(rects: QuerySet[Rectification]) -> QuerySet[Rectification]:
    return rects.select_related("finding").prefetch_related("evidence__object")


def _inspection(inspection: Inspection) -> dict[str, Any]:
    return {
        "id": inspection.pk,
        "number": inspection.number,
        "kind": inspection.kind,
        "plan_year": inspection.plan_year,
        "unit": _unit(inspection.unit),
        "subject": inspection.subject,
        "planned_date": inspection.planned_date,
        "inspected_on": inspection.inspected_on,
        "status": inspection.status,
        "summary": inspection.summary,
    }


def _session_ref(session: TrainingSession) -> dict[str, Any]:
    return {
        "id": session.pk,
        "course": session.course,
        "date": session.date,
        "hours": str(session.hours),
    }


def _attendance(attendance: Attendance) -> dict[str, Any]:
    return {
        "id": attendance.pk,
        "name": attendance.name,
        "unit": _unit(attendance.unit) if attendance.unit_id else None,
        "unit_name": attendance.unit_name,
        "certificate_no": attendance.certificate_no,
        "session": _session_ref(attendance.session),
    }


# --- evaluations 测评 ----------------------------------------------------------------------------


@router.get(
    "/evaluations",
    auth=READ,
    response={200: EvaluationPage, **ERRORS},
    summary="测评列表",
)
def list_evaluations(request: HttpRequest, filters: Query[EvaluationQuery]):
    """Evaluations the caller may read (the bureau: every unit; a unit: its own), newest year
    first. Inspector's total and grade only where ``results_visible``."""
    evaluations, bureau = _evaluations(request)
    rows = services.filter_evaluations(
        evaluations, bureau=bureau, year=filters.year, status=filters.status, grade=filters.grade
    )
    return _page(rows, filters.page, filters.per_page, lambda e: _evaluation(e, bureau))


def _get_evaluation(request: HttpRequest, evaluation_id: int) -> tuple[Evaluation, bool]:
    evaluations, bureau = _evaluations(request)
    # Another unit's evaluation is "not found" (ObjectDoesNotExist → 404), never a 403.
    return evaluations.get(pk=evaluation_id), bureau


@router.get(
    "/evaluations/{evaluation_id}",
    auth=READ,
    response={200: EvaluationDetail, **ERRORS},
    summary="测评详情（指标、自评、佐证材料）",
)
def get_evaluation(request: HttpRequest, evaluation_id: int):
    """One evaluation with its indicator tree, the unit's self scores and evidence, and the
    inspector's scores where ``results_visible``."""
    evaluation, bureau = _get_evaluation(request, evaluation_id)
    return _evaluation_detail(evaluation, bureau)


@router.post(
    "/evaluations/{evaluation_id}/self-scores",
    auth=WRITE,
    response={200: EvaluationDetail, **ERRORS},
    summary="填报自评分",
)
def post_self_scores(request: HttpRequest, evaluation_id: int, payload: SelfScoresIn):
    """Record self scores 自评分 for the named items (others stay as they are) while the
    evaluation is at 自评; the unit's own records officer only. Answers the evaluation."""
    require(request.auth, services.RESPOND)
    evaluation, bureau = _get_evaluation(request, evaluation_id)
    entries: dict[int, dict[str, Any]] = {}
    seen: set[str] = set()
    for entry in payload.scores:
        code = entry.indicator.strip()
        if code in seen:
            raise ValidationError({"indicator": [_("指标编号“%(c)s”重复。") % {"c": code}]})
        seen.add(code)
        indicator = services.indicator_by_code(evaluation, code)
        values: dict[str, Any] = {"self_score": entry.self_score}
        if entry.self_note is not None:
            values["self_note"] = entry.self_note
        entries[indicator.pk] = values
    evaluation = services.save_self_scores(request.auth, evaluation, entries)
    return _evaluation_detail(evaluation, bureau)


@router.post(
    "/evaluations/{evaluation_id}/evidence",
    auth=WRITE,
    response={201: SubmittedEvidence, **ERRORS},
    summary="上传佐证材料",
)
def post_evidence(
    request: HttpRequest,
    evaluation_id: int,
    indicator: Form[str],
    file: File[UploadedFile],
):
    """Attach an evidence file 佐证材料 to one item of the unit's self-assessment (multipart
    form: ``indicator``, the item's 指标编号, and ``file``, at most 200 MB); stored with its
    SHA-256 through the storage app."""
    require(request.auth, services.RESPOND)
    evaluation, _bureau = _get_evaluation(request, evaluation_id)
    node = services.indicator_by_code(evaluation, indicator)
    evidence = services.add_score_evidence(request.auth, evaluation, node.pk, file, file.name)
    return Status(201, {**_evidence(evidence), "indicator": node.code})


@router.post(
    "/evaluations/{evaluation_id}/submit",
    auth=WRITE,
    response={200: EvaluationOut, **ERRORS},
    summary="提交自评",
)
def submit_evaluation(request: HttpRequest, evaluation_id: int):
    """Hand the self-assessment in for review 评审: every item needs a self score (422 lists
    the missing ones). After this the unit can no longer change it."""
    require(request.auth, services.RESPOND)
    evaluation, bureau = _get_evaluation(request, evaluation_id)
    evaluation = services.submit_self(request.auth, evaluation)
    return _evaluation(evaluation, bureau)


# --- inspections 执法检查 and rectifications 整改 ----------------------------------------------


@router.get(
    "/inspections",
    auth=READ,
    response={200: InspectionPage, **ERRORS},
    summary="执法检查列表",
)
def list_inspections(request: HttpRequest, filters: Query[InspectionQuery]):
    """Inspections the caller may read; a unit sees its own once carried out (a planned visit
    is not announced)."""
    rows = services.filter_inspections(
        _inspections(request),
        year=filters.year,
        kind=filters.kind,
        status=filters.status,
        overdue=filters.overdue,
    )
    return _page(rows, filters.page, filters.per_page, _inspection)


@router.get(
    "/inspections/{inspection_id}",
    auth=READ,
    response={200: InspectionDetail, **ERRORS},
    summary="执法检查详情（发现的问题与整改通知）",
)
def get_inspection(request: HttpRequest, inspection_id: int):
    inspection = _inspections(request).get(pk=inspection_id)
    today = timezone.localdate()
    body = _inspection(inspection)
    body["findings"] = [_finding(f) for f in inspection.findings.all()]
    body["rectifications"] = [
        _rectification(r, today)
        for r in _rect_rows(inspection.rectifications.select_related("inspection__unit"))
    ]
    return body


@router.get(
    "/rectifications",
    auth=READ,
    response={200: RectificationPage, **ERRORS},
    summary="整改通知列表",
)
def list_rectifications(request: HttpRequest, filters: Query[RectificationQuery]):
    """Rectification orders of the inspections the caller may read, earliest deadline first."""
    rows = services.filter_rectifications(
        _rectifications(request), status=filters.status, overdue=filters.overdue
    )
    today = timezone.localdate()
    return _page(
        _rect_rows(rows), filters.page, filters.per_page, lambda r: _rectification(r, today)
    )


@router.get(
    "/rectifications/{rectification_id}",
    auth=READ,
    response={200: RectificationOut, **ERRORS},
    summary="整改通知详情",
)
def get_rectification(request: HttpRequest, rectification_id: int):
    rect = _rect_rows(_rectifications(request)).get(pk=rectification_id)
    return _rectification(rect, timezone.localdate())


_RESPONSE_BODY = {
    "requestBody": {
        "required": True,
        "description": "整改情况；附佐证材料时用 multipart/form-data（response 与若干 files）。",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"response": {"type": "string", "description": "整改情况"}},
                    "required": ["response"],
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "response": {"type": "string", "description": "整改情况"},
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "佐证材料",
                        },
                    },
                    "required": ["response"],
                }
            },
        },
    }
}


def _response_payload(request: HttpRequest) -> tuple[str, list[tuple[Any, str]]]:
    """(response text, evidence files) from a JSON body or a multipart form."""
    if request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
        files = [(upload, upload.name) for upload in request.FILES.getlist("files")]
        return request.POST.get("response", ""), files
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValidationError({"__all__": [_("请求体不是有效的 JSON。")]}) from None
    if not isinstance(data, dict) or not isinstance(data.get("response", ""), str):
        raise ValidationError({"response": [_("应为文本。")]})
    return data.get("response", ""), []


@router.post(
    "/rectifications/{rectification_id}/response",
    auth=WRITE,
    response={200: RectificationOut, **ERRORS},
    summary="提交整改反馈",
    openapi_extra=_RESPONSE_BODY,
)
def post_rectification_response(request: HttpRequest, rectification_id: int):
    """整改反馈: the unit's records officer says what was put right (and may attach evidence);
    the order goes to 已反馈 for the inspector to verify. Only while it is 待整改."""
    require(request.auth, services.RESPOND)
    rect = _rectifications(request).get(pk=rectification_id)
    text, files = _response_payload(request)
    rect = services.respond_rectification(request.auth, rect, text, files)
    rect = _rect_rows(Rectification.objects.select_related("inspection__unit")).get(pk=rect.pk)
    return _rectification(rect, timezone.localdate())


# --- training 培训 --------------------------------------------------------------------------------


@router.get(
    "/training/sessions",
    auth=READ,
    response={200: SessionPage, **ERRORS},
    summary="培训列表",
)
def list_sessions(request: HttpRequest, filters: Query[TrainingQuery]):
    """Training sessions: every one for the bureau; for a unit those its people attended, with
    only its own people counted."""
    attendances = _attendances(request)
    if _token(request) is None:
        sessions = services.visible_sessions(request.auth)
    else:
        sessions = services.sessions_of(attendances)
    if filters.year is not None:
        sessions = sessions.filter(date__year=filters.year)
    page = _page(sessions, filters.page, filters.per_page, lambda s: s)
    counts: dict[int, int] = {}
    for session_id in attendances.filter(session__in=[s.pk for s in page["items"]]).values_list(
        "session_id", flat=True
    ):
        counts[session_id] = counts.get(session_id, 0) + 1
    page["items"] = [
        {
            **_session_ref(s),
            "trainer": s.trainer,
            "place": s.place,
            "description": s.description,
            "attendances": counts.get(s.pk, 0),
        }
        for s in page["items"]
    ]
    return page


@router.get(
    "/training/attendances",
    auth=READ,
    response={200: AttendancePage, **ERRORS},
    summary="参训记录",
)
def list_attendances(request: HttpRequest, filters: Query[AttendanceQuery]):
    """Who attended which session, with certificate numbers: every record for the bureau, the
    unit's own people for a unit. Newest session first."""
    rows = _attendances(request)
    if filters.year is not None:
        rows = rows.filter(session__date__year=filters.year)
    if filters.session is not None:
        rows = rows.filter(session_id=filters.session)
    rows = rows.order_by("-session__date", "-session_id", "pk")
    return _page(rows, filters.page, filters.per_page, _attendance)


__all__ = ["router"]
