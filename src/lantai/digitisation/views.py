"""Digitisation screens 数字化: an item's scans page (upload, per-page check report, OCR
progress and results), the JSON report, starting OCR and the produced files.

Thin over ``digitisation.services``, which checks every permission; an item or batch the user
may not see is a 404, never revealing that it exists.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lantai.core.permissions import require
from lantai.digitisation import checks, forms, services
from lantai.digitisation.models import BatchStatus, CheckProfile, ScanBatch
from lantai.holdings.models import Item
from lantai.jobs.models import JobStatus
from lantai.storage.models import Component

#: Seconds between progress polls while a job runs (as on the job page).
POLL_SECONDS = 1


def _item_or_404(request: HttpRequest, pk, *, change: bool = False) -> Item:
    try:
        return services.get_item(request.user, pk, change=change)
    except Item.DoesNotExist:
        raise Http404(_("档案不存在或无权查看。")) from None


def _batch_or_404(request: HttpRequest, pk, *, change: bool = False) -> ScanBatch:
    try:
        return services.get_batch(request.user, pk, change=change)
    except ScanBatch.DoesNotExist:
        raise Http404(_("扫描批次不存在或无权查看。")) from None


def _job_context(request: HttpRequest, item: Item) -> dict:
    """The latest OCR job of the item, when the user may watch it."""
    from lantai.jobs.services import sees_all_jobs, visible_jobs

    batch = item.scan_batches.filter(job__isnull=False).select_related("job").first()
    if batch is None or not visible_jobs(request.user).filter(pk=batch.job_id).exists():
        return {}
    job = batch.job
    control = job.created_by_id == request.user.pk or sees_all_jobs(request.user)
    return {
        "job": job,
        "job_batch": batch,
        "poll_seconds": POLL_SECONDS,
        "can_cancel": control and not job.finished,
        "can_retry": control and job.status in (JobStatus.FAILED, JobStatus.CANCELLED),
        "cancelling": job.status == JobStatus.RUNNING and job.cancel_requested_at is not None,
    }


def _rerunnable(batch: ScanBatch) -> bool:
    """OCR may start: checked, done or failed, or left 识别中 by a job that ended (a worker
    that died mid-run)."""
    if batch.status in (BatchStatus.CHECKED, BatchStatus.DONE, BatchStatus.FAILED):
        return True
    if batch.status in (BatchStatus.QUEUED, BatchStatus.PROCESSING):
        return batch.job is not None and batch.job.finished
    return False


def _context(request: HttpRequest, item: Item, form: forms.UploadForm | None = None) -> dict:
    can_change = services.can_change(request.user)
    batches = [
        (batch, services.batch_report(batch), _rerunnable(batch))
        for batch in services.batches_of(item)
    ]
    busy = any(
        b.status in (BatchStatus.QUEUED, BatchStatus.PROCESSING) and not rerun
        for b, _report, rerun in batches
    )
    return {
        "item": item,
        "batches": batches,
        # While a batch is queued or being recognised the results refresh themselves.
        "busy": busy,
        "outputs": list(services.outputs_of(item)),
        "can_change": can_change,
        "form": form or (forms.UploadForm() if can_change else None),
        "discardable": (BatchStatus.REJECTED, BatchStatus.CHECKED, BatchStatus.FAILED),
        **_job_context(request, item),
    }


@login_required
def item_page(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_or_404(request, pk)
    return render(request, "digitisation/item.html", _context(request, item))


@login_required
@require_POST
def upload(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_or_404(request, pk, change=True)
    form = forms.UploadForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            batch = services.create_batch(
                request.user,
                item,
                [(f.name, f) for f in data["files"]],
                colour_elements=data["colour_elements"],
                note=data["note"],
                run_ocr=data["run_ocr"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if batch.status == BatchStatus.REJECTED:
                messages.error(request, batch.message)
            else:
                messages.success(request, batch.message)
            return redirect("digitisation:item", pk=item.pk)
    return render(request, "digitisation/item.html", _context(request, item, form), status=400)


@login_required
def batch_json(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_or_404(request, pk)
    body = json.dumps(services.batch_report(batch), ensure_ascii=False, indent=2)
    return HttpResponse(body, content_type="application/json; charset=utf-8")


@login_required
@require_POST
def batch_ocr(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_or_404(request, pk, change=True)
    try:
        services.enqueue_ocr(request.user, batch)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已开始识别。"))
    return redirect("digitisation:item", pk=batch.item_id)


@login_required
@require_POST
def batch_discard(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_or_404(request, pk, change=True)
    item_id = batch.item_id
    try:
        services.discard_batch(request.user, batch)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("扫描批次已删除。"))
    return redirect("digitisation:item", pk=item_id)


@login_required
def output_file(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        component, stream = services.open_output(request.user, pk)
    except Component.DoesNotExist:
        raise Http404(_("文件不存在或无权查看。")) from None
    inline = request.GET.get("inline") == "1"
    return FileResponse(
        stream,
        as_attachment=not inline,
        filename=component.filename,
        content_type=component.mime or "application/octet-stream",
    )


# --- check profiles 检测方案 --------------------------------------------------------------------


def _profile_initial(profile: CheckProfile) -> dict:
    return {
        "name": profile.name,
        "fonds": profile.fonds_id,
        "category": profile.category_id,
        "min_dpi": profile.min_dpi,
        "allowed_modes": profile.allowed_modes,
        "allowed_formats": profile.allowed_formats,
        "blank_ink_ratio": profile.blank_ink_ratio,
        "blocking": profile.blocking,
        "active": profile.active,
    }


@login_required
def profile_list(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The check profiles, with a form to add one (or edit ``pk``)."""
    require(request.user, services.MANAGE_PROFILES)
    profile = get_object_or_404(CheckProfile, pk=pk) if pk is not None else None
    status = 200
    if request.method == "POST":
        form = forms.ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.save_profile(request.user, form.cleaned_data, profile)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("检测方案已保存。"))
                return redirect("digitisation:profiles")
        status = 400
    else:
        form = forms.ProfileForm(initial=_profile_initial(profile) if profile else None)
    profiles = CheckProfile.objects.select_related("fonds", "category")
    return render(
        request,
        "digitisation/profiles.html",
        {
            "profiles": profiles,
            "form": form,
            "editing": profile,
            "defaults": checks.thresholds(None),
        },
        status=status,
    )


@login_required
@require_POST
def profile_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, services.MANAGE_PROFILES)
    services.delete_profile(request.user, get_object_or_404(CheckProfile, pk=pk))
    messages.success(request, _("检测方案已删除。"))
    return redirect("digitisation:profiles")
