"""业务指导 services: evaluation 测评, inspections 执法检查 and rectifications 整改, training 培训
and the register of professionals 专业人员名册.

Who may do what:

* ``supervision.manage_evaluation`` (bureau supervisors) edit indicator sets, start
  evaluations, review and publish them, and see every agency's evaluation.
* ``supervision.inspect`` plan and record inspections, issue rectification orders, verify and
  close them.
* ``supervision.manage_training`` keep training sessions, attendance and the register.
* ``supervision.respond`` (a unit records officer 单位档案员) sees *only his own unit's*
  evaluations and inspections: he fills in the self-assessment with evidence and answers the
  rectification orders. Anything of another unit is "not found" to him.

Every change writes an audit entry in the transaction that makes it; downloads and exports are
audited too.

Life of an evaluation::

    自评 self ──submit_self──▶ 评审 review ──publish──▶ 公布 published
        ▲                          │
        └────── return_for_self ───┘

Life of a rectification order 整改通知::

    待整改 issued ──respond──▶ 已反馈 responded ──verify(ok)──▶ 已验收 closed
        ▲                                │
        └──────── verify(not ok) ────────┘
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction
from lantai.audit.services import changes, record
from lantai.core.permissions import has, require
from lantai.holdings.models import NumberSequence, Unit
from lantai.supervision.models import (
    GRADE_ORDER,
    Attendance,
    Evaluation,
    EvaluationStatus,
    Evidence,
    Finding,
    Grade,
    Indicator,
    IndicatorSet,
    Inspection,
    InspectionKind,
    InspectionStatus,
    KeyItem,
    Professional,
    Rectification,
    RectificationStatus,
    Score,
    SetStatus,
    TrainingSession,
)

MANAGE_EVALUATION = "supervision.manage_evaluation"
INSPECT = "supervision.inspect"
MANAGE_TRAINING = "supervision.manage_training"
RESPOND = "supervision.respond"

#: Largest evidence file accepted (bytes).
EVIDENCE_MAX_BYTES = 200 * 1024 * 1024
#: Grade a failed 一票否决 item caps the result at (never 优秀), and a failed 必备 item.
VETO_CAP = Grade.GOOD
REQUIRED_CAP = Grade.PASS

Scores = dict[int, dict[str, Any]]


# --- small helpers ----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def _snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, obj._meta.get_field(name).attname)) for name in fields}


def _write(actor, obj: models.Model, data: dict, fields: tuple[str, ...], extra=None):
    """Set ``fields`` from ``data``, validate (field messages), save and audit."""
    creating = obj.pk is None
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValidationError({"__all__": [_("未知字段：%(f)s") % {"f": "、".join(unknown)}]})
    before = {} if creating else _snapshot(obj, fields)
    for name in fields:
        if name in data:
            value = data[name]
            if isinstance(value, str):
                value = value.strip()
            field = obj._meta.get_field(name)
            if value == "" and field.null:
                value = None
            setattr(obj, field.name, value)
    errors: dict[str, list[str]] = {}
    try:
        obj.full_clean(validate_unique=True, validate_constraints=True)
    except ValidationError as exc:
        errors = {k: list(v) for k, v in exc.message_dict.items()}
    if extra is not None and not errors:
        extra(obj, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        obj.save()
        after = _snapshot(obj, fields)
        record(
            AuditAction.CREATE if creating else AuditAction.UPDATE,
            actor=actor,
            obj=obj,
            detail=after if creating else changes(before, after),
        )
    return obj


def _delete(actor, obj: models.Model, fields: tuple[str, ...]) -> None:
    with transaction.atomic():
        record(AuditAction.DELETE, actor=actor, obj=obj, detail=_snapshot(obj, fields))
        obj.delete()


def _decimal(value: Any, field: str, label: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(
            {field: [_("%(label)s须为数字：%(v)s") % {"label": label, "v": value}]}
        ) from None
    if not number.is_finite():
        raise ValidationError(
            {field: [_("%(label)s须为数字：%(v)s") % {"label": label, "v": value}]}
        )
    return number


def _next_number(prefix: str, year: int, model: type[models.Model], width: int = 3) -> str:
    """``PREFIX-YEAR-NNN`` from a locked sequence row (distinct under concurrency)."""
    scope = f"supervision:{prefix}:{year}"
    with transaction.atomic():
        NumberSequence.objects.bulk_create([NumberSequence(scope=scope)], ignore_conflicts=True)
        sequence = NumberSequence.objects.select_for_update().get(scope=scope)
        number = sequence.last + 1
        while model.objects.filter(number=f"{prefix}-{year}-{number:0{width}d}").exists():
            number += 1
        sequence.last = number
        sequence.save(update_fields=["last"])
    return f"{prefix}-{year}-{number:0{width}d}"


def _own_unit(user) -> int | None:
    """The unit a unit records officer answers for (None when he has none or is not one)."""
    if not has(user, RESPOND):
        return None
    return getattr(user, "unit_id", None)


def _valid_year(value: Any, field: str = "year") -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: [_("请填写正确的年度。")]}) from None
    if not 1900 <= year <= 2200:
        raise ValidationError({field: [_("年度须在 1900 到 2200 之间。")]})
    return year


# --- indicator sets 测评指标体系 ----------------------------------------------------------------

SET_FIELDS = (
    "year",
    "version",
    "name",
    "excellent_min",
    "good_min",
    "pass_min",
    "target_excellent_percent",
    "note",
)
INDICATOR_FIELDS = (
    "parent",
    "code",
    "title",
    "max_points",
    "key_item",
    "guidance",
    "evidence_required",
    "sort_order",
)


def _check_thresholds(s: IndicatorSet, errors: dict[str, list[str]]) -> None:
    if not (s.excellent_min > s.good_min > s.pass_min >= 0):
        errors["excellent_min"] = [_("分数线须满足：优秀 > 良好 > 合格 ≥ 0。")]
    if not 0 <= s.target_excellent_percent <= 100:
        errors["target_excellent_percent"] = [_("优秀率目标须在 0 到 100 之间。")]


def save_indicator_set(
    actor, data: dict, indicator_set: IndicatorSet | None = None
) -> IndicatorSet:
    """Create or edit an indicator set 测评指标体系 (only while it is a draft)."""
    require(actor, MANAGE_EVALUATION)
    data = dict(data)
    if indicator_set is None:
        year = _valid_year(data.get("year"))
        data["year"] = year
        if "version" not in data:
            last = IndicatorSet.objects.filter(year=year).aggregate(m=Max("version"))["m"]
            data["version"] = (last or 0) + 1
    elif indicator_set.status != SetStatus.DRAFT:
        raise ValidationError({"__all__": [_("已发布的指标体系不能修改，请复制为新版本。")]})
    return _write(actor, indicator_set or IndicatorSet(), data, SET_FIELDS, _check_thresholds)


def leaves(indicator_set: IndicatorSet) -> list[Indicator]:
    """The scored indicators 评分项 (those without children), in tree order."""
    return [i for i in tree(indicator_set) if not i.has_children]


def tree(indicator_set: IndicatorSet) -> list[Indicator]:
    """Every indicator in display order (depth-first), each with ``depth``, ``has_children``
    and ``points`` (a section's points are the sum of its items')."""
    rows = list(indicator_set.indicators.all().order_by("sort_order", "code", "pk"))
    children: dict[int | None, list[Indicator]] = defaultdict(list)
    for row in rows:
        children[row.parent_id].append(row)
    out: list[Indicator] = []

    def points(node: Indicator) -> Decimal:
        kids = children.get(node.pk, [])
        return sum((points(k) for k in kids), Decimal(0)) if kids else node.max_points

    def walk(parent_id: int | None, depth: int) -> None:
        for node in children.get(parent_id, []):
            node.depth = depth
            node.has_children = bool(children.get(node.pk))
            node.points = points(node)
            out.append(node)
            walk(node.pk, depth + 1)

    walk(None, 0)
    return out


def total_points(indicator_set: IndicatorSet) -> Decimal:
    return sum((i.max_points for i in leaves(indicator_set)), Decimal(0))


def _require_draft(indicator_set: IndicatorSet) -> None:
    if indicator_set.status != SetStatus.DRAFT:
        raise ValidationError({"__all__": [_("已发布的指标体系不能修改，请复制为新版本。")]})


def save_indicator(
    actor, indicator_set: IndicatorSet, data: dict, indicator: Indicator | None = None
) -> Indicator:
    """Add or edit one indicator of a draft set."""
    require(actor, MANAGE_EVALUATION)
    _require_draft(indicator_set)
    data = dict(data)
    parent = data.get("parent")
    if parent not in (None, ""):
        if isinstance(parent, int):
            parent = indicator_set.indicators.filter(pk=parent).first()
        elif not isinstance(parent, Indicator):
            # Text is a 指标编号 (codes are often plain numbers such as "2": never read as
            # a primary key, which would pick some other indicator).
            parent = indicator_set.indicators.filter(code=str(parent).strip()).first()
        if parent is None or parent.indicator_set_id != indicator_set.pk:
            raise ValidationError({"parent": [_("上级指标不存在。")]})
        data["parent"] = parent
    else:
        data["parent"] = None
    if "max_points" in data:
        data["max_points"] = _decimal(data["max_points"], "max_points", _("分值")) or Decimal(0)
    obj = indicator or Indicator(indicator_set=indicator_set)

    def check(ind: Indicator, errors: dict[str, list[str]]) -> None:
        if ind.max_points < 0:
            errors["max_points"] = [_("分值不能为负数。")]
        node = ind.parent
        while node is not None:
            if ind.pk and node.pk == ind.pk:
                errors["parent"] = [_("上级指标不能是自身或其下级。")]
                break
            node = node.parent

    return _write(actor, obj, data, INDICATOR_FIELDS, check)


def delete_indicator(actor, indicator: Indicator) -> None:
    require(actor, MANAGE_EVALUATION)
    _require_draft(indicator.indicator_set)
    _delete(actor, indicator, INDICATOR_FIELDS)


def publish_set(actor, indicator_set: IndicatorSet) -> IndicatorSet:
    """发布: freeze the tree so evaluations can be scored against it."""
    require(actor, MANAGE_EVALUATION)
    _require_draft(indicator_set)
    items = leaves(indicator_set)
    if not items:
        raise ValidationError({"__all__": [_("指标体系中没有评分项，不能发布。")]})
    zero = [i.code for i in items if i.max_points <= 0]
    if zero:
        raise ValidationError(
            {"__all__": [_("以下评分项分值为 0：%(codes)s") % {"codes": "、".join(zero)}]}
        )
    total = total_points(indicator_set)
    if indicator_set.excellent_min > total:
        raise ValidationError({"__all__": [_("优秀分数线高于总分 %(t)s，请调整。") % {"t": total}]})
    with transaction.atomic():
        indicator_set.status = SetStatus.PUBLISHED
        indicator_set.published_at = timezone.now()
        indicator_set.save(update_fields=["status", "published_at"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=indicator_set,
            detail={"status": "published", "total_points": str(total), "items": len(items)},
        )
    return indicator_set


def copy_set(actor, indicator_set: IndicatorSet, year: int, name: str = "") -> IndicatorSet:
    """Copy a set's tree and thresholds to ``year`` as a new draft version (沿用上年指标)."""
    require(actor, MANAGE_EVALUATION)
    year = _valid_year(year)
    with transaction.atomic():
        last = IndicatorSet.objects.filter(year=year).aggregate(m=Max("version"))["m"]
        new = IndicatorSet.objects.create(
            year=year,
            version=(last or 0) + 1,
            name=name or indicator_set.name,
            excellent_min=indicator_set.excellent_min,
            good_min=indicator_set.good_min,
            pass_min=indicator_set.pass_min,
            target_excellent_percent=indicator_set.target_excellent_percent,
            note=indicator_set.note,
        )
        mapping: dict[int, Indicator] = {}
        for node in tree(indicator_set):  # parents come before their children
            mapping[node.pk] = Indicator.objects.create(
                indicator_set=new,
                parent=mapping.get(node.parent_id),
                code=node.code,
                title=node.title,
                max_points=node.max_points,
                key_item=node.key_item,
                guidance=node.guidance,
                evidence_required=node.evidence_required,
                sort_order=node.sort_order,
            )
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=new,
            detail={"copied_from": indicator_set.pk, "indicators": len(mapping)},
        )
    return new


