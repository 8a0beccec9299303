"""Background job services 后台任务服务: the registry, enqueueing, running, cancelling, reaping.

All long work (imports, ingests, OCR, reindexing, audits) runs as a *job*: a ``Job`` row users
can watch, executed by a huey worker (``lantai run_huey``, started beside the web server by
``lantai serve``).

Registering a handler — any app adds a ``jobs.py`` module (autodiscovered by
``JobsConfig.ready``)::

    from lantai.jobs.services import JobContext, register

    @register("holdings.reindex", perm="holdings.change_holdings", label=_("重建索引"))
    def reindex(ctx: JobContext) -> dict:
        items = list(...)
        for n, item in enumerate(items, 1):
            ctx.check_cancelled()           # stops here when a user cancelled
            ...
            ctx.progress(n, len(items), _("已处理 %(n)d 件") % {"n": n})
        return {"items": len(items)}        # stored as Job.result (JSON)

and starts it with ``enqueue("holdings.reindex", {"fonds": 3}, user=request.user)``.

Life of a job: queued → running → succeeded | failed | cancelled.

* ``enqueue`` checks the handler's permission, commits the row (with an audit entry), then
  hands the id to huey once the transaction commits.
* ``run_job`` (the huey task) claims the row atomically (queued → running), so a duplicate
  delivery never runs a job twice. A background thread beats the heartbeat every few seconds
  and writes progress at most twice a second, on its own database connection, so progress
  shows even while the handler sits in a long transaction.
* A worker that dies mid-job (SIGKILL, power loss) leaves a *running* row behind;
  ``reap_stale_jobs`` marks it failed ("执行进程已中断"): at once when its process is known to be
  gone (same host), otherwise when its heartbeat is older than
  ``settings.LANTAI_JOB_STALE_SECONDS``. It runs at worker start, every minute in the worker,
  and whenever the job list is shown.
* **A failed job is never retried automatically**: half-done work (an import that stopped at
  row 5,000) must not silently run twice. A person decides, with ``retry(actor, job)`` (the
  "重新执行" button, ``lantai jobs retry``), which re-queues the same row; ``attempts`` counts
  the runs and the audit trail keeps every failure. Handlers that may be retried should be
  idempotent (skip what is already done).
* Handlers should not hold one write transaction longer than the stale interval: on SQLite it
  blocks every other writer, the heartbeat included.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.core.middleware import current_request_id, set_request_id
from lantai.core.permissions import require
from lantai.jobs.models import Job, JobStatus

logger = logging.getLogger("lantai.jobs")

#: When this process started: a running job that claims to be ours but started earlier belongs
#: to a previous process that had the same pid (containers restart with the same pids).
PROCESS_STARTED = timezone.now()
#: Seconds between progress writes (≤ 2 writes per second per job).
PROGRESS_INTERVAL = 0.5
#: Seconds between reads of a cancel request while a job runs.
CANCEL_POLL_SECONDS = 1.0
#: Message of a job whose worker disappeared.
INTERRUPTED = gettext_noop("执行进程已中断")

Handler = Callable[["JobContext"], dict | None]


class JobCancelled(Exception):
    """Raised by ``JobContext.check_cancelled`` to stop a handler a user cancelled."""


@dataclass(frozen=True)
class JobKind:
    """One registered kind of job 任务类型."""

    kind: str
    handler: Handler
    perm: str | None
    label: Any  # str or a lazy translation
    clean: Callable[[dict], dict] | None
    # A resumable kind's handler may be run again after its worker died mid-run (it does
    # its work in idempotent steps); reaping queues it again, up to ``max_attempts`` runs.
    resumable: bool = False
    max_attempts: int = 3

    @property
    def required_perm(self) -> str:
        # A kind without its own permission still needs the general right to start jobs.
        return self.perm or "jobs.run_job"


_REGISTRY: dict[str, JobKind] = {}


def register(
    kind: str,
    *,
    perm: str | None = None,
    label: str = "",
    clean: Callable[[dict], dict] | None = None,
    resumable: bool = False,
    max_attempts: int = 3,
) -> Callable[[Handler], Handler]:
    """Register ``handler(ctx) -> dict | None`` as the job ``kind``.

    ``perm`` is checked when the job is enqueued and again when it starts (the user may have
    lost it meanwhile); without one, ``jobs.run_job`` is required. ``clean(params) -> params``
    validates parameters at enqueue time and raises ``ValidationError({field: [...]})``.
    ``resumable``: the handler is safe to run again after an interrupted run (idempotent
    steps), so a job whose worker died is queued again for another worker instead of failing,
    at most ``max_attempts`` runs in all.
    """

    def decorator(handler: Handler) -> Handler:
        existing = _REGISTRY.get(kind)
        if existing is not None and existing.handler is not handler:
            raise ValueError(f"job kind {kind!r} is already registered by {existing.handler!r}")
        _REGISTRY[kind] = JobKind(
            kind, handler, perm, label or kind, clean, resumable, max(1, max_attempts)
        )
        return handler

    return decorator


def unregister(kind: str) -> None:
    """Remove a kind (tests that register throw-away handlers)."""
    _REGISTRY.pop(kind, None)


def kinds() -> list[JobKind]:
    return sorted(_REGISTRY.values(), key=lambda k: k.kind)


def get_kind(kind: str) -> JobKind:
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise ValidationError({"kind": [_("未知的任务类型：%(kind)s") % {"kind": kind}]}) from None


def kind_label(kind: str) -> str:
    entry = _REGISTRY.get(kind)
    return str(entry.label) if entry else kind


# --- Who sees what --------------------------------------------------------------------------


def sees_all_jobs(user) -> bool:
    """Archivists (馆员) see every job; everyone else sees the jobs he started."""
    if user is None:
        return True
    from lantai.accounts.roles import Role

    return bool(getattr(user, "is_active", False) and user.has_role(Role.ARCHIVIST))


def visible_jobs(user) -> QuerySet[Job]:
    jobs = Job.objects.select_related("created_by")
    if sees_all_jobs(user):
        return jobs
    if not getattr(user, "is_authenticated", False):
        return jobs.none()
    return jobs.filter(created_by=user)


def get_job(user, pk) -> Job:
    """The job ``pk`` if ``user`` may see it; raises Job.DoesNotExist otherwise."""
    try:
        uuid.UUID(str(pk))
    except ValueError:
        raise Job.DoesNotExist from None
    return visible_jobs(user).get(pk=pk)


def _require_control(actor, job: Job) -> None:
    if actor is None:
        return
    if job.created_by_id != getattr(actor, "pk", None) and not sees_all_jobs(actor):
        raise PermissionDenied(_("您只能操作自己提交的任务。"))


# --- Enqueue ----------------------------------------------------------------------------------


def _plain_json(value: Any, field: str) -> Any:
    try:
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))
    except (TypeError, ValueError) as exc:
        raise ValidationError({field: [_("无法保存为 JSON：%(error)s") % {"error": exc}]}) from exc


def enqueue(kind: str, params: dict | None = None, *, user=None) -> Job:
    """Create a queued job and hand it to the worker once the transaction commits.

    ``user`` None means the system (the CLI run by the operator). Raises PermissionDenied
    when the user may not start this kind, ValidationError for an unknown kind or bad params.
    """
    entry = get_kind(kind)
    require(user, entry.required_perm)
    params = dict(params or {})
    if entry.clean is not None:
        params = entry.clean(params)
    params = _plain_json(params, "params")
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            params=params,
            created_by=user if getattr(user, "pk", None) else None,
            request_id=(current_request_id() or uuid.uuid4().hex)[:64],
            message=_("排队等待执行"),
        )
        record(
            AuditAction.JOB,
            actor=user,
            obj=job,
            detail={"event": "enqueue", "kind": kind, "params": params},
        )
        transaction.on_commit(lambda: _schedule(job.pk))
    return job


def _schedule(job_id: uuid.UUID) -> None:
    """Put the job on the huey queue; a queue that cannot be reached fails the job visibly."""
    from lantai.jobs.tasks import run_job_task

    try:
        run_job_task(str(job_id))
    except Exception as exc:
        logger.exception("could not queue job %s", job_id)
        _finish_failed(
            job_id,
            message=_("无法提交到任务队列：%(error)s") % {"error": exc},
            error=traceback.format_exc(),
            only_status=JobStatus.QUEUED,
        )


# --- Running ----------------------------------------------------------------------------------


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


class JobContext:
    """What a handler gets: the job, its params and user, progress and cancellation."""

    def __init__(self, job: Job, *, background: bool):
        self.job = job
        self.params: dict = dict(job.params or {})
        self.user = job.created_by
        self._lock = threading.Lock()
        self._done = job.progress_done
        self._total = job.progress_total
        self._message = job.message
        self.final_message = ""
        self._dirty = False
        self._cancel_requested = job.cancel_requested_at is not None
        self._background = background
        self._last_write = 0.0
        self._last_cancel_check = 0.0

    # Called by handlers ---------------------------------------------------------------------
    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Report progress. Cheap: the row is written at most twice a second."""
        with self._lock:
            self._done = int(done)
            if total is not None:
                self._total = int(total)
            if message:
                self._message = self.final_message = str(message)[:300]
            self._dirty = True
        if not self._background and time.monotonic() - self._last_write >= PROGRESS_INTERVAL:
            self.flush()

    def check_cancelled(self) -> None:
        """Raise JobCancelled when a user asked to cancel this job."""
        if not self._background and time.monotonic() - self._last_cancel_check >= 1.0:
            self._last_cancel_check = time.monotonic()
            self._cancel_requested = Job.objects.filter(
                pk=self.job.pk, cancel_requested_at__isnull=False
            ).exists()
        if self._cancel_requested:
            raise JobCancelled

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested

    # Used by run_job and the heartbeat thread ------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "progress_done": self._done,
                "progress_total": self._total,
                "message": self._message,
            }

    def flush(self) -> None:
        """Write progress (and the heartbeat) to the row, and read back a cancel request."""
        with self._lock:
            dirty, self._dirty = self._dirty, False
        fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
        if dirty:
            fields.update(self.snapshot())
        try:
            Job.objects.filter(
                pk=self.job.pk, status=JobStatus.RUNNING, attempts=self.job.attempts
            ).update(**fields)
        except Exception:
            if dirty:
                self._dirty = True  # write it next time
            raise
        self._last_write = time.monotonic()
        self.refresh_cancel()

    def refresh_cancel(self) -> None:
        self._last_cancel_check = time.monotonic()
        self._cancel_requested = Job.objects.filter(
            pk=self.job.pk, cancel_requested_at__isnull=False
        ).exists()

    @property
    def dirty(self) -> bool:
        return self._dirty

    @property
    def last_cancel_check(self) -> float:
        return self._last_cancel_check


