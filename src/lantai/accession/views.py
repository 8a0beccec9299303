"""Accession screens 接收进馆: transfer batches (upload, check report, submit, accept or
return, handover form), column mappings, receipt plans, acquisitions and statistics.

Views are thin over ``accession.services``, which checks every permission. A batch a user may
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
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lantai.accession import forms, services
from lantai.accession.models import (
    Acquisition,
    AcquisitionCampaign,
    BatchKind,
    BatchStatus,
    ColumnMapping,
    IssueKind,
    ReceiptPlan,
    Severity,
    TransferBatch,
)
from lantai.core.permissions import require
from lantai.holdings.models import Unit

ISSUES_PER_PAGE = 50
#: Statuses during which the batch page polls for progress.
BUSY = (BatchStatus.CHECKING, BatchStatus.ACCEPTING)


def _messages_of(exc: ValidationError) -> str:
    return "；".join(exc.messages)


def _batch_or_404(request: HttpRequest, pk) -> TransferBatch:
    try:
        return services.get_batch(request.user, pk)
    except TransferBatch.DoesNotExist:
        raise Http404(_("批次不存在或无权查看。")) from None


def _submitter(view):
    """Signed in and allowed to open batches (archivists, unit records officers)."""

    def wrapped(request: HttpRequest, *args, **kwargs):
        require(request.user, services.SUBMIT)
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return login_required(wrapped)


def _manager(view):
    """Signed in and managing accession (archivists)."""

    def wrapped(request: HttpRequest, *args, **kwargs):
        require(request.user, services.MANAGE)
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return login_required(wrapped)


# --- batches ----------------------------------------------------------------------------------


@_submitter
def batch_list(request: HttpRequest) -> HttpResponse:
    batches = services.visible_batches(request.user)
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    if status in BatchStatus.values:
        batches = batches.filter(status=status)
    if kind in BatchKind.values:
        batches = batches.filter(kind=kind)
    page = Paginator(batches.order_by("-created_at", "-pk"), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accession/batch_list.html",
        {
            "page": page,
            "statuses": BatchStatus.choices,
            "kinds": BatchKind.choices,
            "status": status,
            "kind": kind,
            "query": query.urlencode(),
            "archivist": services.is_archivist(request.user),
        },
    )


@_submitter
@require_http_methods(["GET", "POST"])
def batch_create(request: HttpRequest) -> HttpResponse:
    form = forms.BatchCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            batch = services.create_batch(
                request.user,
                unit=data.get("unit") or request.user.unit,
                fonds=data["fonds"],
                title=data["title"],
            )
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(request, _("已创建移交批次 %(n)s，请上传目录。") % {"n": batch.number})
            return redirect("accession:batch_detail", pk=batch.pk)
    return render(
        request,
        "accession/form.html",
        {
            "form": form,
            "title": _("新建移交批次"),
            "cancel_url": reverse("accession:batch_list"),
        },
        status=400 if request.method == "POST" else 200,
    )


def _issue_page(request: HttpRequest, batch: TransferBatch) -> dict[str, Any]:
    kind = request.GET.get("kind", "")
    if kind not in IssueKind.values:
        kind = ""
    severity = request.GET.get("severity", "")
    if severity not in Severity.values:
        severity = ""
    issues = services.batch_issues(request.user, batch, kind=kind, severity=severity)
    page = Paginator(issues, ISSUES_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "issue_page": page,
        "issue_kind": kind,
        "issue_severity": severity,
        "issue_query": query.urlencode(),
        "issue_kinds": IssueKind.choices,
    }


def _detail_context(request: HttpRequest, batch: TransferBatch) -> dict[str, Any]:
    user = request.user
    upload = services.current_upload(batch)
    can_act = services.can_act(user, batch)
    archivist = services.is_archivist(user)
    context: dict[str, Any] = {
        "batch": batch,
        "upload": upload,
        "uploads": list(batch.uploads.order_by("-uploaded_at", "-pk")[:10]),
        "busy": batch.status in BUSY,
        "job": batch.job,
        "can_upload": can_act and batch.status in services.UPLOADABLE,
        "can_submit": can_act and batch.status == BatchStatus.CHECKED,
        "can_accept": archivist and batch.status == BatchStatus.SUBMITTED,
        "can_return": archivist and batch.status in services.RETURNABLE,
        "can_map": can_act and batch.unit_id is not None,
        "counts": services.issue_counts(upload),
        "handover": getattr(batch, "handover", None)
        if batch.status == BatchStatus.ACCEPTED
        else None,
        "upload_form": forms.UploadForm(batch=batch),
        "submit_form": forms.SubmitForm(),
        "return_form": forms.ReturnForm(),
        "has_report": upload is not None and batch.status not in (BatchStatus.CHECKING,),
    }
    if upload is not None:
        context.update(_issue_page(request, batch))
    return context


@_submitter
def batch_detail(request: HttpRequest, pk) -> HttpResponse:
    batch = services.settle(_batch_or_404(request, pk))
    return render(request, "accession/batch_detail.html", _detail_context(request, batch))


@_submitter
def batch_status(request: HttpRequest, pk) -> HttpResponse:
    """The status panel, polled while the batch is being checked or accepted; once that ends
    the whole page reloads to show the report."""
    batch = services.settle(_batch_or_404(request, pk))
    if batch.status not in BUSY:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "accession/_batch_status.html", {"batch": batch, "job": batch.job})


@_submitter
def batch_issues(request: HttpRequest, pk) -> HttpResponse:
    """The issue list alone (htmx: filter by kind, page)."""
    batch = _batch_or_404(request, pk)
    context = {"batch": batch, "upload": services.current_upload(batch)}
    if context["upload"] is not None:
        context.update(_issue_page(request, batch))
    return render(request, "accession/_issues.html", context)


@_submitter
@require_POST
def batch_upload(request: HttpRequest, pk) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    form = forms.UploadForm(request.POST, request.FILES, batch=batch)
    if form.is_valid():
        mapping = form.cleaned_data["mapping"]
        try:
            services.upload_catalog(
                request.user,
                batch,
                form.cleaned_data["catalog"],
                files=form.cleaned_data["files"],
                mapping=mapping.mapping if mapping else None,
            )
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(request, _("目录已上传，正在检测。"))
            return redirect("accession:batch_detail", pk=batch.pk)
    context = _detail_context(request, batch)
    context["upload_form"] = form
    return render(request, "accession/batch_detail.html", context, status=400)


@_submitter
@require_POST
def batch_submit(request: HttpRequest, pk) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    form = forms.SubmitForm(request.POST)
    form.is_valid()
    try:
        services.submit(
            request.user, batch, opening_opinion=form.cleaned_data.get("opening_opinion", "")
        )
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("批次已提交档案馆，等待接收。"))
    return redirect("accession:batch_detail", pk=batch.pk)


@_manager
@require_POST
def batch_accept(request: HttpRequest, pk) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    try:
        services.accept(request.user, batch)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("已开始接收进馆。"))
    return redirect("accession:batch_detail", pk=batch.pk)


@_manager
@require_POST
def batch_return(request: HttpRequest, pk) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    form = forms.ReturnForm(request.POST)
    if form.is_valid():
        try:
            services.return_batch(request.user, batch, form.cleaned_data["reason"])
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(request, _("批次已退回移交单位。"))
            return redirect("accession:batch_detail", pk=batch.pk)
    context = _detail_context(request, batch)
    context["return_form"] = form
    return render(request, "accession/batch_detail.html", context, status=400)


@_submitter
def batch_report(request: HttpRequest, pk) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    try:
        path, name = services.report_file(request.user, batch)
    except ValidationError as exc:
        raise Http404(_messages_of(exc)) from None
    return FileResponse(
        open(path, "rb"),  # FileResponse closes it
        as_attachment=True,
        filename=name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@_submitter
def batch_handover(request: HttpRequest, pk) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    try:
        path, name = services.handover_file(request.user, batch)
    except ValidationError as exc:
        raise Http404(_messages_of(exc)) from None
    return FileResponse(
        open(path, "rb"),  # FileResponse closes it
        as_attachment=request.GET.get("inline") != "1",
        filename=name,
        content_type="application/pdf",
    )


# --- column mappings --------------------------------------------------------------------------


def _unit_for_mapping(request: HttpRequest) -> Unit:
    value = request.GET.get("unit") or request.POST.get("unit") or ""
    unit = Unit.objects.filter(pk=int(value)).first() if value.isdigit() else request.user.unit
    if unit is None:
        raise Http404(_("单位不存在。"))
    return unit


@_submitter
def mapping_list(request: HttpRequest) -> HttpResponse:
    unit = _unit_for_mapping(request)
    mappings = services.unit_mappings(request.user, unit)
    return render(
        request,
        "accession/mapping_list.html",
        {
            "unit": unit,
            "mappings": mappings,
            "units": Unit.objects.all() if services.is_archivist(request.user) else None,
        },
    )


def _headers_of_batch(request: HttpRequest) -> list[str]:
    """The headers of a batch's current catalog, to prefill the mapping editor."""
    value = request.GET.get("batch", "")
    if not value.isdigit():
        return []
    from lantai.accession import catalog

    batch = _batch_or_404(request, value)
    upload = services.current_upload(batch)
    if upload is None:
        return []
    try:
        # The first rows only: unrecognised headers (the usual reason to come here) included.
        return catalog.peek_headers(upload.catalog_path)
    except Exception:  # an unreadable catalog simply gives no headers to prefill
        return []