XLSX_COLUMNS = ("编号", "上级编号", "指标名称", "分值", "关键项", "评分标准", "佐证材料要求")
_KEY_LABELS = {
    "": "",
    "一般项": "",
    "一票否决": KeyItem.VETO,
    "必备项": KeyItem.REQUIRED,
    "必备": KeyItem.REQUIRED,
    "veto": KeyItem.VETO,
    "required": KeyItem.REQUIRED,
}


def _safe_cell(value: Any) -> Any:
    """Text never read back as a formula (a leading = + - @ is neutralised)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_set_xlsx(actor, indicator_set: IndicatorSet, dest) -> None:
    """The indicator tree as .xlsx (the same columns the import reads); audited."""
    from openpyxl import Workbook

    require(actor, MANAGE_EVALUATION)
    book = Workbook()
    sheet = book.active
    sheet.title = _("指标")
    sheet.append([_(c) for c in XLSX_COLUMNS])
    parents = {i.pk: i.code for i in indicator_set.indicators.all()}
    for node in tree(indicator_set):
        sheet.append(
            [
                _safe_cell(node.code),
                _safe_cell(parents.get(node.parent_id, "")),
                _safe_cell(node.title),
                float(node.max_points),
                str(KeyItem(node.key_item).label) if node.key_item else "",
                _safe_cell(node.guidance),
                _safe_cell(node.evidence_required),
            ]
        )
    book.save(dest)
    record(AuditAction.EXPORT, actor=actor, obj=indicator_set, detail={"format": "xlsx"})


def import_set_xlsx(actor, indicator_set: IndicatorSet, source: BinaryIO) -> int:
    """Replace a draft set's tree with the rows of an .xlsx (columns as ``XLSX_COLUMNS``).
    All rows are checked first; any error refuses the whole file. Returns the row count."""
    from openpyxl import load_workbook

    require(actor, MANAGE_EVALUATION)
    _require_draft(indicator_set)
    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except Exception:
        raise ValidationError(
            {"file": [_("无法读取该文件，请上传 .xlsx 格式的指标表。")]}
        ) from None
    rows = list(book.active.iter_rows(values_only=True))
    if not rows:
        raise ValidationError({"file": [_("文件为空。")]})
    header = [str(c or "").strip() for c in rows[0]]
    try:
        col = {name: header.index(name) for name in XLSX_COLUMNS[:4]}
    except ValueError:
        raise ValidationError(
            {"file": [_("表头须包含：%(cols)s") % {"cols": "、".join(XLSX_COLUMNS[:4])}]}
        ) from None
    for name in XLSX_COLUMNS[4:]:
        col[name] = header.index(name) if name in header else None
    errors: list[str] = []
    parsed: list[dict[str, Any]] = []
    seen: set[str] = set()

    def cell(row, name) -> str:
        index = col.get(name)
        if index is None or index >= len(row) or row[index] is None:
            return ""
        value = row[index]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()

    for number, row in enumerate(rows[1:], start=2):
        if not any(c not in (None, "") for c in row):
            continue
        code, parent, title = cell(row, "编号"), cell(row, "上级编号"), cell(row, "指标名称")
        if not code or not title:
            errors.append(_("第 %(n)d 行：编号和指标名称不能为空。") % {"n": number})
            continue
        if code in seen:
            errors.append(_("第 %(n)d 行：编号 %(c)s 重复。") % {"n": number, "c": code})
            continue
        if parent and parent not in seen:
            errors.append(
                _("第 %(n)d 行：上级编号 %(p)s 须出现在本行之前。") % {"n": number, "p": parent}
            )
            continue
        try:
            points = Decimal(cell(row, "分值") or "0")
            if not points.is_finite() or points < 0:
                raise InvalidOperation
        except InvalidOperation:
            errors.append(_("第 %(n)d 行：分值须为非负数字。") % {"n": number})
            continue
        key_label = cell(row, "关键项")
        if key_label not in _KEY_LABELS:
            errors.append(_("第 %(n)d 行：关键项只能填“一票否决”“必备项”或留空。") % {"n": number})
            continue
        seen.add(code)
        parsed.append(
            {
                "code": code[:20],
                "parent": parent,
                "title": title[:300],
                "max_points": points,
                "key_item": _KEY_LABELS[key_label],
                "guidance": cell(row, "评分标准"),
                "evidence_required": cell(row, "佐证材料要求"),
                "sort_order": number,
            }
        )
    if errors:
        raise ValidationError({"file": errors[:50]})
    if not parsed:
        raise ValidationError({"file": [_("文件中没有指标。")]})
    with transaction.atomic():
        indicator_set.indicators.filter(parent__isnull=False).delete()
        indicator_set.indicators.all().delete()
        by_code: dict[str, Indicator] = {}
        for row in parsed:
            parent_code = row.pop("parent")
            by_code[row["code"]] = Indicator.objects.create(
                indicator_set=indicator_set, parent=by_code.get(parent_code), **row
            )
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=indicator_set,
            detail={"imported_indicators": len(parsed)},
        )
    return len(parsed)


# --- evaluations 测评 ---------------------------------------------------------------------------


def unit_evaluations(unit_id: int | None) -> QuerySet[Evaluation]:
    """One unit's evaluations 本单位测评: what its records officer, or its own system through
    the unit's API token, may read. None for no unit (never "all")."""
    evaluations = Evaluation.objects.select_related("unit", "indicator_set")
    if unit_id is None:
        return evaluations.none()
    return evaluations.filter(unit_id=unit_id)


