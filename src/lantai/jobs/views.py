"""Job screens 后台任务: the list, a job's page with live progress, cancel and retry."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lantai.core.permissions import require
from lantai.jobs import services
from lantai.jobs.models import Job, JobStatus

#: How often the job page asks for fresh progress while the job is not finished.
POLL_SECONDS = 1


def _job_or_404(request: HttpRequest, pk) -> Job:
    try:
        return services.get_job(request.user, pk)
    except Job.DoesNotExist:
        raise Http404(_("任务不存在或无权查看。")) from None


def _can_control(user, job: Job) -> bool:
    return job.created_by_id == user.pk or services.sees_all_jobs(user)


def _context(request: HttpRequest, job: Job) -> dict:
    can_control = _can_control(request.user, job)
    return {
        "job": job,
        "poll_seconds": POLL_SECONDS,
        "can_cancel": can_control and not job.finished,
        "can_retry": can_control and job.status in (JobStatus.FAILED, JobStatus.CANCELLED),
        "cancelling": job.status == JobStatus.RUNNING and job.cancel_requested_at is not None,
    }


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "jobs.view_job")
    # Showing the list is one of the moments dead workers' jobs are marked failed.
    services.reap_stale_jobs()
    jobs = services.visible_jobs(request.user)
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    if status in JobStatus.values:
        jobs = jobs.filter(status=status)
    if kind:
        jobs = jobs.filter(kind=kind)
    page = Paginator(jobs, settings.LANTAI_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "jobs/job_list.html",
        {
            "page": page,
            "jobs": page.object_list,
            "statuses": JobStatus.choices,
            "kinds": services.kinds(),
            "status": status,
            "kind": kind,
            "query": query.urlencode(),
            "sees_all": services.sees_all_jobs(request.user),
        },
    )


@login_required
def job_detail(request: HttpRequest, pk) -> HttpResponse:
    job = _job_or_404(request, pk)
    if job.status == JobStatus.RUNNING and services.reap_stale_jobs():
        job.refresh_from_db()
    return render(request, "jobs/job_detail.html", _context(request, job))


@login_required
def job_progress(request: HttpRequest, pk) -> HttpResponse:
    """The status panel alone, polled by htmx; it stops polling once the job has finished."""
    job = _job_or_404(request, pk)
    if job.status == JobStatus.RUNNING and services.reap_stale_jobs():
        job.refresh_from_db()
    return render(request, "jobs/_status.html", _context(request, job))


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk) -> HttpResponse:
    job = _job_or_404(request, pk)
    try:
        job = services.cancel(request.user, job)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        if job.status == JobStatus.CANCELLED:
            messages.success(request, _("任务已取消。"))
        else:
            messages.info(request, _("已请求取消，任务将在当前步骤结束后停止。"))
    return redirect("jobs:detail", pk=job.pk)


@login_required
@require_POST
def job_retry(request: HttpRequest, pk) -> HttpResponse:
    job = _job_or_404(request, pk)
    try:
        job = services.retry(request.user, job)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("任务已重新排队。"))
    return redirect("jobs:detail", pk=job.pk)
