"""Opening review screens 开放鉴定: the due list, review batches (decisions, the creating unit's
opinion, submit, approve or return) and the yearly report with its .xlsx export.

Views are thin over ``opening.services``, which checks every permission. A batch a user may
not see is a 404, never a 403, so its existence is not revealed.
"""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lantai.core.permissions import has
from lantai.holdings.models import Category, Fonds
from lantai.opening import services
from lantai.opening.models import BatchStatus, Decision, OpinionKind, ReviewBatch

PER_PAGE = 50


def _messages_of(exc: ValidationError) -> str:
    return "；".join(exc.messages)


def _staff(view):
    """Signed in and reviewing or approving (archivists)."""

    def wrapped(request: HttpRequest, *args, **kwargs):
        if not services.is_staff_reviewer(request.user):
            raise PermissionDenied(_("您没有开放鉴定的权限"))
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return login_required(wrapped)


def _participant(view):
    """Signed in and taking part: reviewers, approvers, unit records officers (opinions)."""

    def wrapped(request: HttpRequest, *args, **kwargs):
        user = request.user
        if not (services.is_staff_reviewer(user) or has(user, services.OPINION)):
            raise PermissionDenied(_("您没有开放鉴定的权限"))
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return login_required(wrapped)


def _batch_or_404(request: HttpRequest, pk) -> ReviewBatch:
    try:
        return services.get_batch(request.user, pk)
    except ReviewBatch.DoesNotExist:
        raise Http404(_("批次不存在或无权查看。")) from None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 9 else None


def _review_year(request: HttpRequest) -> int:
    year = _int(request.GET.get("review_year") or request.POST.get("review_year"))
    return year if year and 1000 <= year <= 9999 else services.this_year()


def _filters(data) -> dict[str, Any]:
    return {
        "fonds": _int(data.get("fonds")),
        "category": _int(data.get("category")),
        "year": _int(data.get("year")),
    }


# --- the due list ------------------------------------------------------------------------------


@_staff
def due_list(request: HttpRequest) -> HttpResponse:
    """到期应鉴定: what is due in the review year, per category, one page of items or volumes."""
    review_year = _review_year(request)
    filters = _filters(request.GET)
    kind = "volume" if request.GET.get("kind") == "volume" else "item"
    summary = services.due_summary(request.user, review_year, **filters)
    if kind == "volume":
        rows = services.due_volumes(request.user, review_year, **filters).order_by(
            "fonds_id", "category_id", "year", "volume_no", "pk"
        )
    else:
        rows = services.due_items(request.user, review_year, **filters).order_by(
            "fonds_id", "category_id", "year", "item_no", "pk"
        )
    # Prefetched, not joined: with the joins SQLite sorted all due rows (4 s at 1,000,000).
    rows = rows.prefetch_related("fonds", "category")
    paginator = Paginator(rows, PER_PAGE)
    # The summary has just counted the same rows: spare a second COUNT over a million items.
    paginator.__dict__["count"] = summary["volumes" if kind == "volume" else "items"]
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "opening/due_list.html",
        {
            "summary": summary,
            "page": page,
            "kind": kind,
            "review_year": review_year,
            "filters": filters,
            "fonds_list": Fonds.objects.order_by("code"),
            "categories": Category.objects.all(),
            "query": query.urlencode(),
            "limit": services.batch_limit(),
        },
    )


@_staff
@require_POST
def batch_create(request: HttpRequest) -> HttpResponse:
    review_year = _review_year(request)
    title = request.POST.get("title", "")
    try:
        if request.POST.get("mode") == "filter":
            batch = services.create_batch(
                request.user,
                review_year=review_year,
                title=title,
                filters=_filters(request.POST),
            )
        else:
            batch = services.create_batch(
                request.user,
                review_year=review_year,
                title=title,
                item_ids=request.POST.getlist("item"),
                volume_ids=request.POST.getlist("volume"),
            )
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
        return redirect(f"{reverse('opening:due_list')}?review_year={review_year}")
    messages.success(
        request,
        _("已创建鉴定批次 %(n)s，共 %(c)d 卷(件)。")
        % {"n": batch.number, "c": batch.entries.count()},
    )
    return redirect("opening:batch_detail", pk=batch.pk)


# --- batches -----------------------------------------------------------------------------------


