"""Background jobs of long-term preservation 长期保存: the fixity audit, by hand or scheduled.

The huey worker starts a scheduled audit every day at ``LANTAI_FIXITY_HOUR`` (default 2, local
time) as a job, so it shows in the job list and the fixity history like one started by hand.
"""

from __future__ import annotations

import os

from django.db import close_old_connections
from django.utils.translation import gettext_lazy
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from lantai.jobs.services import JobContext, enqueue, register
from lantai.preservation import fixity


def _clean(params: dict) -> dict:
    cleaned = {"workers": max(1, min(int(params.get("workers") or 1), 32))}
    if params.get("location"):
        cleaned["location"] = str(params["location"])
    cleaned["scheduled"] = bool(params.get("scheduled"))
    return cleaned


@register(
    "preservation.fixity_audit",
    perm=fixity.PERM,
    label=gettext_lazy("固定性检查"),
    clean=_clean,
    # Re-checking copies is harmless: a run cut short by a dead worker is run again.
    resumable=True,
)
def fixity_audit_job(ctx: JobContext) -> dict:
    def progress(done: int, total: int | None = None, message: str = "") -> None:
        ctx.check_cancelled()
        ctx.progress(done, total, str(message or ""))

    audit = fixity.run_audit(
        location=ctx.params.get("location"),
        workers=ctx.params.get("workers", 1),
        actor=ctx.user,
        progress=progress,
        scheduled=bool(ctx.params.get("scheduled")),
        job=ctx.job,
    )
    return {
        "audit": audit.pk,
        "copies": audit.copies_checked,
        "failures": audit.failures,
        "repaired": audit.repaired,
    }


@db_periodic_task(
    crontab(hour=os.environ.get("LANTAI_FIXITY_HOUR", "2"), minute="17"),
    name="lantai.preservation.fixity",
)
def scheduled_fixity_task() -> None:
    close_old_connections()
    enqueue(
        "preservation.fixity_audit",
        {"scheduled": True, "workers": int(os.environ.get("LANTAI_FIXITY_WORKERS", "2"))},
    )
