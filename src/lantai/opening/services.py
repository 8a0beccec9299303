"""Opening review services 开放鉴定服务: what is due (到期应鉴定), review batches (鉴定批次),
per-record decisions (开放 / 延期开放 / 控制使用), the creating unit's opinion (形成单位意见),
approval (审批) that applies the decisions to holdings, and the yearly report.

Rules kept here, so that the screens, the API and the CLI refuse the same things:

- A record is due when ``year + category.opening_years <= review year`` (档案法 Art. 27: 25
  years by default, per 门类 configurable) and it is 未鉴定, or when its 延期开放 runs out.
- A batch entry is one volume (its 卷内文件 follow its decision) or one standalone item, so
  batches and the report count in 卷(件).
- Reasons are required for 延期开放 and 控制使用, and for opening early (提前开放).
- The approver holds ``opening.approve_review`` and is neither the batch's creator nor any of
  its reviewers; approval writes every record through ``holdings.services.update_item`` /
  ``update_volume`` (each audited, 档号 untouched) in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.core.permissions import has, require
from lantai.holdings import services as holdings
from lantai.holdings.models import Category, Fonds, Item, NumberSequence, Openness, Unit, Volume
from lantai.opening.models import (
    DECISION_OPENNESS,
    BatchStatus,
    Decision,
    Deferral,
    OpinionKind,
    ReviewBatch,
    ReviewEntry,
    UnitOpinion,
)

REVIEW = "opening.review"
APPROVE = "opening.approve_review"
OPINION = "opening.record_opinion"

PENDING = (BatchStatus.DRAFT, BatchStatus.SUBMITTED)


def batch_limit() -> int:
    """Most 卷(件) in one batch: approval writes each record with its audit entry in one
    transaction, so a batch stays a day's work, not the whole stock."""
    return int(getattr(settings, "LANTAI_OPENING_BATCH_MAX", 2000))


def opinion_required() -> bool:
    """Whether every creating unit must give its opinion before a batch is submitted."""
    return bool(getattr(settings, "LANTAI_OPENING_REQUIRE_OPINION", False))


def this_year() -> int:
    return timezone.localdate().year


def _year(value: Any, label: str) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise ValidationError({label: [_("年度必须是四位数字")]}) from None
    if not 1000 <= year <= 9999:
        raise ValidationError({label: [_("年度必须是四位数字")]})
    return year


# --- what is due --------------------------------------------------------------------------------


def _term_q(review_year: int) -> Q:
    """(category, year) ranges that reached their opening term by ``review_year``: one range
    per distinct 开放期限, so the planners use the (category, year) indexes."""
    by_years: dict[int, list[int]] = defaultdict(list)
    for pk, years in Category.objects.values_list("pk", "opening_years"):
        by_years[years].append(pk)
    q = Q(pk__in=[])
    for years, pks in by_years.items():
        q |= Q(category_id__in=sorted(pks), year__lte=review_year - years)
    return q


def _filtered(queryset, fonds=None, category=None, year=None):
    if fonds:
        queryset = queryset.filter(fonds_id=getattr(fonds, "pk", fonds))
    if category:
        queryset = queryset.filter(category_id=getattr(category, "pk", category))
    if year:
        queryset = queryset.filter(year=year)
    return queryset


def _due(base: QuerySet, field: str, review_year: int, filters: dict, part: str = ""):
    """Records of ``base`` due in ``review_year``. ``part`` "term" (未鉴定 past the term) or
    "deferred" (延期开放 ended) gives one of the two disjoint halves, "" both.

    The records already in an unfinished batch are excluded with one uncorrelated
    ``NOT IN (…)`` over the opening app's own table (a few thousand ids at most): a
    correlated NOT EXISTS per row made counting half a million due items take seconds.
    """
    ended = Deferral.objects.filter(
        **{f"{field}__isnull": False, "until_year__lte": review_year}
    ).values(f"{field}_id")
    term_q = Q(openness=Openness.UNREVIEWED) & _term_q(review_year)
    # A deferred record is 控制使用 until reviewed again, so the halves never overlap.
    deferred_q = Q(openness=Openness.RESTRICTED, pk__in=ended)
    q = {"term": term_q, "deferred": deferred_q}.get(part, term_q | deferred_q)
    pending = ReviewEntry.objects.filter(
        batch__status__in=PENDING, **{f"{field}__isnull": False}
    ).values(f"{field}_id")
    return _filtered(base.filter(q).exclude(pk__in=pending), **filters)