def visible_evaluations(user) -> QuerySet[Evaluation]:
    """All evaluations for the bureau; a unit records officer sees only his own unit's."""
    if has(user, MANAGE_EVALUATION):
        return Evaluation.objects.select_related("unit", "indicator_set")
    return unit_evaluations(_own_unit(user))


def results_visible(evaluation: Evaluation, *, bureau: bool) -> bool:
    """Whether the inspector's scores, comments per item, total and grade 评审结果 may be shown:
    to the bureau always, to the unit only once published (a draft grade is no result)."""
    return bureau or evaluation.status == EvaluationStatus.PUBLISHED


def filter_evaluations(
    evaluations: QuerySet[Evaluation],
    *,
    bureau: bool,
    year: int | None = None,
    status: str | None = None,
    grade: str | None = None,
) -> QuerySet[Evaluation]:
    """The evaluation list's filters (年度, 状态, 等次), newest year first. For a unit a grade
    filter matches published evaluations only, or filtering would reveal an unpublished grade."""
    if year is not None:
        evaluations = evaluations.filter(year=year)
    if status in EvaluationStatus.values:
        evaluations = evaluations.filter(status=status)
    if grade in Grade.values:
        evaluations = evaluations.filter(grade=grade)
        if not bureau:
            evaluations = evaluations.filter(status=EvaluationStatus.PUBLISHED)
    return evaluations.order_by("-year", "unit__code", "pk")


