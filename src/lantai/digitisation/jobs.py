"""Background job of digitisation 数字化: recognising (OCR) one scan batch.

``digitisation.ocr`` runs ``services.process_batch``; its progress (pages recognised) shows on
the item's digitisation page and the job page. A failed run is not retried automatically
(``lantai jobs retry`` or the 重新执行 button re-runs it; the run replaces cleanly).
"""

from __future__ import annotations

from django.db import close_old_connections
from django.utils.translation import gettext_lazy
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from lantai.digitisation import services
from lantai.jobs.services import JobContext, register


@register(services.JOB_KIND, perm=services.CHANGE, label=gettext_lazy("扫描件文字识别"))
def recognise_batch(ctx: JobContext) -> dict:
    def progress(done: int, total: int | None = None, message: str = "", **_ignored) -> None:
        ctx.check_cancelled()
        ctx.progress(done, total, str(message or ""))

    return services.process_batch(
        ctx.user, int(ctx.params["batch"]), progress=progress, job_id=ctx.job.pk
    )


@db_periodic_task(crontab(minute="17"), name="lantai.digitisation.sweep_spool")
def sweep_spool_task() -> None:
    # Uploads killed mid-way and rejected batches' files (their reports stay) are removed.
    close_old_connections()
    services.sweep_spool()