def due_items(user, review_year: int, *, fonds=None, category=None, year=None) -> QuerySet[Item]:
    """Standalone items due for review in ``review_year`` (未鉴定 past their term, or 延期开放
    ending by then), not already in an unfinished batch."""
    require(user, REVIEW)
    base = holdings.visible_items(user).filter(volume__isnull=True)
    filters = {"fonds": fonds, "category": category, "year": year}
    return _due(base, "item", review_year, filters)


def due_volumes(
    user, review_year: int, *, fonds=None, category=None, year=None
) -> QuerySet[Volume]:
    """Volumes due for review in ``review_year``, by the same rules as ``due_items``."""
    require(user, REVIEW)
    filters = {"fonds": fonds, "category": category, "year": year}
    return _due(holdings.visible_volumes(user), "volume", review_year, filters)


def _per_category(queryset) -> dict[int, int]:
    return dict(
        queryset.order_by()
        .values_list("category_id")
        .annotate(n=Count("pk"))
        .values_list("category_id", "n")
    )


def due_summary(user, review_year: int, **filters) -> dict[str, Any]:
    """Counts of what is due, per category (卷, 件, 卷(件)). Each half (term, deferred) is
    counted on its own: an OR of the two kept the planners off the (category, year) index."""
    require(user, REVIEW)
    filters = {k: filters.get(k) for k in ("fonds", "category", "year")}
    items_base = holdings.visible_items(user).filter(volume__isnull=True)
    volumes_base = holdings.visible_volumes(user)
    per_items: dict[int, int] = defaultdict(int)
    per_volumes: dict[int, int] = defaultdict(int)
    for part in ("term", "deferred"):
        for pk, n in _per_category(_due(items_base, "item", review_year, filters, part)).items():
            per_items[pk] += n
        for pk, n in _per_category(
            _due(volumes_base, "volume", review_year, filters, part)
        ).items():
            per_volumes[pk] += n
    categories = Category.objects.in_bulk(set(per_items) | set(per_volumes))
    rows = [
        {
            "category": categories[pk],
            "items": per_items.get(pk, 0),
            "volumes": per_volumes.get(pk, 0),
            "total": per_items.get(pk, 0) + per_volumes.get(pk, 0),
        }
        for pk in sorted(categories, key=lambda k: (categories[k].sort_order, categories[k].code))
    ]
    return {
        "review_year": review_year,
        "rows": rows,
        "items": sum(per_items.values()),
        "volumes": sum(per_volumes.values()),
        "total": sum(per_items.values()) + sum(per_volumes.values()),
    }


# --- batches ----------------------------------------------------------------------------------


def visible_batches(user) -> QuerySet[ReviewBatch]:
    """Batches ``user`` may see: all for reviewers and approvers; for a unit records officer
    only batches holding records of their own unit."""
    batches = ReviewBatch.objects.select_related("created_by", "approved_by")
    if has(user, REVIEW) or has(user, APPROVE):
        return batches
    if has(user, OPINION) and getattr(user, "unit_id", None):
        return batches.filter(
            Exists(ReviewEntry.objects.filter(batch=OuterRef("pk"), unit_id=user.unit_id))
        )
    return batches.none()