def heartbeat_seconds() -> float:
    stale = float(getattr(settings, "LANTAI_JOB_STALE_SECONDS", 60))
    return float(getattr(settings, "LANTAI_JOB_HEARTBEAT_SECONDS", max(0.5, min(5.0, stale / 4))))


class _Heartbeat(threading.Thread):
    """Beats the heartbeat and writes throttled progress on its own DB connection."""

    def __init__(self, ctx: JobContext):
        super().__init__(name=f"job-heartbeat-{ctx.job.pk}", daemon=True)
        self.ctx = ctx
        self.stop_event = threading.Event()
        self.interval = heartbeat_seconds()

    def run(self) -> None:
        last_beat = time.monotonic()
        try:
            while not self.stop_event.wait(PROGRESS_INTERVAL):
                due = time.monotonic() - last_beat >= self.interval
                try:
                    if self.ctx.dirty or due:
                        self.ctx.flush()
                        last_beat = time.monotonic()
                    elif time.monotonic() - self.ctx.last_cancel_check >= CANCEL_POLL_SECONDS:
                        # A cheap read, so a cancel is seen within a second or so.
                        self.ctx.refresh_cancel()
                except Exception:
                    # A busy database must not kill the job; the next beat tries again.
                    logger.warning("heartbeat of job %s failed", self.ctx.job.pk, exc_info=True)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)


