"""huey tasks: the one task that runs every job, the periodic reaper and the worker hooks.

There is a single huey task (``lantai.jobs.run``) taking a job id; what a job does is looked up
in the registry of ``lantai.jobs.services``. huey never retries it: a failed job is re-run only
when a person asks (``services.retry``) — except while the database cannot be reached, when
the message is put back unrun (see ``run_job_task``).
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError, close_old_connections
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task
from huey.exceptions import RetryTask
from huey.signals import SIGNAL_INTERRUPTED

from lantai.jobs import services

RUN_TASK_NAME = "lantai.jobs.run"


#: Seconds before a job message is tried again while the database cannot be reached.
DB_RETRY_DELAY = 5


@db_task(retries=0, name=RUN_TASK_NAME)
def run_job_task(job_id: str) -> None:
    # Nothing returned: huey would otherwise keep every result in its store. The outcome
    # lives in the Job row.
    try:
        services.run_job(job_id)
    except (OperationalError, InterfaceError) as exc:
        # The database is away (restart, failover, network). Claiming is the first thing a
        # run does and it is atomic, so nothing has happened yet: put the message back and
        # try again until the database returns, rather than losing an acknowledged job.
        # A run cut off later (after its claim) is left to the reaper.
        close_old_connections()
        raise RetryTask(delay=DB_RETRY_DELAY) from exc


@db_periodic_task(crontab(minute="*"), name="lantai.jobs.reap")
def reap_jobs_task() -> None:
    services.reap_in_worker()


@HUEY.on_startup("lantai.jobs.reap_at_startup")
def reap_at_startup() -> None:
    # Jobs left running by a worker that died before this one started are failed at once.
    services.reap_in_worker()


@HUEY.signal(SIGNAL_INTERRUPTED)
def job_interrupted(signal, task, *args, **kwargs) -> None:
    # The consumer was stopped (SIGTERM) while this job ran: say so now, not a minute later.
    if getattr(task, "name", "") == RUN_TASK_NAME and task.args:
        close_old_connections()
        services.mark_interrupted(task.args[0])
        close_old_connections()