def get_batch(user, pk) -> ReviewBatch:
    """The batch ``pk`` if visible to ``user``; ReviewBatch.DoesNotExist otherwise."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise ReviewBatch.DoesNotExist from None
    return visible_batches(user).get(pk=key)


def is_staff_reviewer(user) -> bool:
    return has(user, REVIEW) or has(user, APPROVE)


def batch_entries(user, batch: ReviewBatch) -> QuerySet[ReviewEntry]:
    """The entries of ``batch`` that ``user`` may see (a unit officer: their unit's only)."""
    entries = batch.entries.select_related("category", "fonds", "unit", "decided_by")
    if is_staff_reviewer(user):
        return entries
    if has(user, OPINION) and getattr(user, "unit_id", None):
        return entries.filter(unit_id=user.unit_id)
    return entries.none()


def batch_counts(entries: QuerySet[ReviewEntry]) -> dict[str, int]:
    counted = entries.order_by().aggregate(
        total=Count("pk"),
        undecided=Count("pk", filter=Q(decision="")),
        open=Count("pk", filter=Q(decision=Decision.OPEN)),
        defer=Count("pk", filter=Q(decision=Decision.DEFER)),
        restrict=Count("pk", filter=Q(decision=Decision.RESTRICT)),
    )
    return counted


def batch_units(batch: ReviewBatch) -> list[dict[str, Any]]:
    """The creating units in a batch with their record counts and opinions."""
    counts = dict(
        batch.entries.order_by()
        .values_list("unit_id")
        .annotate(n=Count("pk"))
        .values_list("unit_id", "n")
    )
    units = Unit.objects.in_bulk(list(counts))
    opinions = {o.unit_id: o for o in batch.opinions.select_related("recorded_by")}
    return [
        {"unit": units[pk], "count": counts[pk], "opinion": opinions.get(pk)}
        for pk in sorted(units, key=lambda k: units[k].code)
    ]


def _next_number(year: int) -> str:
    """``KF-YEAR-NNNN`` from a locked sequence row (distinct under concurrency)."""
    scope = f"opening:KF:{year}"
    NumberSequence.objects.bulk_create([NumberSequence(scope=scope)], ignore_conflicts=True)
    sequence = NumberSequence.objects.select_for_update().get(scope=scope)
    number = sequence.last + 1
    while ReviewBatch.objects.filter(number=f"KF-{year}-{number:04d}").exists():
        number += 1
    sequence.last = number
    sequence.save(update_fields=["last"])
    return f"KF-{year}-{number:04d}"


def _entry_for(batch: ReviewBatch, obj: Item | Volume, fonds_units: dict[int, int]) -> ReviewEntry:
    is_item = isinstance(obj, Item)
    return ReviewEntry(
        batch=batch,
        item=obj if is_item else None,
        volume=None if is_item else obj,
        fonds_id=obj.fonds_id,
        unit_id=fonds_units[obj.fonds_id],
        category_id=obj.category_id,
        year=obj.year,
        reference_code=obj.reference_code or "",
        title=obj.title[:500],
        due_year=obj.year + obj.category.opening_years,
        previous_openness=obj.openness,
    )


def create_batch(
    actor,
    *,
    review_year: Any,
    title: str = "",
    item_ids: Iterable[Any] | None = None,
    volume_ids: Iterable[Any] | None = None,
    filters: dict[str, Any] | None = None,
) -> ReviewBatch:
    """Open a review batch 新建鉴定批次 from a selection (``item_ids``/``volume_ids``: any
    standalone item or volume not yet open, due or early) or from the due list's ``filters``
    (fonds, category, year: the first ``batch_limit()`` due records)."""
    require(actor, REVIEW)
    review_year = _year(review_year, "review_year")
    limit = batch_limit()
    selected = item_ids is not None or volume_ids is not None
    with transaction.atomic():
        if selected:
            item_keys = {holdings._as_pk(v) for v in item_ids or ()}
            volume_keys = {holdings._as_pk(v) for v in volume_ids or ()}
            if None in item_keys or None in volume_keys:
                raise ValidationError({NON_FIELD_ERRORS: [_("所选档案编号不正确")]})
            if len(item_keys) + len(volume_keys) > limit:
                raise ValidationError(
                    {NON_FIELD_ERRORS: [_("一个批次最多 %(n)d 卷(件)，请分批鉴定") % {"n": limit}]}
                )
            items = list(
                holdings.visible_items(actor)
                .filter(pk__in=item_keys, volume__isnull=True)
                .exclude(openness=Openness.OPEN)
                .select_related("category")
            )
            volumes = list(
                holdings.visible_volumes(actor)
                .filter(pk__in=volume_keys)
                .exclude(openness=Openness.OPEN)
                .select_related("category")
            )
            if len(items) != len(item_keys) or len(volumes) != len(volume_keys):
                raise ValidationError(
                    {NON_FIELD_ERRORS: [_("所选档案中有不存在、已开放、属于案卷或无权查看的记录")]}
                )
            busy = ReviewEntry.objects.filter(batch__status__in=PENDING).filter(
                Q(item_id__in=item_keys) | Q(volume_id__in=volume_keys)
            )
            busy_codes = list(busy.values_list("reference_code", flat=True)[:10])
            if busy_codes:
                raise ValidationError(
                    {
                        NON_FIELD_ERRORS: [
                            _("以下档案已在未完成的鉴定批次中：%(c)s")
                            % {"c": "、".join(c or "—" for c in busy_codes)}
                        ]
                    }
                )
        else:
            filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
            unknown = set(filters) - {"fonds", "category", "year"}
            if unknown:
                raise ValidationError({NON_FIELD_ERRORS: [_("筛选条件不正确")]})
            volumes = list(
                due_volumes(actor, review_year, **filters)
                .select_related("category")
                .order_by("fonds_id", "category_id", "year", "pk")[:limit]
            )
            items = list(
                due_items(actor, review_year, **filters)
                .select_related("category")
                .order_by("fonds_id", "category_id", "year", "pk")[: limit - len(volumes)]
            )
        if not items and not volumes:
            raise ValidationError({NON_FIELD_ERRORS: [_("没有可鉴定的档案")]})
        batch = ReviewBatch.objects.create(
            number=_next_number(review_year),
            title=(title or "").strip()[:200],
            review_year=review_year,
            created_by=actor,
        )
        batch.reviewers.add(actor)
        fonds_units = dict(
            Fonds.objects.filter(pk__in={o.fonds_id for o in [*items, *volumes]}).values_list(
                "pk", "unit_id"
            )
        )
        ReviewEntry.objects.bulk_create(
            [_entry_for(batch, v, fonds_units) for v in volumes]
            + [_entry_for(batch, i, fonds_units) for i in items],
            batch_size=500,
        )
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=batch,
            detail={
                "review_year": review_year,
                "items": len(items),
                "volumes": len(volumes),
                "filters": {k: getattr(v, "pk", v) for k, v in (filters or {}).items()},
            },
        )
    return batch