def _readable(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        text = "；".join(str(m) for m in exc.messages)
    elif isinstance(exc, PermissionDenied):
        text = str(exc) or _("没有权限")
    else:
        text = f"{type(exc).__name__}: {exc}"
    return (_("执行失败：%(error)s") % {"error": text})[:300]


def _claim(job_id) -> Job | None:
    """queued → running, atomically: only one worker ever gets a given attempt."""
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != JobStatus.QUEUED:
            return None
        job.status = JobStatus.RUNNING
        job.worker = worker_id()
        job.started_at = now
        job.heartbeat_at = now
        job.finished_at = None
        job.attempts += 1
        job.message = _("正在执行")
        job.save(
            update_fields=[
                "status",
                "worker",
                "started_at",
                "heartbeat_at",
                "finished_at",
                "attempts",
                "message",
            ]
        )
    return Job.objects.select_related("created_by").get(pk=job_id)


def _final_update(job: Job, **fields: Any) -> bool:
    """Store the outcome of this attempt.

    A job the reaper took for dead but that did finish (its heartbeat was blocked) gets its
    true outcome back; a row re-queued by a retry meanwhile (another attempt) is left alone.
    """
    updated = Job.objects.filter(
        pk=job.pk,
        attempts=job.attempts,
        worker=job.worker,
        status__in=[JobStatus.RUNNING, JobStatus.FAILED],
    ).update(finished_at=timezone.now(), heartbeat_at=timezone.now(), **fields)
    if not updated:
        logger.warning("job %s changed while it ran; outcome %s dropped", job.pk, fields)
    return bool(updated)


def _finish_failed(job_id, *, message: str, error: str, only_status: str, **filters) -> bool:
    with transaction.atomic():
        updated = Job.objects.filter(pk=job_id, status=only_status, **filters).update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            message=message[:300],
            error=error,
        )
        if updated:
            job = Job.objects.get(pk=job_id)
            record(
                AuditAction.JOB,
                obj=job,
                username="system",
                detail={"event": "failed", "kind": job.kind, "message": message},
            )
    return bool(updated)


