"""Resumable job kinds: when a worker dies mid-run, the job goes back on the queue for another
worker (at most ``max_attempts`` runs) instead of failing; other kinds still fail visibly."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from lantai.audit.models import AuditEntry
from lantai.jobs import services
from lantai.jobs.models import Job, JobStatus

HOST = socket.gethostname()


def _orphan(kind: str, user, attempts: int = 1) -> Job:
    # Left "running" by a worker on another machine that stopped beating its heart.
    now = timezone.now()
    return Job.objects.create(
        kind=kind,
        params={"steps": 2, "delay": 0, "fail": False},
        status=JobStatus.RUNNING,
        worker="elsewhere:4242",
        attempts=attempts,
        started_at=now - timedelta(minutes=5),
        heartbeat_at=now - timedelta(minutes=5),
        created_by=user,
    )


@pytest.fixture
def resumable_kind(job_kind):
    calls = []

    def handler(ctx):
        calls.append(ctx.job.attempts)
        return {"attempt": ctx.job.attempts}

    services.register("test.resumable", perm="jobs.run_job", resumable=True, max_attempts=3)(
        handler
    )
    yield calls
    services.unregister("test.resumable")


def test_a_resumable_job_is_requeued_and_finished_by_another_worker(
    db, make_user, resumable_kind, django_capture_on_commit_callbacks
):
    user = make_user("archivist1", "archivist")
    job = _orphan("test.resumable", user)
    with django_capture_on_commit_callbacks(execute=True):
        reaped = services.reap_stale_jobs()
    assert [j.pk for j in reaped] == [job.pk]
    job.refresh_from_db()
    # The immediate queue ran it at once: once more, not twice.
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2 and resumable_kind == [2]
    events = [
        e.detail.get("event")
        for e in AuditEntry.objects.filter(object_id=str(job.pk)).order_by("seq")
    ]
    assert "requeued" in events
    # A second reaper finds nothing to do.
    assert services.reap_stale_jobs() == []


def test_a_resumable_job_fails_after_its_last_attempt(db, make_user, resumable_kind):
    user = make_user("archivist1", "archivist")
    job = _orphan("test.resumable", user, attempts=3)
    services.reap_stale_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.message == "执行进程已中断"
    assert resumable_kind == []


def test_other_kinds_still_fail_visibly(db, make_user):
    user = make_user("archivist1", "archivist")
    job = _orphan("jobs.selftest", user)
    services.reap_stale_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_the_fixity_audit_is_resumable(db):
    assert services.get_kind("preservation.fixity_audit").resumable