def _locked(batch: ReviewBatch) -> ReviewBatch:
    return ReviewBatch.objects.select_for_update().get(pk=batch.pk)


def _entry_label(entry: ReviewEntry) -> str:
    return entry.reference_code or entry.title[:30]


def decide(
    actor,
    batch: ReviewBatch,
    entry_ids: Iterable[Any],
    decision: str,
    *,
    defer_until: Any = None,
    reason: str = "",
) -> int:
    """Record one decision 鉴定意见 for the given entries of a draft batch; each is audited.
    Returns how many entries were decided."""
    require(actor, REVIEW)
    errors: dict[str, list[str]] = defaultdict(list)
    reason = (reason or "").strip()
    if decision not in Decision.values:
        errors["decision"].append(_("请选择鉴定意见"))
    keys = {holdings._as_pk(v) for v in entry_ids}
    if not keys or None in keys:
        errors[NON_FIELD_ERRORS].append(_("请选择要鉴定的条目"))
    until = None
    if decision == Decision.DEFER:
        if defer_until in (None, ""):
            errors["defer_until"].append(_("延期开放须填写延期至年度"))
        else:
            try:
                until = _year(defer_until, "defer_until")
            except ValidationError as exc:
                errors["defer_until"].extend(exc.messages)
            else:
                if until <= batch.review_year:
                    errors["defer_until"].append(
                        _("延期至年度须晚于鉴定年度 %(y)d") % {"y": batch.review_year}
                    )
    if decision in (Decision.DEFER, Decision.RESTRICT) and not reason:
        errors["reason"].append(_("延期开放或控制使用须填写理由"))
    if errors:
        raise ValidationError(dict(errors))
    with transaction.atomic():
        batch = _locked(batch)
        if batch.status != BatchStatus.DRAFT:
            raise ValidationError({NON_FIELD_ERRORS: [_("批次已提交或已审批，不能再修改鉴定意见")]})
        entries = list(batch.entries.filter(pk__in=keys))
        if len(entries) != len(keys):
            raise ValidationError({NON_FIELD_ERRORS: [_("所选条目不属于本批次")]})
        if decision == Decision.OPEN and not reason:
            early = [e for e in entries if e.due_year > batch.review_year]
            if early:
                raise ValidationError(
                    {
                        "reason": [
                            _("%(c)s 等 %(n)d 卷(件)未满开放期限，提前开放须填写理由")
                            % {"c": _entry_label(early[0]), "n": len(early)}
                        ]
                    }
                )
        now = timezone.now()
        for entry in entries:
            before = {
                "decision": entry.decision,
                "defer_until": entry.defer_until,
                "reason": entry.reason,
            }
            entry.decision = decision
            entry.defer_until = until if decision == Decision.DEFER else None
            entry.reason = reason
            entry.decided_by = actor
            entry.decided_at = now
            entry.save(
                update_fields=["decision", "defer_until", "reason", "decided_by", "decided_at"]
            )
            record(
                AuditAction.UPDATE,
                actor=actor,
                obj=entry,
                detail={
                    "batch": batch.number,
                    "record": f"{'item' if entry.item_id else 'volume'}:"
                    f"{entry.item_id or entry.volume_id}",
                    "reference_code": entry.reference_code,
                    "before": before,
                    "decision": decision,
                    "defer_until": entry.defer_until,
                    "reason": reason,
                    "early": decision == Decision.OPEN and entry.due_year > batch.review_year,
                },
            )
        batch.reviewers.add(actor)
    return len(entries)


