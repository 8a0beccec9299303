"""The job service layer in immediate mode: a job runs in-process when its row commits."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from lantai.audit.models import AuditEntry
from lantai.jobs import services
from lantai.jobs.models import Job, JobStatus


def audit_events(job: Job) -> list[str]:
    entries = AuditEntry.objects.filter(object_type="jobs.job", object_id=str(job.pk))
    return [e.detail.get("event") for e in entries.order_by("seq")]


@pytest.fixture
def archivist(make_user):
    return make_user("archivist1", "archivist")


@pytest.fixture
def keeper(make_user):
    return make_user("keeper1", "keeper")


def test_selftest_runs_and_stores_result(transactional_db, archivist):
    job = services.enqueue("jobs.selftest", {"steps": 3, "delay": 0}, user=archivist)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["steps"] == 3
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.message == "第 3/3 步"
    assert job.attempts == 1
    assert job.worker == f"{socket.gethostname()}:{os.getpid()}"
    assert job.started_at <= job.finished_at
    assert job.created_by == archivist
    assert job.error == ""
    assert audit_events(job) == ["enqueue"]


def test_failure_keeps_traceback_and_readable_message(transactional_db, archivist):
    job = services.enqueue("jobs.selftest", {"steps": 1, "delay": 0, "fail": True}, user=archivist)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "自检按要求以失败结束" in job.message
    assert job.message.startswith("执行失败")
    assert "Traceback" in job.error and "RuntimeError" in job.error
    assert job.finished_at is not None
    assert audit_events(job) == ["enqueue", "failed"]


def test_failure_audit_carries_the_request_id(transactional_db, archivist):
    from lantai.core.middleware import set_request_id

    set_request_id("req-abc-123")
    try:
        job = services.enqueue("jobs.selftest", {"steps": 0, "fail": True}, user=archivist)
    finally:
        set_request_id("")
    assert job.request_id == "req-abc-123"
    entries = AuditEntry.objects.filter(object_id=str(job.pk))
    assert {e.request_id for e in entries} == {"req-abc-123"}


def test_permission_refused_creates_nothing(transactional_db, keeper, make_user):
    # The keeper may watch jobs but not start them; the archivist may not verify the audit
    # chain (only the auditor, 三员分立).
    with pytest.raises(PermissionDenied):
        services.enqueue("jobs.selftest", {"steps": 1}, user=keeper)
    archivist = make_user("archivist2", "archivist")
    with pytest.raises(PermissionDenied):
        services.enqueue("audit.verify", user=archivist)
    assert not Job.objects.exists()


def test_auditor_verifies_the_audit_chain(transactional_db, make_user, archivist):
    # Some audit entries to walk.
    services.enqueue("jobs.selftest", {"steps": 0}, user=archivist)
    auditor = make_user("auditor1", "auditor")
    job = services.enqueue("audit.verify", user=auditor)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["ok"] is True
    # Every entry, its own "enqueue" included, was walked (success adds no entry).
    assert job.result["checked"] == AuditEntry.objects.count()
    assert "审计链完整" in job.message


def test_unknown_kind_and_bad_params_are_field_errors(transactional_db, archivist):
    with pytest.raises(ValidationError) as exc:
        services.enqueue("no.such.job", user=archivist)
    assert "kind" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.enqueue("jobs.selftest", {"steps": "many", "colour": 1}, user=archivist)
    assert set(exc.value.message_dict) == {"steps", "params"}
    assert not Job.objects.exists()


def test_enqueue_in_a_rolled_back_transaction_leaves_nothing(transactional_db, archivist):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.enqueue("jobs.selftest", {"steps": 1, "delay": 0}, user=archivist)
        raise RuntimeError("roll back")
    assert not Job.objects.exists()


def test_progress_is_visible_while_running_and_throttled(
    transactional_db, archivist, job_kind, monkeypatch
):
    writes = []
    original = services.JobContext.flush

    def counting_flush(self):
        writes.append(time.monotonic())
        original(self)

    monkeypatch.setattr(services.JobContext, "flush", counting_flush)

    def handler(ctx):
        started = time.monotonic()
        for i in range(1, 20001):
            ctx.progress(i, 20000, f"第 {i} 条")
        time.sleep(1.2)
        seen = Job.objects.get(pk=ctx.job.pk)  # written by the heartbeat thread
        return {
            "seen_done": seen.progress_done,
            "seen_message": seen.message,
            "seconds": time.monotonic() - started,
        }

    kind = job_kind("test.progress", handler)
    job = services.enqueue(kind, user=archivist)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["seen_done"] == 20000
    assert job.result["seen_message"] == "第 20000 条"
    # 20,000 progress calls became a handful of writes: at most ~2 per second.
    assert len(writes) <= 2 * job.result["seconds"] + 2


def test_cancel_a_queued_job(db, archivist):
    # With the plain db fixture the transaction never commits, so the job stays queued.
    job = services.enqueue("jobs.selftest", {"steps": 1}, user=archivist)
    job = services.cancel(archivist, job)
    assert job.status == JobStatus.CANCELLED
    assert services.run_job(job.pk) is None  # a late delivery does not run it
    job.refresh_from_db()
    assert job.attempts == 0
    with pytest.raises(ValidationError) as exc:
        services.cancel(archivist, job)
    assert "status" in exc.value.message_dict


def test_cancel_a_running_job_stops_at_the_next_check(transactional_db, archivist, job_kind):
    def handler(ctx):
        for i in range(1, 101):
            if i == 3:
                # Another session cancels while this one works.
                services.cancel(None, Job.objects.get(pk=ctx.job.pk))
            ctx.check_cancelled()
            ctx.progress(i, 100)
            time.sleep(0.05)
        return {"done": 100}

    kind = job_kind("test.cancel", handler)
    job = services.enqueue(kind, user=archivist)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert job.progress_done < 100
    assert job.message == "已取消"
    assert audit_events(job) == ["enqueue", "cancel", "cancelled"]


def test_only_the_owner_or_an_archivist_controls_a_job(transactional_db, make_user, keeper):
    owner = make_user("owner", "archivist")
    job = services.enqueue("jobs.selftest", {"steps": 0, "fail": True}, user=owner)
    with pytest.raises(PermissionDenied):
        services.retry(keeper, job)
    assert services.visible_jobs(keeper).count() == 0
    with pytest.raises(Job.DoesNotExist):
        services.get_job(keeper, job.pk)
    assert services.get_job(owner, job.pk) == job
    other_archivist = make_user("archivist9", "archivist")
    assert services.get_job(other_archivist, job.pk) == job


def test_retry_requeues_the_same_row(transactional_db, archivist, job_kind):
    def flaky(ctx):
        if ctx.job.attempts == 1:
            raise ValueError("网络中断")
        return {"attempt": ctx.job.attempts}

    kind = job_kind("test.flaky", flaky)
    job = services.enqueue(kind, user=archivist)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "网络中断" in job.message
    services.retry(archivist, job)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 2
    assert job.result == {"attempt": 2}
    assert job.error == ""
    assert audit_events(job) == ["enqueue", "failed", "retry"]
    with pytest.raises(ValidationError):
        services.retry(archivist, job)  # a finished, successful job is not run again


def test_run_rechecks_the_permission(transactional_db, archivist):
    with transaction.atomic():
        job = services.enqueue("jobs.selftest", {"steps": 0}, user=archivist)
        # The user loses the role before the worker starts the job.
        archivist.groups.clear()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "权限" in job.message


def _running_job(worker: str, heartbeat_age: float, started_age: float = 0) -> Job:
    now = timezone.now()
    return Job.objects.create(
        kind="jobs.selftest",
        status=JobStatus.RUNNING,
        worker=worker,
        attempts=1,
        started_at=now - timedelta(seconds=started_age),
        heartbeat_at=now - timedelta(seconds=heartbeat_age),
    )


@override_settings(LANTAI_JOB_STALE_SECONDS=30)
def test_reap_stale_heartbeat_and_dead_local_process(db):
    host = socket.gethostname()
    stale_remote = _running_job("elsewhere:4242", heartbeat_age=31, started_age=40)
    fresh_remote = _running_job("elsewhere:4243", heartbeat_age=5)
    # A process that has exited: its pid is free.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_local = _running_job(f"{host}:{int(gone.stdout)}", heartbeat_age=1)
    alive_local = _running_job(f"{host}:{os.getpid()}", heartbeat_age=1)
    # Same pid as this process but started before it: a previous process reusing the pid.
    reused_pid = _running_job(f"{host}:{os.getpid()}", heartbeat_age=1, started_age=0)
    Job.objects.filter(pk=reused_pid.pk).update(
        started_at=services.PROCESS_STARTED - timedelta(seconds=5)
    )

    reaped = {job.pk for job in services.reap_stale_jobs()}
    assert reaped == {stale_remote.pk, dead_local.pk, reused_pid.pk}
    for job in (stale_remote, dead_local, reused_pid):
        job.refresh_from_db()
        assert job.status == JobStatus.FAILED
        assert job.message == "执行进程已中断"
        assert "not retried automatically" in job.error
        assert audit_events(job) == ["failed"]
    for job in (fresh_remote, alive_local):
        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING
    assert services.reap_stale_jobs() == []  # idempotent


def test_a_reaped_job_that_finishes_after_all_gets_its_true_outcome(
    transactional_db, archivist, job_kind
):
    def slow_beat(ctx):
        # The reaper runs while this handler is still at work (say its heartbeat was blocked).
        Job.objects.filter(pk=ctx.job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
        assert [j.pk for j in services.reap_stale_jobs()] == [ctx.job.pk]
        return {"finished": True}

    kind = job_kind("test.slowbeat", slow_beat)
    job = services.enqueue(kind, user=archivist)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result == {"finished": True}


def test_queue_unreachable_fails_the_job_visibly(transactional_db, archivist, monkeypatch):
    from lantai.jobs import tasks

    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(tasks, "run_job_task", broken)
    job = services.enqueue("jobs.selftest", {"steps": 1}, user=archivist)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "无法提交到任务队列" in job.message


@override_settings(LANTAI_JOB_HEARTBEAT_SECONDS=0.5)
def test_heartbeat_beats_without_progress_calls(transactional_db, archivist, job_kind):
    def quiet(ctx):
        first = Job.objects.get(pk=ctx.job.pk).heartbeat_at
        time.sleep(1.3)  # a long step that reports nothing
        later = Job.objects.get(pk=ctx.job.pk).heartbeat_at
        return {"beats": later > first}

    job = services.enqueue(job_kind("test.quiet", quiet), user=archivist)
    job.refresh_from_db()
    assert job.result == {"beats": True}


def test_cancel_is_seen_without_progress_calls(transactional_db, archivist, job_kind):
    def no_progress(ctx):
        started = time.monotonic()
        services.cancel(None, Job.objects.get(pk=ctx.job.pk))
        while time.monotonic() - started < 10:
            ctx.check_cancelled()
            time.sleep(0.05)
        return {}

    started = time.monotonic()
    job = services.enqueue(job_kind("test.noprogress", no_progress), user=archivist)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert time.monotonic() - started < 3