def run_job(job_id) -> str | None:
    """Run one job (the huey task body). Returns the final status, None if not claimed."""
    job = _claim(job_id)
    if job is None:
        logger.info("job %s not claimed (missing, cancelled or already taken)", job_id)
        return None
    outer_request_id = current_request_id()
    set_request_id(job.request_id)
    # Inside an outer transaction (tests) another connection could not see the row: write
    # progress inline instead of from the heartbeat thread.
    background = not connection.in_atomic_block
    ctx = JobContext(job, background=background)
    beat = _Heartbeat(ctx) if background else None
    if beat is not None:
        beat.start()
    outcome: dict[str, Any]
    try:
        try:
            entry = get_kind(job.kind)
            require(job.created_by, entry.required_perm)
            if job.cancel_requested_at is not None:
                raise JobCancelled
            result = entry.handler(ctx)
            outcome = {
                "status": JobStatus.SUCCEEDED,
                "result": _plain_json(result or {}, "result"),
                "message": ctx.final_message or _("已完成"),
            }
        except JobCancelled:
            outcome = {"status": JobStatus.CANCELLED, "message": _("已取消")}
        except Exception as exc:
            logger.warning("job %s (%s) failed", job.pk, job.kind, exc_info=True)
            outcome = {
                "status": JobStatus.FAILED,
                "message": _readable(exc),
                "error": traceback.format_exc(),
            }
    finally:
        if beat is not None:
            beat.stop()
    try:
        snap = ctx.snapshot()
        fields = {
            "progress_done": snap["progress_done"],
            "progress_total": snap["progress_total"],
            **outcome,
        }
        if outcome["status"] == JobStatus.SUCCEEDED and snap["progress_total"]:
            fields["progress_done"] = max(snap["progress_done"], snap["progress_total"])
        with transaction.atomic():
            stored = _final_update(job, **fields)
            if stored and outcome["status"] != JobStatus.SUCCEEDED:
                record(
                    AuditAction.JOB,
                    obj=job,
                    actor=None,
                    username="system",
                    detail={
                        "event": str(outcome["status"]),
                        "kind": job.kind,
                        "message": outcome["message"],
                        "attempt": job.attempts,
                    },
                )
    finally:
        set_request_id(outer_request_id)
    return str(outcome["status"])


# --- Cancel, retry --------------------------------------------------------------------------


def cancel(actor, job: Job) -> Job:
    """Cancel a job: a queued one at once, a running one at its next check_cancelled()."""
    _require_control(actor, job)
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.finished:
            raise ValidationError({"status": [_("任务已结束，无法取消。")]})
        if job.status == JobStatus.QUEUED:
            job.status = JobStatus.CANCELLED
            job.finished_at = now
            job.message = _("已取消")
        else:
            job.message = _("正在取消……")
        job.cancel_requested_at = now
        job.save(update_fields=["status", "finished_at", "message", "cancel_requested_at"])
        record(AuditAction.JOB, actor=actor, obj=job, detail={"event": "cancel", "kind": job.kind})
    return job


def retry(actor, job: Job) -> Job:
    """Queue a failed or cancelled job again (same row; ``attempts`` counts the runs)."""
    _require_control(actor, job)
    entry = get_kind(job.kind)
    require(actor, entry.required_perm)
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise ValidationError({"status": [_("只有失败或已取消的任务可以重新执行。")]})
        previous = {"status": job.status, "message": job.message, "attempts": job.attempts}
        job.status = JobStatus.QUEUED
        job.progress_done = 0
        job.progress_total = None
        job.message = _("排队等待执行")
        job.result = {}
        job.error = ""
        job.started_at = job.finished_at = job.heartbeat_at = job.cancel_requested_at = None
        job.worker = ""
        job.request_id = (current_request_id() or job.request_id)[:64]
        job.save()
        record(
            AuditAction.JOB,
            actor=actor,
            obj=job,
            detail={"event": "retry", "kind": job.kind, "previous": previous},
        )
        transaction.on_commit(lambda: _schedule(job.pk))
    return job