def record_opinion(
    actor, batch: ReviewBatch, *, kind: str, text: str = "", unit=None
) -> UnitOpinion:
    """Record the creating unit's opinion 形成单位意见 on its records in ``batch``. A unit
    records officer speaks for their own unit; a reviewer may enter an opinion received on
    paper for any unit in the batch."""
    text = (text or "").strip()
    if has(actor, REVIEW) and unit is not None:
        unit_id = getattr(unit, "pk", unit)
    else:
        require(actor, OPINION)
        unit_id = getattr(actor, "unit_id", None)
        if not unit_id:
            raise PermissionDenied(_("您的账户未关联单位"))
    errors: dict[str, list[str]] = {}
    if kind not in OpinionKind.values:
        errors["kind"] = [_("请选择意见")]
    if kind == OpinionKind.OBJECT and not text:
        errors["text"] = [_("有不同意见时须填写意见说明")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        batch = _locked(batch)
        if batch.status == BatchStatus.APPROVED:
            raise ValidationError({NON_FIELD_ERRORS: [_("批次已审批，不能再填写意见")]})
        if not batch.entries.filter(unit_id=unit_id).exists():
            raise PermissionDenied(_("本批次没有该单位的档案"))
        opinion, created = UnitOpinion.objects.update_or_create(
            batch=batch,
            unit_id=unit_id,
            defaults={"kind": kind, "text": text, "recorded_by": actor},
        )
        record(
            AuditAction.CREATE if created else AuditAction.UPDATE,
            actor=actor,
            obj=opinion,
            detail={"batch": batch.number, "unit": unit_id, "kind": kind, "text": text},
        )
    return opinion


def submit(actor, batch: ReviewBatch) -> ReviewBatch:
    """Hand a fully decided batch over for approval 提交审批."""
    require(actor, REVIEW)
    with transaction.atomic():
        batch = _locked(batch)
        if batch.status != BatchStatus.DRAFT:
            raise ValidationError({NON_FIELD_ERRORS: [_("只有鉴定中的批次可以提交")]})
        undecided = batch.entries.filter(decision="").count()
        if undecided:
            raise ValidationError(
                {NON_FIELD_ERRORS: [_("还有 %(n)d 卷(件)未填写鉴定意见") % {"n": undecided}]}
            )
        if opinion_required():
            missing = [row["unit"].name for row in batch_units(batch) if row["opinion"] is None]
            if missing:
                raise ValidationError(
                    {
                        NON_FIELD_ERRORS: [
                            _("以下形成单位尚未提出意见：%(u)s") % {"u": "、".join(missing)}
                        ]
                    }
                )
        batch.status = BatchStatus.SUBMITTED
        batch.submitted_at = timezone.now()
        batch.save(update_fields=["status", "submitted_at"])
        record(AuditAction.UPDATE, actor=actor, obj=batch, detail={"status": batch.status})
    return batch


def can_approve(user, batch: ReviewBatch) -> bool:
    """Whether ``user`` may approve ``batch``: the permission, and never their own review."""
    if not has(user, APPROVE) or user is None:
        return False
    if batch.created_by_id == user.pk:
        return False
    return not batch.reviewers.filter(pk=user.pk).exists()


def return_batch(actor, batch: ReviewBatch, note: str = "") -> ReviewBatch:
    """Send a submitted batch back to its reviewers 退回 with a note."""
    require(actor, APPROVE)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": [_("退回须填写说明")]})
    with transaction.atomic():
        batch = _locked(batch)
        if batch.status != BatchStatus.SUBMITTED:
            raise ValidationError({NON_FIELD_ERRORS: [_("只有待审批的批次可以退回")]})
        if not can_approve(actor, batch):
            raise PermissionDenied(_("审批人不能是本批次的鉴定人"))
        batch.status = BatchStatus.DRAFT
        batch.return_note = note
        batch.submitted_at = None
        batch.save(update_fields=["status", "return_note", "submitted_at"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=batch,
            detail={"status": batch.status, "return_note": note},
        )
    return batch


def _apply(actor, entry: ReviewEntry) -> int:
    """Set the holdings openness of one entry's record (and a volume's items); keep the
    deferral table in step. Returns how many holdings rows were written."""
    openness = DECISION_OPENNESS[Decision(entry.decision)]
    written = 0
    try:
        if entry.item_id:
            item = Item.objects.get(pk=entry.item_id)
            holdings.update_item(actor, item, {"openness": openness})
            written += 1
            target = {"item_id": entry.item_id}
            category_id, fonds_id, year = item.category_id, item.fonds_id, item.year
        else:
            volume = Volume.objects.get(pk=entry.volume_id)
            holdings.update_volume(actor, volume, {"openness": openness})
            written += 1
            # 卷内文件 follow their volume: the public sees an item only if both are open.
            for item in Item.objects.filter(volume_id=volume.pk).order_by("pk"):
                holdings.update_item(actor, item, {"openness": openness})
                written += 1
            target = {"volume_id": entry.volume_id}
            category_id, fonds_id, year = volume.category_id, volume.fonds_id, volume.year
    except ValidationError as exc:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _("%(c)s 无法更新：%(e)s")
                    % {"c": _entry_label(entry), "e": "；".join(exc.messages)}
                ]
            }
        ) from exc
    if entry.decision == Decision.DEFER:
        Deferral.objects.update_or_create(
            **target,
            defaults={
                "until_year": entry.defer_until,
                "entry": entry,
                "category_id": category_id,
                "fonds_id": fonds_id,
                "year": year,
            },
        )
    else:
        Deferral.objects.filter(**target).delete()
    return written