def indicator_by_code(evaluation: Evaluation, code: str, field: str = "indicator") -> Indicator:
    """The scored indicator 评分项 with 指标编号 ``code`` in the evaluation's set, or a field
    error (a section or another set's code is no item of this evaluation)."""
    score = (
        evaluation.scores.select_related("indicator")
        .filter(indicator__code=str(code or "").strip())
        .first()
    )
    if score is None:
        raise ValidationError(
            {field: [_("指标编号“%(c)s”不是本次测评的评分项。") % {"c": str(code)[:20]}]}
        )
    return score.indicator


def get_evaluation(user, pk) -> Evaluation:
    """Raises Evaluation.DoesNotExist unless ``user`` may see it."""
    try:
        return visible_evaluations(user).get(pk=int(pk))
    except (TypeError, ValueError):
        raise Evaluation.DoesNotExist from None


def is_own_unit(user, unit_id: int | None) -> bool:
    return unit_id is not None and _own_unit(user) == unit_id


def start_evaluations(
    actor, indicator_set: IndicatorSet, units: Iterable[Unit]
) -> list[Evaluation]:
    """Open the self-assessment 自评 of ``units`` against a published set (one evaluation per
    unit and year; units already evaluated that year are skipped)."""
    require(actor, MANAGE_EVALUATION)
    if indicator_set.status != SetStatus.PUBLISHED:
        raise ValidationError({"__all__": [_("请先发布指标体系。")]})
    items = leaves(indicator_set)
    created: list[Evaluation] = []
    with transaction.atomic():
        taken = set(
            Evaluation.objects.filter(year=indicator_set.year).values_list("unit_id", flat=True)
        )
        for unit in units:
            if unit.pk in taken:
                continue
            evaluation = Evaluation.objects.create(
                indicator_set=indicator_set, unit=unit, year=indicator_set.year
            )
            Score.objects.bulk_create(Score(evaluation=evaluation, indicator=i) for i in items)
            record(
                AuditAction.CREATE,
                actor=actor,
                obj=evaluation,
                detail={"indicator_set": indicator_set.pk, "unit": unit.code},
            )
            created.append(evaluation)
            taken.add(unit.pk)
    return created


def scores_of(evaluation: Evaluation) -> list[dict[str, Any]]:
    """The tree with each scored item's Score and evidence, for the evaluation page."""
    scores = {
        s.indicator_id: s
        for s in evaluation.scores.prefetch_related("evidence__object").select_related("indicator")
    }
    rows = []
    for node in tree(evaluation.indicator_set):
        rows.append({"indicator": node, "score": scores.get(node.pk)})
    return rows


def _check_points(indicator: Indicator, value: Decimal | None, field: str) -> None:
    if value is not None and not Decimal(0) <= value <= indicator.max_points:
        raise ValidationError(
            {
                field: [
                    _("%(code)s 的得分须在 0 到 %(max)s 之间。")
                    % {"code": indicator.code, "max": indicator.max_points}
                ]
            }
        )


def _require_self(actor, evaluation: Evaluation) -> None:
    require(actor, RESPOND)
    if not is_own_unit(actor, evaluation.unit_id):
        raise PermissionDenied(_("您只能填写本单位的自评。"))
    if evaluation.status != EvaluationStatus.SELF:
        raise ValidationError({"__all__": [_("自评已提交，不能再修改。")]})