@_submitter
@require_http_methods(["GET", "POST"])
def mapping_edit(request: HttpRequest, pk=None) -> HttpResponse:
    """Column mapping editor 列对应关系: catalog header → Lantai field, saved per unit."""
    from lantai.accession import catalog

    mapping = get_object_or_404(ColumnMapping, pk=pk) if pk is not None else None
    unit = mapping.unit if mapping else _unit_for_mapping(request)
    services.unit_mappings(request.user, unit)  # permission
    fields = [
        (name, _field_label(spec), _field_required(spec)) for name, spec in catalog.FIELDS.items()
    ]
    name_form = forms.MappingNameForm(
        request.POST or None, initial={"name": mapping.name if mapping else ""}
    )
    errors: list[str] = []
    if request.method == "POST":
        headers = request.POST.getlist("header")
        chosen = request.POST.getlist("field")
        pairs = [(h.strip(), f.strip()) for h, f in zip(headers, chosen, strict=False)]
        if name_form.is_valid():
            try:
                saved = services.save_mapping(
                    request.user, unit, name_form.cleaned_data["name"], dict(pairs)
                )
            except ValidationError as exc:
                errors = exc.messages
            else:
                messages.success(request, _("列对应关系“%(n)s”已保存。") % {"n": saved.name})
                back = request.POST.get("next", "")
                if back.startswith("/") and not back.startswith("//"):
                    return redirect(back)
                return redirect(reverse("accession:mapping_list") + f"?unit={unit.pk}")
        rows = pairs
    elif mapping is not None:
        rows = list(mapping.mapping.items())
    else:
        headers = _headers_of_batch(request)
        recognised = catalog.recognise_headers(headers) if headers else {}
        # What the unit saved before wins over the common names, as in the check itself.
        saved = catalog.unit_mapping(unit)
        rows = [(h, saved.get(h) or recognised.get(h, "")) for h in headers]
    rows = rows + [("", "")] * (3 if rows else 8)
    return render(
        request,
        "accession/mapping_form.html",
        {
            "unit": unit,
            "mapping": mapping,
            "name_form": name_form,
            "rows": rows,
            "fields": fields,
            "errors": errors,
            "next": request.GET.get("next", request.POST.get("next", "")),
        },
        status=400 if request.method == "POST" else 200,
    )


