"""A real huey consumer (``lantai run_huey`` in a subprocess) on SQLite and on Redis.

The worker shares this test's database (transactional_db: it must see committed rows) and a
private queue. The SIGKILL test proves a job whose worker dies is shown as failed, never as
running forever.
"""

from __future__ import annotations

import os
import signal
from io import StringIO

import pytest
from django.core.management import call_command

from lantai.jobs import services
from lantai.jobs.models import Job, JobStatus

from .conftest import wait_for

STEPS = 60


def _status(job: Job) -> str:
    job.refresh_from_db()
    return job.status


def _runs_to_success(worker, user) -> Job:
    worker.start()
    job = services.enqueue("jobs.selftest", {"steps": 3, "delay": 0.05}, user=user)
    assert _status(job) == JobStatus.QUEUED  # nothing ran in this process
    wait_for(lambda: job.finished if _status(job) else False, timeout=30)
    assert job.status == JobStatus.SUCCEEDED, (job.message, job.error, worker.output())
    assert job.result["steps"] == 3
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.worker.endswith(f":{worker.pid}")
    return job


def test_sqlite_worker_runs_a_job(sqlite_queue_worker, make_user):
    _runs_to_success(sqlite_queue_worker, make_user("archivist1", "archivist"))


@pytest.mark.redis
def test_redis_worker_runs_a_job(redis_queue_worker, make_user):
    _runs_to_success(redis_queue_worker, make_user("archivist1", "archivist"))


def _killed_mid_job(worker, user, client) -> Job:
    worker.start()
    # Long enough to be killed half-way, short enough for the retry test to run it whole.
    job = services.enqueue("jobs.selftest", {"steps": STEPS, "delay": 0.05}, user=user)
    wait_for(lambda: _status(job) == JobStatus.RUNNING and job.progress_done >= 1, timeout=30)
    os.kill(worker.pid, signal.SIGKILL)
    worker.proc.wait(timeout=10)
    assert _status(job) == JobStatus.RUNNING  # what the dead worker left behind

    reaped = services.reap_stale_jobs()
    assert [j.pk for j in reaped] == [job.pk]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "执行进程已中断"
    assert 0 < job.progress_done < STEPS

    # The CLI and the UI show it failed.
    out = StringIO()
    call_command("jobs", "list", stdout=out)
    line = next(row for row in out.getvalue().splitlines() if str(job.pk) in row)
    assert "failed" in line and "执行进程已中断" in line
    client.force_login(user)
    page = client.get(f"/jobs/{job.pk}/progress/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-status="failed"' in html and "执行进程已中断" in html
    assert "hx-trigger" not in html  # polling stops
    assert "重新执行" in html  # a person decides whether to run it again
    return job


def test_sqlite_worker_killed_mid_job_shows_failed(sqlite_queue_worker, make_user, client):
    _killed_mid_job(sqlite_queue_worker, make_user("archivist1", "archivist"), client)


@pytest.mark.redis
def test_redis_worker_killed_mid_job_shows_failed(redis_queue_worker, make_user, client):
    _killed_mid_job(redis_queue_worker, make_user("archivist1", "archivist"), client)


def test_sigterm_marks_the_running_job_failed_at_once(sqlite_queue_worker, make_user):
    user = make_user("archivist1", "archivist")
    worker = sqlite_queue_worker.start()
    job = services.enqueue("jobs.selftest", {"steps": 200, "delay": 0.05}, user=user)
    wait_for(lambda: _status(job) == JobStatus.RUNNING and job.progress_done >= 1, timeout=30)
    worker.proc.send_signal(signal.SIGTERM)
    worker.proc.wait(timeout=15)
    job.refresh_from_db()
    # No reaper needed: the consumer reported the interrupted task on its way out.
    assert job.status == JobStatus.FAILED, worker.output()
    assert job.message == "执行进程已中断"


def test_retry_after_a_kill_runs_on_a_new_worker(sqlite_queue_worker, make_user, client):
    user = make_user("archivist1", "archivist")
    job = _killed_mid_job(sqlite_queue_worker, user, client)
    services.retry(user, job)
    sqlite_queue_worker.start()
    wait_for(lambda: _status(job) in {JobStatus.SUCCEEDED, JobStatus.FAILED}, timeout=60)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2