def save_self_scores(actor, evaluation: Evaluation, entries: Scores) -> Evaluation:
    """自评: the unit's own scores and notes, ``{indicator_id: {"self_score", "self_note"}}``."""
    _require_self(actor, evaluation)
    scores = {s.indicator_id: s for s in evaluation.scores.select_related("indicator")}
    changed: dict[str, Any] = {}
    for indicator_id, entry in entries.items():
        score = scores.get(int(indicator_id))
        if score is None:
            raise ValidationError({"__all__": [_("指标不属于本次测评。")]})
        value = _decimal(entry.get("self_score"), "self_score", _("自评分"))
        _check_points(score.indicator, value, "self_score")
        score.self_score = value
        if "self_note" in entry:
            score.self_note = str(entry["self_note"] or "").strip()
        changed[score.indicator.code] = _plain(value)
    with transaction.atomic():
        Score.objects.bulk_update(scores.values(), ["self_score", "self_note"])
        evaluation.self_total = sum(
            (s.self_score for s in scores.values() if s.self_score is not None), Decimal(0)
        )
        evaluation.save(update_fields=["self_total"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=evaluation,
            detail={"self_scores": changed, "self_total": _plain(evaluation.self_total)},
        )
    return evaluation


def _evidence_key(prefix: str, owner_pk: int, filename: str) -> str:
    stem = re.sub(r"[^\w.\-]+", "_", filename, flags=re.UNICODE).strip("._") or "file"
    return f"supervision/{prefix}/{owner_pk}/{uuid.uuid4().hex}-{stem[-80:]}"


def _store_evidence(actor, source: BinaryIO, filename: str, key: str, **owner) -> Evidence:
    from lantai.storage.services import put_file

    filename = (filename or "").strip().replace("/", "_").replace("\\", "_")[:255]
    if not filename:
        raise ValidationError({"file": [_("请选择要上传的文件。")]})
    size = getattr(source, "size", None)
    if size is not None and size > EVIDENCE_MAX_BYTES:
        raise ValidationError({"file": [_("文件过大（上限 200 MB）。")]})
    if size == 0:
        raise ValidationError({"file": [_("文件为空。")]})
    obj = put_file(source, key, purpose="supervision")
    mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    evidence = Evidence.objects.create(
        object=obj, filename=filename, mime=mime, uploaded_by=actor, **owner
    )
    record(
        AuditAction.CREATE,
        actor=actor,
        obj=evidence,
        detail={"file": filename, "size": obj.size, "sha256": obj.sha256, **{
            k: v.pk for k, v in owner.items()}},
    )  # fmt: skip
    return evidence


def add_score_evidence(
    actor, evaluation: Evaluation, indicator_id: int, source: BinaryIO, filename: str
) -> Evidence:
    """佐证材料: a file for one item of the unit's self-assessment, kept by the storage app."""
    _require_self(actor, evaluation)
    score = evaluation.scores.filter(indicator_id=indicator_id).first()
    if score is None:
        raise ValidationError({"indicator": [_("指标不属于本次测评。")]})
    with transaction.atomic():
        return _store_evidence(
            actor, source, filename, _evidence_key("evaluations", evaluation.pk, filename),
            score=score,
        )  # fmt: skip


def submit_self(actor, evaluation: Evaluation) -> Evaluation:
    """提交自评: every item needs a self score; the evaluation goes to review 评审."""
    _require_self(actor, evaluation)
    missing = list(
        evaluation.scores.filter(self_score__isnull=True).values_list("indicator__code", flat=True)
    )
    if missing:
        raise ValidationError(
            {"__all__": [_("以下指标尚未自评：%(codes)s") % {"codes": "、".join(missing[:20])}]}
        )
    with transaction.atomic():
        evaluation.status = EvaluationStatus.REVIEW
        evaluation.self_submitted_at = timezone.now()
        evaluation.self_submitted_by = actor
        evaluation.save(update_fields=["status", "self_submitted_at", "self_submitted_by"])
        record(AuditAction.UPDATE, actor=actor, obj=evaluation, detail={"status": "review"})
    return evaluation


def return_for_self(actor, evaluation: Evaluation, reason: str) -> Evaluation:
    """退回自评: the reviewer sends the self-assessment back with a reason."""
    require(actor, MANAGE_EVALUATION)
    if evaluation.status != EvaluationStatus.REVIEW:
        raise ValidationError({"__all__": [_("只有评审中的测评可以退回。")]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"comment": [_("请填写退回理由。")]})
    with transaction.atomic():
        evaluation.status = EvaluationStatus.SELF
        evaluation.comment = reason
        evaluation.save(update_fields=["status", "comment"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=evaluation,
            detail={"status": "self", "reason": reason},
        )
    return evaluation


def compute_grade(
    indicator_set: IndicatorSet, total: Decimal, failed: Iterable[Indicator]
) -> tuple[str, list[str]]:
    """等次 from the set's thresholds, capped by failed key items: a 一票否决 item never
    allows 优秀 (at most ``VETO_CAP``), a 必备 item at most ``REQUIRED_CAP``. Returns the grade
    and the codes of the failed key items."""
    if total >= indicator_set.excellent_min:
        grade = Grade.EXCELLENT
    elif total >= indicator_set.good_min:
        grade = Grade.GOOD
    elif total >= indicator_set.pass_min:
        grade = Grade.PASS
    else:
        grade = Grade.FAIL
    codes = []
    for indicator in failed:
        cap = {KeyItem.VETO: VETO_CAP, KeyItem.REQUIRED: REQUIRED_CAP}.get(indicator.key_item)
        if cap is None:
            continue
        codes.append(indicator.code)
        if GRADE_ORDER.index(grade) < GRADE_ORDER.index(cap):
            grade = cap
    return grade, codes


def _recompute(evaluation: Evaluation) -> None:
    scores = list(evaluation.scores.select_related("indicator"))
    scored = [s for s in scores if s.score is not None]
    evaluation.total = sum((s.score for s in scored), Decimal(0)) if scored else None
    if evaluation.total is None:
        evaluation.grade, evaluation.key_failed = "", ""
        return
    grade, codes = compute_grade(
        evaluation.indicator_set,
        evaluation.total,
        [s.indicator for s in scores if s.failed and s.indicator.key_item],
    )
    evaluation.grade = grade
    evaluation.key_failed = "、".join(codes)[:300]


def save_review(actor, evaluation: Evaluation, entries: Scores, comment: str | None = None):
    """评审: the inspector's scores, comments and failed key items,
    ``{indicator_id: {"score", "comment", "failed"}}``; total and grade follow."""
    require(actor, MANAGE_EVALUATION)
    if evaluation.status != EvaluationStatus.REVIEW:
        raise ValidationError({"__all__": [_("只有评审中的测评可以评分。")]})
    scores = {s.indicator_id: s for s in evaluation.scores.select_related("indicator")}
    changed: dict[str, Any] = {}
    for indicator_id, entry in entries.items():
        score = scores.get(int(indicator_id))
        if score is None:
            raise ValidationError({"__all__": [_("指标不属于本次测评。")]})
        value = _decimal(entry.get("score"), "score", _("评审分"))
        _check_points(score.indicator, value, "score")
        score.score = value
        if "comment" in entry:
            score.comment = str(entry["comment"] or "").strip()
        score.failed = bool(entry.get("failed")) and bool(score.indicator.key_item)
        changed[score.indicator.code] = {"score": _plain(value), "failed": score.failed}
    with transaction.atomic():
        Score.objects.bulk_update(scores.values(), ["score", "comment", "failed"])
        if comment is not None:
            evaluation.comment = comment.strip()
        evaluation.reviewed_by = actor
        _recompute(evaluation)
        evaluation.save(update_fields=["total", "grade", "key_failed", "comment", "reviewed_by"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=evaluation,
            detail={
                "scores": changed,
                "total": _plain(evaluation.total),
                "grade": evaluation.grade,
            },
        )
    return evaluation


def publish_evaluation(actor, evaluation: Evaluation) -> Evaluation:
    """公布: every item scored by the inspector; the grade is final."""
    require(actor, MANAGE_EVALUATION)
    if evaluation.status != EvaluationStatus.REVIEW:
        raise ValidationError({"__all__": [_("只有评审中的测评可以公布。")]})
    missing = list(
        evaluation.scores.filter(score__isnull=True).values_list("indicator__code", flat=True)
    )
    if missing:
        raise ValidationError(
            {"__all__": [_("以下指标尚未评分：%(codes)s") % {"codes": "、".join(missing[:20])}]}
        )
    with transaction.atomic():
        _recompute(evaluation)
        evaluation.status = EvaluationStatus.PUBLISHED
        evaluation.published_at = timezone.now()
        evaluation.save(update_fields=["total", "grade", "key_failed", "status", "published_at"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=evaluation,
            detail={
                "status": "published",
                "total": _plain(evaluation.total),
                "grade": evaluation.grade,
            },
        )
    return evaluation


def grade_counts(year: int) -> dict[str, int]:
    """Published evaluations of ``year`` per grade (every grade present, 0 when none)."""
    counts = dict.fromkeys(Grade.values, 0)
    for row in (
        Evaluation.objects.filter(year=year, status=EvaluationStatus.PUBLISHED)
        .order_by()
        .values("grade")
        .annotate(n=Count("pk"))
    ):
        if row["grade"] in counts:
            counts[row["grade"]] = row["n"]
    return counts


def grade_history(actor, years: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Per year: published evaluations per grade, the share of each grade (%) and the set's
    excellent-share target 优秀率目标 — the district-wide chart, for the bureau only."""
    require(actor, MANAGE_EVALUATION)
    if years is None:
        years = sorted(
            set(
                Evaluation.objects.filter(status=EvaluationStatus.PUBLISHED).values_list(
                    "year", flat=True
                )
            )
        )
    rows = []
    for year in years:
        counts = grade_counts(year)
        total = sum(counts.values())
        target = (
            IndicatorSet.objects.filter(year=year, status=SetStatus.PUBLISHED)
            .order_by("-version")
            .values_list("target_excellent_percent", flat=True)
            .first()
        )
        rows.append(
            {
                "year": year,
                "counts": counts,
                "total": total,
                "shares": {
                    g: (round(n * 100 / total, 1) if total else 0.0) for g, n in counts.items()
                },
                "target": float(target) if target is not None else None,
            }
        )
    return rows


# --- evidence files (evaluations and rectifications) -------------------------------------------


def open_evidence(user, evidence: Evidence) -> tuple[BinaryIO, Evidence]:
    """An evidence file's bytes, for people who may see what it belongs to; audited."""
    from lantai.storage.services import open_object

    if evidence.score_id:
        allowed = visible_evaluations(user).filter(scores=evidence.score_id).exists()
    else:
        allowed = visible_rectifications(user).filter(pk=evidence.rectification_id).exists()
    if not allowed:
        raise PermissionDenied(_("您无权查看该文件。"))
    stream = open_object(evidence.object)
    record(AuditAction.DOWNLOAD, actor=user, obj=evidence, detail={"file": evidence.filename})
    return stream, evidence


# --- inspections 执法检查 -----------------------------------------------------------------------

INSPECTION_FIELDS = (
    "kind",
    "plan_year",
    "unit",
    "subject",
    "planned_date",
    "inspected_on",
    "summary",
)


def unit_inspections(unit_id: int | None) -> QuerySet[Inspection]:
    """One unit's inspections once carried out (a planned visit is not announced through the
    system): what its records officer or its API token may read. None for no unit."""
    inspections = Inspection.objects.select_related("unit")
    if unit_id is None:
        return inspections.none()
    return inspections.filter(unit_id=unit_id).exclude(status=InspectionStatus.PLANNED)


def visible_inspections(user) -> QuerySet[Inspection]:
    """All for inspectors; a unit officer sees his own unit's once inspected."""
    if has(user, INSPECT):
        return Inspection.objects.select_related("unit")
    return unit_inspections(_own_unit(user))


def filter_inspections(
    inspections: QuerySet[Inspection],
    *,
    year: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    overdue: bool = False,
    today: date | None = None,
) -> QuerySet[Inspection]:
    """The inspection list's filters: 计划年度, 检查类型, 状态, and only those with an order
    overdue 逾期未整改."""
    if year is not None:
        inspections = inspections.filter(plan_year=year)
    if kind in InspectionKind.values:
        inspections = inspections.filter(kind=kind)
    if status in InspectionStatus.values:
        inspections = inspections.filter(status=status)
    if overdue:
        today = today or timezone.localdate()
        inspections = inspections.filter(
            rectifications__status=RectificationStatus.ISSUED, rectifications__deadline__lt=today
        ).distinct()
    return inspections


def get_inspection(user, pk) -> Inspection:
    try:
        return visible_inspections(user).get(pk=int(pk))
    except (TypeError, ValueError):
        raise Inspection.DoesNotExist from None


def _resolve_unit(value) -> Unit | None:
    if value in (None, ""):
        return None
    if isinstance(value, Unit):
        return value
    unit = Unit.objects.filter(
        Q(code=str(value)) | Q(pk=int(value) if str(value).isdigit() else -1)
    ).first()
    if unit is None:
        raise ValidationError({"unit": [_("单位“%(v)s”不存在。") % {"v": value}]})
    return unit


def save_inspection(actor, data: dict, inspection: Inspection | None = None, inspectors=None):
    """Plan (年度计划) or record an ad-hoc inspection; ``inspectors`` are users."""
    require(actor, INSPECT)
    data = dict(data)
    if "unit" in data:
        data["unit"] = _resolve_unit(data["unit"])
    if inspection is not None and inspection.status == InspectionStatus.CLOSED:
        raise ValidationError({"__all__": [_("检查已办结，不能修改。")]})
    obj = inspection or Inspection(number="")
    with transaction.atomic():
        if obj.pk is None:
            year = _valid_year(data.get("plan_year"), "plan_year")
            obj.number = _next_number("JC", year, Inspection)
        obj = _write(actor, obj, data, INSPECTION_FIELDS)
        if inspectors is not None:
            obj.inspectors.set(inspectors)
        if obj.inspected_on and obj.status == InspectionStatus.PLANNED:
            obj.status = InspectionStatus.DONE
            obj.save(update_fields=["status"])
    return obj


def add_finding(actor, inspection: Inspection, description: str, basis: str = "") -> Finding:
    """检查发现: recording one also marks the inspection as carried out."""
    require(actor, INSPECT)
    if inspection.status == InspectionStatus.CLOSED:
        raise ValidationError({"__all__": [_("检查已办结，不能修改。")]})
    description = (description or "").strip()
    if not description:
        raise ValidationError({"description": [_("请填写问题描述。")]})
    with transaction.atomic():
        finding = Finding.objects.create(
            inspection=inspection, description=description, basis=(basis or "").strip()[:300]
        )
        if inspection.status == InspectionStatus.PLANNED:
            inspection.status = InspectionStatus.DONE
            inspection.inspected_on = inspection.inspected_on or timezone.localdate()
            inspection.save(update_fields=["status", "inspected_on"])
        record(
            AuditAction.CREATE, actor=actor, obj=finding, detail={"inspection": inspection.number}
        )
    return finding


def issue_rectification(
    actor, inspection: Inspection, requirement: str, deadline: date, finding: Finding | None = None
) -> Rectification:
    """整改通知: what the unit must put right, by when."""
    require(actor, INSPECT)
    if inspection.status == InspectionStatus.CLOSED:
        raise ValidationError({"__all__": [_("检查已办结，不能修改。")]})
    requirement = (requirement or "").strip()
    errors: dict[str, list[str]] = {}
    if not requirement:
        errors["requirement"] = [_("请填写整改要求。")]
    if not isinstance(deadline, date):
        errors["deadline"] = [_("请填写整改期限。")]
    if finding is not None and finding.inspection_id != inspection.pk:
        errors["finding"] = [_("问题不属于本次检查。")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rect = Rectification.objects.create(
            inspection=inspection,
            finding=finding,
            number=_next_number("ZG", inspection.plan_year, Rectification),
            requirement=requirement,
            deadline=deadline,
        )
        if inspection.status == InspectionStatus.PLANNED:
            inspection.status = InspectionStatus.DONE
            inspection.inspected_on = inspection.inspected_on or timezone.localdate()
            inspection.save(update_fields=["status", "inspected_on"])
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=rect,
            detail={"inspection": inspection.number, "deadline": deadline.isoformat()},
        )
    return rect


def unit_rectifications(unit_id: int | None) -> QuerySet[Rectification]:
    """Rectification orders 整改通知 of one unit's visible inspections."""
    rects = Rectification.objects.select_related("inspection", "inspection__unit")
    return rects.filter(inspection__in=unit_inspections(unit_id))


def visible_rectifications(user) -> QuerySet[Rectification]:
    if has(user, INSPECT):
        return Rectification.objects.select_related("inspection", "inspection__unit")
    return unit_rectifications(_own_unit(user))


def filter_rectifications(
    rects: QuerySet[Rectification], *, status: str | None = None, overdue: bool = False
) -> QuerySet[Rectification]:
    """The rectification list's filters (状态, 逾期), earliest deadline first."""
    if status in RectificationStatus.values:
        rects = rects.filter(status=status)
    if overdue:
        rects = rects.filter(overdue_q())
    return rects.order_by("deadline", "pk")


def overdue_q(today: date | None = None) -> Q:
    """Rectifications still awaiting the unit's response after their deadline 逾期未整改."""
    today = today or timezone.localdate()
    return Q(status=RectificationStatus.ISSUED, deadline__lt=today)


def overdue_count(user) -> int:
    return visible_rectifications(user).filter(overdue_q()).count()


def respond_rectification(
    actor, rect: Rectification, response: str, files: Iterable[tuple[BinaryIO, str]] = ()
) -> Rectification:
    """整改反馈: the unit describes what it did and attaches evidence."""
    require(actor, RESPOND)
    if not is_own_unit(actor, rect.inspection.unit_id):
        raise PermissionDenied(_("您只能反馈本单位的整改通知。"))
    if rect.status != RectificationStatus.ISSUED:
        raise ValidationError({"__all__": [_("该整改通知当前不需要反馈。")]})
    response = (response or "").strip()
    if not response:
        raise ValidationError({"response": [_("请填写整改情况。")]})
    with transaction.atomic():
        for source, name in files:
            _store_evidence(
                actor, source, name, _evidence_key("rectifications", rect.pk, name),
                rectification=rect,
            )  # fmt: skip
        rect.response = response
        rect.status = RectificationStatus.RESPONDED
        rect.responded_at = timezone.now()
        rect.responded_by = actor
        rect.save(update_fields=["response", "status", "responded_at", "responded_by"])
        record(AuditAction.UPDATE, actor=actor, obj=rect, detail={"status": "responded"})
    return rect


def verify_rectification(
    actor, rect: Rectification, *, accepted: bool, note: str = "", new_deadline: date | None = None
) -> Rectification:
    """验收: accept the response (closed) or send it back for more work (issued again,
    optionally with a new deadline)."""
    require(actor, INSPECT)
    if rect.status != RectificationStatus.RESPONDED:
        raise ValidationError({"__all__": [_("只有已反馈的整改可以验收。")]})
    note = (note or "").strip()
    if not accepted and not note:
        raise ValidationError({"note": [_("退回整改须说明理由。")]})
    with transaction.atomic():
        rect.verification_note = note
        rect.verified_by = actor
        if accepted:
            rect.status = RectificationStatus.CLOSED
            rect.closed_at = timezone.now()
        else:
            rect.status = RectificationStatus.ISSUED
            if new_deadline:
                rect.deadline = new_deadline
        rect.save()
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=rect,
            detail={"status": rect.status, "note": note, "deadline": rect.deadline.isoformat()},
        )
    return rect


def close_inspection(actor, inspection: Inspection) -> Inspection:
    """办结: every rectification order verified."""
    require(actor, INSPECT)
    if inspection.status != InspectionStatus.DONE:
        raise ValidationError({"__all__": [_("只有已检查的检查可以办结。")]})
    if inspection.rectifications.exclude(status=RectificationStatus.CLOSED).exists():
        raise ValidationError({"__all__": [_("尚有整改未验收，不能办结。")]})
    with transaction.atomic():
        inspection.status = InspectionStatus.CLOSED
        inspection.save(update_fields=["status"])
        record(AuditAction.UPDATE, actor=actor, obj=inspection, detail={"status": "closed"})
    return inspection


# --- training 培训 and professionals 专业人员 ---------------------------------------------------

SESSION_FIELDS = ("course", "date", "hours", "trainer", "place", "description")
PROFESSIONAL_FIELDS = (
    "name",
    "unit",
    "position",
    "title",
    "qualifications",
    "specialties",
    "certificates",
    "phone",
    "active",
)


def _check_session(session: TrainingSession, errors: dict[str, list[str]]) -> None:
    if session.hours is not None and not Decimal(0) < session.hours <= 1000:
        errors["hours"] = [_("学时须大于 0。")]


def save_session(actor, data: dict, session: TrainingSession | None = None) -> TrainingSession:
    require(actor, MANAGE_TRAINING)
    data = dict(data)
    if "hours" in data:
        data["hours"] = _decimal(data["hours"], "hours", _("学时"))
    return _write(actor, session or TrainingSession(), data, SESSION_FIELDS, _check_session)


def delete_session(actor, session: TrainingSession) -> None:
    require(actor, MANAGE_TRAINING)
    with transaction.atomic():
        session.attendances.all().delete()
        _delete(actor, session, SESSION_FIELDS)


def _match_professional(name: str, unit: Unit | None) -> Professional | None:
    return Professional.objects.filter(name=name, unit=unit).order_by("pk").first()


def _attendance(session: TrainingSession, name: str, unit_value, certificate_no: str) -> Attendance:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("请填写姓名。")]})
    unit = None
    unit_name = ""
    if isinstance(unit_value, Unit):
        unit = unit_value
    elif unit_value not in (None, ""):
        text = str(unit_value).strip()
        unit = Unit.objects.filter(Q(code=text) | Q(name=text)).first()
        unit_name = text if unit is None else ""
    if unit is not None:
        unit_name = unit.name
    return Attendance(
        session=session,
        name=name[:50],
        unit=unit,
        unit_name=unit_name[:200],
        professional=_match_professional(name, unit),
        certificate_no=(certificate_no or "").strip()[:60],
    )


def add_attendance(
    actor, session: TrainingSession, name: str, unit=None, certificate_no: str = ""
) -> Attendance:
    """参训人员: one person (from a unit; matched to the register when name and unit agree)."""
    require(actor, MANAGE_TRAINING)
    attendance = _attendance(session, name, unit, certificate_no)
    if session.attendances.filter(name=attendance.name, unit_name=attendance.unit_name).exists():
        raise ValidationError({"name": [_("%(n)s 已在本次培训名单中。") % {"n": attendance.name}]})
    with transaction.atomic():
        attendance.save()
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=attendance,
            detail={"session": session.pk, "unit": attendance.unit_name},
        )
    return attendance