def _field_label(spec) -> str:
    if isinstance(spec, dict):
        return str(spec.get("label", ""))
    if isinstance(spec, list | tuple) and spec:
        return str(spec[0])
    return str(getattr(spec, "label", spec))


def _field_required(spec) -> bool:
    if isinstance(spec, dict):
        return bool(spec.get("required"))
    if isinstance(spec, list | tuple) and len(spec) > 1:
        return bool(spec[1])
    return bool(getattr(spec, "required", False))


@_submitter
@require_POST
def mapping_delete(request: HttpRequest, pk) -> HttpResponse:
    mapping = get_object_or_404(ColumnMapping, pk=pk)
    unit = mapping.unit
    services.delete_mapping(request.user, mapping)
    messages.success(request, _("列对应关系已删除。"))
    return redirect(reverse("accession:mapping_list") + f"?unit={unit.pk}")


# --- receipt plans ------------------------------------------------------------------------------


@_manager
def plan_list(request: HttpRequest) -> HttpResponse:
    programme = request.GET.get("programme", "")
    due = request.GET.get("due_year", "")
    due_year = int(due) if due.isdigit() and len(due) == 4 else None
    rows = services.plan_progress(request.user, programme=programme, due_year=due_year)
    overdue_units = sorted({str(r["plan"].unit) for r in rows if r["overdue"]})
    return render(
        request,
        "accession/plan_list.html",
        {
            "rows": rows,
            "programmes": services.plan_programmes(),
            "programme": programme,
            "due_year": due_year or "",
            "overdue_units": overdue_units,
            "summary": services.plan_summary(rows),
            "this_year": timezone.localdate().year,
        },
    )


@_manager
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, pk=None) -> HttpResponse:
    plan = get_object_or_404(ReceiptPlan, pk=pk) if pk is not None else None
    initial = forms.initial_of(plan, services.PLAN_FIELDS) if plan else {}
    form = forms.PlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_plan(request.user, form.cleaned_data, plan)
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(request, _("接收计划已保存。"))
            return redirect("accession:plan_list")
    return render(
        request,
        "accession/form.html",
        {
            "form": form,
            "title": _("修改接收计划") if plan else _("新建接收计划"),
            "cancel_url": reverse("accession:plan_list"),
            "delete_url": reverse("accession:plan_delete", args=[plan.pk]) if plan else "",
        },
        status=400 if request.method == "POST" else 200,
    )