def approval_job(batch: ReviewBatch):
    """The queued or running approval job of ``batch``, if any."""
    from lantai.jobs.models import Job, JobStatus

    return (
        Job.objects.filter(
            kind="opening.approve",
            status__in=(JobStatus.QUEUED, JobStatus.RUNNING),
            params__batch=batch.pk,
        )
        .order_by("-created_at")
        .first()
    )


def request_approval(actor, batch: ReviewBatch, note: str = ""):
    """Check that ``actor`` may approve ``batch`` now and queue the approval job (the
    screens' path: large batches outlast a web request). Returns the job."""
    from lantai.jobs.services import enqueue

    require(actor, APPROVE, holdings.CHANGE)
    batch = ReviewBatch.objects.get(pk=batch.pk)  # the caller's copy may be stale
    if batch.status != BatchStatus.SUBMITTED:
        raise ValidationError({NON_FIELD_ERRORS: [_("只有待审批的批次可以审批")]})
    if not can_approve(actor, batch):
        raise PermissionDenied(_("审批人不能是本批次的鉴定人"))
    if approval_job(batch) is not None:
        raise ValidationError({NON_FIELD_ERRORS: [_("本批次的审批正在进行")]})
    return enqueue("opening.approve", {"batch": batch.pk, "note": note or ""}, user=actor)