def remove_attendance(actor, attendance: Attendance) -> None:
    require(actor, MANAGE_TRAINING)
    _delete(actor, attendance, ("session", "name", "unit_name", "certificate_no"))


ATTENDANCE_COLUMNS = ("姓名", "单位", "证书编号")


def import_attendance_xlsx(actor, session: TrainingSession, source: BinaryIO) -> int:
    """Attendance from an .xlsx sign-in sheet (姓名, 单位 (name or code), 证书编号): all rows
    or none; people already listed are refused with their row number."""
    from openpyxl import load_workbook

    require(actor, MANAGE_TRAINING)
    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except Exception:
        raise ValidationError(
            {"file": [_("无法读取该文件，请上传 .xlsx 格式的签到表。")]}
        ) from None
    rows = list(book.active.iter_rows(values_only=True))
    header = [str(c or "").strip() for c in (rows[0] if rows else ())]
    if "姓名" not in header:
        raise ValidationError({"file": [_("表头须包含“姓名”列（可选“单位”“证书编号”）。")]})
    col = {name: (header.index(name) if name in header else None) for name in ATTENDANCE_COLUMNS}

    def cell(row, name) -> str:
        index = col[name]
        if index is None or index >= len(row) or row[index] is None:
            return ""
        value = row[index]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()

    existing = set(session.attendances.values_list("name", "unit_name"))
    errors: list[str] = []
    new: list[Attendance] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(c not in (None, "") for c in row):
            continue
        name = cell(row, "姓名")
        if not name:
            errors.append(_("第 %(n)d 行：姓名不能为空。") % {"n": number})
            continue
        attendance = _attendance(session, name, cell(row, "单位"), cell(row, "证书编号"))
        key = (attendance.name, attendance.unit_name)
        if key in existing:
            errors.append(_("第 %(n)d 行：%(name)s 重复。") % {"n": number, "name": name})
            continue
        existing.add(key)
        new.append(attendance)
    if errors:
        raise ValidationError({"file": errors[:50]})
    if not new:
        raise ValidationError({"file": [_("文件中没有参训人员。")]})
    with transaction.atomic():
        Attendance.objects.bulk_create(new)
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=session,
            detail={"imported_attendances": len(new)},
        )
    return len(new)


