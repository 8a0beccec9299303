"""The item page's digitisation box: the latest scan batch and, while its OCR job runs, the
live progress bar (the jobs app's htmx status panel)."""

from __future__ import annotations

from django import template

from lantai.digitisation import services

register = template.Library()


@register.simple_tag(takes_context=True)
def digitisation_of(context, item) -> dict | None:
    """{"batch", "job", "poll_seconds", …} for users who may change holdings, else None."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not services.can_change(user):
        return None
    batch = item.scan_batches.select_related("job").first()
    info: dict = {"batch": batch, "job": None}
    job = batch.job if batch is not None else None
    if job is not None and not job.finished:
        from lantai.jobs.services import visible_jobs

        if visible_jobs(user).filter(pk=job.pk).exists():
            info.update(job=job, poll_seconds=1, can_cancel=False, can_retry=False)
    return info