@_manager
@require_POST
def plan_delete(request: HttpRequest, pk) -> HttpResponse:
    plan = get_object_or_404(ReceiptPlan, pk=pk)
    services.delete_plan(request.user, plan)
    messages.success(request, _("接收计划已删除。"))
    return redirect("accession:plan_list")


# --- acquisitions -------------------------------------------------------------------------------


@_manager
def acquisition_list(request: HttpRequest) -> HttpResponse:
    acquisitions = Acquisition.objects.select_related("campaign")
    campaign = request.GET.get("campaign", "")
    if campaign.isdigit():
        acquisitions = acquisitions.filter(campaign_id=int(campaign))
    page = Paginator(acquisitions, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accession/acquisition_list.html",
        {
            "page": page,
            "campaigns": AcquisitionCampaign.objects.all(),
            "campaign": campaign,
        },
    )


@_manager
def acquisition_detail(request: HttpRequest, pk) -> HttpResponse:
    acquisition = get_object_or_404(Acquisition.objects.select_related("campaign"), pk=pk)
    form = forms.AcquisitionBatchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.create_acquisition_batch(
                request.user,
                acquisition,
                fonds=form.cleaned_data["fonds"],
                title=form.cleaned_data["title"],
            )
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(request, _("已创建征集进馆批次 %(n)s。") % {"n": batch.number})
            return redirect("accession:batch_detail", pk=batch.pk)
    return render(
        request,
        "accession/acquisition_detail.html",
        {
            "acquisition": acquisition,
            "batches": acquisition.batches.order_by("-created_at"),
            "batch_form": form,
        },
    )


@_manager
@require_http_methods(["GET", "POST"])
def acquisition_edit(request: HttpRequest, pk=None) -> HttpResponse:
    acquisition = get_object_or_404(Acquisition, pk=pk) if pk is not None else None
    initial = forms.initial_of(acquisition, services.ACQUISITION_FIELDS) if acquisition else {}
    if acquisition is None and request.GET.get("campaign", "").isdigit():
        initial["campaign"] = int(request.GET["campaign"])
    form = forms.AcquisitionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_acquisition(request.user, form.cleaned_data, acquisition)
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(request, _("征集记录 %(n)s 已保存。") % {"n": saved.number})
            return redirect("accession:acquisition_detail", pk=saved.pk)
    return render(
        request,
        "accession/form.html",
        {
            "form": form,
            "title": _("修改征集记录") if acquisition else _("新建征集记录"),
            "cancel_url": reverse("accession:acquisition_list"),
        },
        status=400 if request.method == "POST" else 200,
    )


@_manager
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, pk=None) -> HttpResponse:
    campaign = get_object_or_404(AcquisitionCampaign, pk=pk) if pk is not None else None
    initial = forms.initial_of(campaign, services.CAMPAIGN_FIELDS) if campaign else {}
    form = forms.CampaignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_campaign(request.user, form.cleaned_data, campaign)
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(request, _("征集活动已保存。"))
            return redirect("accession:acquisition_list")
    return render(
        request,
        "accession/form.html",
        {
            "form": form,
            "title": _("修改征集活动") if campaign else _("新建征集活动"),
            "cancel_url": reverse("accession:acquisition_list"),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- statistics -----------------------------------------------------------------------------------


def _stats_years(request: HttpRequest) -> tuple[int, int]:
    this_year = timezone.localdate().year
    year_text = request.GET.get("year", "")
    year = int(year_text) if year_text.isdigit() and len(year_text) == 4 else this_year
    base_text = request.GET.get("baseline", "")
    base = (
        int(base_text)
        if base_text.isdigit() and len(base_text) == 4
        else services.default_baseline_year()
    )
    return year, base


@_manager
def statistics(request: HttpRequest) -> HttpResponse:
    year, base = _stats_years(request)
    try:
        stats = services.statistics_for(request.user, year, baseline_year=base)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
        stats = services.statistics_for(request.user, year, baseline_year=year - 1)
    chart = {
        "categories": [r["name"] for r in stats["received_by_category"]],
        "category_totals": [r["total"] for r in stats["received_by_category"]],
        "years": [str(r["year"]) for r in stats["by_year"]],
        "year_totals": [r["total"] for r in stats["by_year"]],
    }
    return render(
        request, "accession/statistics.html", {"stats": stats, "chart": chart, "year": year}
    )


@_manager
def statistics_export(request: HttpRequest) -> HttpResponse:
    year, base = _stats_years(request)
    buffer = io.BytesIO()
    try:
        services.export_statistics_xlsx(request.user, year, buffer, baseline_year=base)
    except ValidationError as exc:
        raise Http404(_messages_of(exc)) from None
    except PermissionDenied:
        raise
    buffer.seek(0)
    return FileResponse(
        buffer,
        as_attachment=True,
        filename=f"{year}年接收统计.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