def hours_by_person(actor, year: int) -> list[dict[str, Any]]:
    """Per person (name and unit) the sessions attended and training hours in ``year``."""
    require(actor, MANAGE_TRAINING)
    rows = (
        Attendance.objects.filter(session__date__year=year)
        .order_by()
        .values("name", "unit_name")
        .annotate(sessions=Count("pk"), hours=Sum("session__hours"))
        .order_by("-hours", "unit_name", "name")
    )
    return [dict(r) for r in rows]


def save_professional(actor, data: dict, professional: Professional | None = None) -> Professional:
    require(actor, MANAGE_TRAINING)
    data = dict(data)
    if "unit" in data:
        data["unit"] = _resolve_unit(data["unit"])
    return _write(actor, professional or Professional(), data, PROFESSIONAL_FIELDS)


def unit_attendances(unit_id: int | None) -> QuerySet[Attendance]:
    """Training records 参训记录 of one unit's people (matched to the unit, not by a typed unit
    name): what its records officer or its API token may read. None for no unit."""
    attendances = Attendance.objects.select_related("session", "unit")
    if unit_id is None:
        return attendances.none()
    return attendances.filter(unit_id=unit_id)


def visible_attendances(user) -> QuerySet[Attendance]:
    """Every training record for the bureau; a unit records officer reads his unit's."""
    if has(user, MANAGE_TRAINING):
        return Attendance.objects.select_related("session", "unit")
    return unit_attendances(_own_unit(user))