@_participant
def batch_list(request: HttpRequest) -> HttpResponse:
    batches = services.visible_batches(request.user)
    status = request.GET.get("status", "")
    if status in BatchStatus.values:
        batches = batches.filter(status=status)
    page = Paginator(batches.order_by("-created_at", "-pk"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "opening/batch_list.html",
        {"page": page, "statuses": BatchStatus.choices, "status": status},
    )


def _detail_context(request: HttpRequest, batch: ReviewBatch) -> dict[str, Any]:
    user = request.user
    entries = services.batch_entries(user, batch)
    decision = request.GET.get("decision", "")
    shown = entries
    if decision == "none":
        shown = entries.filter(decision="")
    elif decision in Decision.values:
        shown = entries.filter(decision=decision)
    page = Paginator(shown.order_by("pk"), PER_PAGE).get_page(request.GET.get("page"))
    staff = services.is_staff_reviewer(user)
    units = services.batch_units(batch)
    if not staff:
        units = [row for row in units if row["unit"].pk == user.unit_id]
    reviewer = has(user, services.REVIEW)
    job = services.approval_job(batch) if batch.status == BatchStatus.SUBMITTED else None
    return {
        "job": job,
        "batch": batch,
        "page": page,
        "counts": services.batch_counts(entries),
        "decision": decision,
        "decisions": Decision.choices,
        "opinion_kinds": OpinionKind.choices,
        "units": units,
        "staff": staff,
        "reviewers": list(batch.reviewers.all()),
        "can_decide": reviewer and batch.status == BatchStatus.DRAFT,
        "can_submit": reviewer and batch.status == BatchStatus.DRAFT,
        "can_approve": batch.status == BatchStatus.SUBMITTED
        and job is None
        and services.can_approve(user, batch),
        "can_opine": batch.status != BatchStatus.APPROVED
        and (reviewer or has(user, services.OPINION)),
    }


@_participant
def batch_detail(request: HttpRequest, pk) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    return render(request, "opening/batch_detail.html", _detail_context(request, batch))


def _back(batch: ReviewBatch) -> HttpResponse:
    return redirect("opening:batch_detail", pk=batch.pk)


@_staff
@require_POST
def batch_decide(request: HttpRequest, pk) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    try:
        count = services.decide(
            request.user,
            batch,
            request.POST.getlist("entry"),
            request.POST.get("decision", ""),
            defer_until=request.POST.get("defer_until") or None,
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
        context = _detail_context(request, batch)
        context["decide_data"] = request.POST
        return render(request, "opening/batch_detail.html", context, status=400)
    messages.success(request, _("已记录 %(n)d 卷(件)的鉴定意见。") % {"n": count})
    return _back(batch)


@_participant
@require_POST
def batch_opinion(request: HttpRequest, pk) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    unit = _int(request.POST.get("unit")) if has(request.user, services.REVIEW) else None
    try:
        services.record_opinion(
            request.user,
            batch,
            kind=request.POST.get("kind", ""),
            text=request.POST.get("text", ""),
            unit=unit,
        )
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("已记录形成单位意见。"))
    return _back(batch)


@_staff
@require_POST
def batch_submit(request: HttpRequest, pk) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    try:
        services.submit(request.user, batch)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("批次已提交审批。"))
    return _back(batch)


@_staff
@require_POST
def batch_approve(request: HttpRequest, pk) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    try:
        services.request_approval(request.user, batch, request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("已开始审批生效，完成后批次状态变为已审批。"))
    return _back(batch)


@_staff
@require_POST
def batch_return(request: HttpRequest, pk) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    try:
        services.return_batch(request.user, batch, request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("批次已退回鉴定人。"))
    return _back(batch)


# --- report ------------------------------------------------------------------------------------


def _report_year(request: HttpRequest) -> int | None:
    year = _int(request.GET.get("year"))
    return year if year and 1000 <= year <= 9999 else None


@_staff
def report(request: HttpRequest) -> HttpResponse:
    year = _report_year(request)
    data = services.report(request.user, year)
    chart = {
        "years": [str(r["year"]) for r in data["by_year"]],
        "reviewed": [r["reviewed"] for r in data["by_year"]],
        "open": [r["open"] for r in data["by_year"]],
        "defer": [r["defer"] for r in data["by_year"]],
        "restrict": [r["restrict"] for r in data["by_year"]],
        "labels": {
            "reviewed": _("已鉴定"),
            "open": _("开放"),
            "defer": _("延期开放"),
            "restrict": _("控制使用"),
        },
    }
    return render(request, "opening/report.html", {"data": data, "chart": chart, "year": year})


@_staff
def report_export(request: HttpRequest) -> HttpResponse:
    year = _report_year(request)
    buffer = io.BytesIO()
    services.export_report_xlsx(request.user, buffer, year)
    buffer.seek(0)
    name = _("开放鉴定统计") + (f"{year}" if year else "")
    return FileResponse(
        buffer,
        as_attachment=True,
        filename=f"{name}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