# --- Reaping dead jobs ------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state not in {"Z", "X"}
    except (OSError, IndexError):
        return True


def _local_worker_gone(job: Job, host: str) -> bool:
    name, _sep, pid_text = job.worker.rpartition(":")
    if name != host or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return job.started_at is not None and job.started_at < PROCESS_STARTED
    return not pid_alive(pid)


def reap_stale_jobs(*, now: datetime | None = None) -> list[Job]:
    """Mark running jobs whose worker is gone as failed ("执行进程已中断"); returns them.

    Gone means: on this host, the worker's process no longer exists; anywhere, no heartbeat
    for ``settings.LANTAI_JOB_STALE_SECONDS``. Reaped jobs are not retried automatically.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.LANTAI_JOB_STALE_SECONDS)
    host = socket.gethostname()
    candidates = Job.objects.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True) | Q(worker__startswith=f"{host}:")
    )
    reaped: list[Job] = []
    for job in candidates:
        if job.heartbeat_at is None or job.heartbeat_at < cutoff:
            why = (
                f"no heartbeat since {job.heartbeat_at} (stale after "
                f"{settings.LANTAI_JOB_STALE_SECONDS}s)"
            )
        elif _local_worker_gone(job, host):
            why = f"worker process {job.worker} no longer exists"
        else:
            continue
        entry = _REGISTRY.get(job.kind)
        if entry is not None and entry.resumable and job.attempts < entry.max_attempts:
            if _requeue_interrupted(job, why):
                reaped.append(Job.objects.get(pk=job.pk))
            continue
        error = (
            f"Worker {job.worker} stopped while running attempt {job.attempts}: {why}. "
            "Marked failed by reap_stale_jobs; not retried automatically (use retry)."
        )
        if _finish_failed(
            job.pk,
            message=_(INTERRUPTED),
            error=error,
            only_status=JobStatus.RUNNING,
            attempts=job.attempts,
            worker=job.worker,
        ):
            reaped.append(Job.objects.get(pk=job.pk))
    return reaped


def _requeue_interrupted(job: Job, why: str) -> bool:
    """Put a resumable job whose worker died back on the queue (once: the update is
    conditional on the run that died, so two reapers cannot both requeue it)."""
    with transaction.atomic():
        updated = Job.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts, worker=job.worker
        ).update(
            status=JobStatus.QUEUED,
            message=_("执行进程已中断，已重新排队"),
            worker="",
            heartbeat_at=None,
            cancel_requested_at=None,
        )
        if not updated:
            return False
        record(
            AuditAction.JOB,
            obj=job,
            username="system",
            detail={
                "event": "requeued",
                "kind": job.kind,
                "attempt": job.attempts,
                "worker": job.worker,
                "why": why,
            },
        )
        transaction.on_commit(lambda: _schedule(job.pk))
    logger.warning("job %s (%s) requeued after its worker stopped: %s", job.pk, job.kind, why)
    return True


def mark_interrupted(job_id) -> bool:
    """The consumer stopped without finishing this job (huey's "interrupted" signal)."""
    job = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, worker=worker_id()).first()
    entry = _REGISTRY.get(job.kind) if job is not None else None
    if (
        job is not None
        and entry is not None
        and entry.resumable
        and (job.attempts < entry.max_attempts)
    ):
        return _requeue_interrupted(job, f"worker {job.worker} shut down")
    return _finish_failed(
        job_id,
        message=_(INTERRUPTED),
        error=f"Worker {worker_id()} shut down while the job was running; not retried "
        "automatically (use retry).",
        only_status=JobStatus.RUNNING,
        worker=worker_id(),
    )


def reap_in_worker() -> None:
    """reap_stale_jobs for huey hooks, with a fresh connection and no exception escaping."""
    close_old_connections()
    try:
        reaped = reap_stale_jobs()
        if reaped:
            logger.warning("marked %d interrupted job(s) as failed", len(reaped))
    except Exception:
        logger.exception("reap_stale_jobs failed")
    finally:
        close_old_connections()