def approve(actor, batch: ReviewBatch, note: str = "", *, progress=None) -> ReviewBatch:
    """审批: apply every decision of a submitted batch to holdings in one transaction. The
    approver needs ``opening.approve_review`` (and ``holdings.change_holdings`` to write)
    and must not have reviewed the batch."""
    require(actor, APPROVE, holdings.CHANGE)
    with transaction.atomic():
        batch = _locked(batch)
        if batch.status != BatchStatus.SUBMITTED:
            raise ValidationError({NON_FIELD_ERRORS: [_("只有待审批的批次可以审批")]})
        if not can_approve(actor, batch):
            raise PermissionDenied(_("审批人不能是本批次的鉴定人"))
        written = 0
        total = batch.entries.count()
        for done, entry in enumerate(batch.entries.order_by("pk"), 1):
            written += _apply(actor, entry)
            if progress is not None and (done % 50 == 0 or done == total):
                progress(done, total)
        batch.status = BatchStatus.APPROVED
        batch.approved_by = actor
        batch.approved_at = timezone.now()
        batch.approval_note = (note or "").strip()
        batch.save(update_fields=["status", "approved_by", "approved_at", "approval_note"])
        counts = batch_counts(batch.entries.all())
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=batch,
            detail={
                "status": batch.status,
                "approval_note": batch.approval_note,
                "records_written": written,
                **counts,
            },
        )
    return batch


# --- report ---------------------------------------------------------------------------------


def _approved_entries() -> QuerySet[ReviewEntry]:
    return ReviewEntry.objects.filter(batch__status=BatchStatus.APPROVED)


def _tally(rows: Iterable[dict[str, Any]], key: str) -> dict[Any, dict[str, int]]:
    out: dict[Any, dict[str, int]] = {}
    for row in rows:
        slot = out.setdefault(
            row[key], {"reviewed": 0, "open": 0, "defer": 0, "restrict": 0, "early": 0}
        )
        slot["reviewed"] += row["n"]
        slot[row["decision"]] += row["n"]
        slot["early"] += row["early"]
    return out


