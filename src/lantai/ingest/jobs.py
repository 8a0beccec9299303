"""Background job of online archiving 在线归档: processing one received SIP.

``ingest.process`` runs ``services.process_sip``; huey hooks resume or fail SIPs a dead worker
left half-way (``services.recover_sips``) when a worker starts and every minute.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task

from lantai.ingest import services
from lantai.ingest.models import Sip
from lantai.jobs.services import JobContext, register


@register(services.JOB_KIND, perm=services.SUBMIT, label=gettext_lazy("归档信息包处理"))
def process(ctx: JobContext) -> dict:
    sip = Sip.objects.get(pk=ctx.params["sip"])

    def progress(done: int, total: int | None = None, message: str = "", **_ignored) -> None:
        ctx.progress(done, total, str(message or ""))

    sip = services.process_sip(sip, progress=progress)
    if sip.status in services.FINAL:
        ctx.final_message = str(sip.get_status_display())
    return {"sip": str(sip.pk), "status": sip.status, "item": sip.item_id}


@db_periodic_task(crontab(minute="*"), name="lantai.ingest.recover")
def recover_task() -> None:
    services.recover_in_worker()


@HUEY.on_startup("lantai.ingest.recover_at_startup")
def recover_at_startup() -> None:
    # SIPs whose worker died before this one started are resumed (or failed) at once.
    services.recover_in_worker()


@db_periodic_task(crontab(minute="7"), name="lantai.ingest.sweep_spool")
def sweep_spool_task() -> None:
    # Spool folders of uploads whose receive never committed (killed mid-upload) are removed.
    services.sweep_spool()
