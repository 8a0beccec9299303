"""Use request background work: the hourly reminder 催办提醒 to assignees of requests due
within a working day or overdue. Also startable by hand (``lantai jobs run utilization.remind``)."""

from __future__ import annotations

from django.db import close_old_connections
from django.utils.translation import gettext_lazy
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from lantai.jobs.services import JobContext, register
from lantai.utilization import services


@register("utilization.remind", perm=services.HANDLE, label=gettext_lazy("利用申请催办提醒"))
def remind_job(ctx: JobContext) -> dict:
    """E-mail assignees about requests due soon or overdue, once."""
    return services.send_reminders()


@db_periodic_task(crontab(minute="5"), name="lantai.utilization.remind")
def remind_task() -> None:
    close_old_connections()
    services.send_reminders()