def yearly_figures(year: int | None = None) -> dict[str, Any]:
    """Reviewed/opened/deferred/restricted 卷(件) per year of approval, and per category (in
    ``year`` when given, else over all years). Counted from the approved entries themselves."""
    entries = _approved_entries().annotate(review=ExtractYear("batch__approved_at")).order_by()
    # 提前开放: opened before the record's term, as judged in the batch's review year.
    early_q = Q(decision=Decision.OPEN, due_year__gt=F("batch__review_year"))
    by_year = _tally(
        entries.values("review", "decision").annotate(
            n=Count("pk"), early=Count("pk", filter=early_q)
        ),
        "review",
    )
    scoped = entries.filter(review=year) if year else entries
    by_cat = _tally(
        scoped.values("category_id", "decision").annotate(
            n=Count("pk"), early=Count("pk", filter=early_q)
        ),
        "category_id",
    )
    categories = Category.objects.in_bulk(list(by_cat))
    return {
        "by_year": [{"year": y, **by_year[y]} for y in sorted(by_year)],
        "by_category": [
            {"category": categories[pk], **by_cat[pk]}
            for pk in sorted(by_cat, key=lambda k: (categories[k].sort_order, categories[k].code))
        ],
    }


def report(actor, year: int | None = None) -> dict[str, Any]:
    """开放鉴定统计 for reviewers and approvers: the yearly figures plus the stock now."""
    if not is_staff_reviewer(actor):
        raise PermissionDenied(_("您没有查看开放鉴定统计的权限"))
    figures = yearly_figures(year)
    stock = holdings.holdings_count()
    open_now = holdings.holdings_count(
        Item.objects.filter(openness=Openness.OPEN), Volume.objects.filter(openness=Openness.OPEN)
    )
    figures.update(
        {
            "year": year,
            "stock_total": stock["total"],
            "open_total": open_now["total"],
            "totals": {
                k: sum(r[k] for r in figures["by_year"])
                for k in ("reviewed", "open", "defer", "restrict", "early")
            },
        }
    )
    return figures


def export_report_xlsx(actor, dest: BinaryIO, year: int | None = None) -> dict[str, Any]:
    """Write the report as .xlsx to ``dest``; the export is audited."""
    from openpyxl import Workbook

    from lantai.accession.report import neutralise

    data = report(actor, year)
    book = Workbook(write_only=True)
    heads = [_("已鉴定"), _("开放"), _("其中提前开放"), _("延期开放"), _("控制使用")]

    sheet = book.create_sheet(_("逐年鉴定"))
    sheet.append([_("鉴定年度"), *heads])
    for r in data["by_year"]:
        sheet.append([r["year"], r["reviewed"], r["open"], r["early"], r["defer"], r["restrict"]])
    t = data["totals"]
    sheet.append([_("合计"), t["reviewed"], t["open"], t["early"], t["defer"], t["restrict"]])

    sheet = book.create_sheet(_("按门类"))
    sheet.append([_("门类代码"), _("门类"), *heads])
    for r in data["by_category"]:
        sheet.append(
            [
                neutralise(r["category"].code),
                neutralise(r["category"].name),
                r["reviewed"],
                r["open"],
                r["early"],
                r["defer"],
                r["restrict"],
            ]
        )
    sheet = book.create_sheet(_("馆藏开放"))
    sheet.append([_("指标"), _("数值")])
    sheet.append([_("馆藏总量 卷(件)"), data["stock_total"]])
    sheet.append([_("已开放 卷(件)"), data["open_total"]])
    book.save(dest)
    record(
        AuditAction.EXPORT,
        actor=actor,
        object_type="opening.report",
        object_id=str(year or ""),
        object_repr=_("开放鉴定统计"),
        detail={"year": year},
    )
    return data


__all__ = [
    "APPROVE",
    "OPINION",
    "REVIEW",
    "approve",
    "batch_entries",
    "batch_limit",
    "create_batch",
    "decide",
    "due_items",
    "due_summary",
    "due_volumes",
    "export_report_xlsx",
    "get_batch",
    "record_opinion",
    "report",
    "return_batch",
    "submit",
    "visible_batches",
    "yearly_figures",
]