def sessions_of(attendances: QuerySet[Attendance]) -> QuerySet[TrainingSession]:
    """The training sessions 培训 those records belong to, newest first."""
    return TrainingSession.objects.filter(
        pk__in=attendances.order_by().values("session_id")
    ).order_by("-date", "-id")


def visible_sessions(user) -> QuerySet[TrainingSession]:
    """Every session for the bureau; a unit records officer sees those his people attended."""
    if has(user, MANAGE_TRAINING):
        return TrainingSession.objects.order_by("-date", "-id")
    return sessions_of(visible_attendances(user))


def visible_professionals(user) -> QuerySet[Professional]:
    """The register is the bureau's: people with training management (supervisors)."""
    if not has(user, MANAGE_TRAINING):
        return Professional.objects.none()
    return Professional.objects.select_related("unit")


# --- dashboard ---------------------------------------------------------------------------------


def overview(user) -> dict[str, Any]:
    """Counts for the 业务指导 home page, each scoped to what ``user`` may see."""
    year = timezone.localdate().year
    data: dict[str, Any] = {"year": year}
    evaluations = visible_evaluations(user)
    data["evaluations"] = evaluations.filter(year=year).count()
    data["evaluations_self"] = evaluations.filter(status=EvaluationStatus.SELF).count()
    data["evaluations_review"] = evaluations.filter(status=EvaluationStatus.REVIEW).count()
    data["inspections"] = visible_inspections(user).filter(plan_year=year).count()
    data["rectifications_open"] = (
        visible_rectifications(user).exclude(status=RectificationStatus.CLOSED).count()
    )
    data["overdue"] = overdue_count(user)
    if has(user, MANAGE_TRAINING):
        data["sessions"] = TrainingSession.objects.filter(date__year=year).count()
        data["professionals"] = Professional.objects.filter(active=True).count()
    return data
