"""Fixity audits 固定性检查 — the long-term-preservation stage (长期保存环节, BC).

An audit re-reads every copy of every stored object on one location (or all), compares size,
SHA-256 and SM3 with the registered values, and for a copy found missing or corrupt records a
PREMIS ``fixity check`` failure, repairs it from a good replica (``storage.repair_copy``: the
damaged bytes are kept aside, never edited in place) and records a ``recovery`` event. An
object that has no copy yet on an active location (a location added later) is given one.
Each AIP whose files all passed gets one ``fixity check`` success event per audit.

Run it with ``lantai fixity-audit [--location L] [--workers N]``; the huey worker runs it
daily (``LANTAI_FIXITY_HOUR``, default 2 o'clock) as a job. The history is on /preservation/fixity/.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.core.permissions import require
from lantai.preservation import events as ev
from lantai.preservation.models import (
    Aip,
    EventOutcome,
    FixityAudit,
    FixityAuditStatus,
    PreservationEvent,
)
from lantai.storage import services as storage
from lantai.storage.backends import StorageError
from lantai.storage.models import CopyStatus, ObjectCopy, StorageLocation, StoredObject

PERM = "preservation.run_fixity"
#: Problems listed one by one in an audit's report (the counts are always complete).
MAX_LISTED = 1000

Progress = Callable[..., None]


def _location_or_error(location) -> StorageLocation | None:
    if location is None or isinstance(location, StorageLocation):
        return location
    try:
        return StorageLocation.objects.get(code=str(location))
    except StorageLocation.DoesNotExist:
        from django.core.exceptions import ValidationError

        raise ValidationError(
            {"location": [_("存储位置“%(code)s”不存在") % {"code": location}]}
        ) from None


def _verify_all(copies: list[ObjectCopy], workers: int, actor, on_done) -> None:
    """verify_copy for every copy, on ``workers`` threads (each with its own connection)."""
    if workers <= 1:
        for copy in copies:
            on_done(copy, storage.verify_copy(copy, actor=actor), None)
        return
    work: queue.Queue = queue.Queue()
    for copy in copies:
        work.put(copy)
    results: queue.Queue = queue.Queue()

    def worker() -> None:
        try:
            while True:
                try:
                    copy = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    results.put((copy, storage.verify_copy(copy, actor=actor), None))
                except Exception as exc:  # one unreadable copy must not stop the audit
                    results.put((copy, None, exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _n in range(workers)]
    for thread in threads:
        thread.start()
    remaining = len(copies)
    while remaining:
        copy, status, exc = results.get()
        remaining -= 1
        on_done(copy, status, exc)
    for thread in threads:
        thread.join()


def run_audit(
    *,
    location=None,
    workers: int = 1,
    actor=None,
    progress: Progress | None = None,
    scheduled: bool = False,
    job=None,
) -> FixityAudit:
    """Audit every copy on ``location`` (a StorageLocation or its code; None = all active
    locations) with ``workers`` threads; repair what is missing or corrupt from a good replica.
    Returns the finished FixityAudit (its ``report`` lists the problems)."""
    require(actor, PERM)
    location = _location_or_error(location)
    workers = max(1, min(int(workers or 1), 32))
    if connection.in_atomic_block:
        # Worker threads use their own connections: inside a caller's transaction they could
        # not see its rows, and on SQLite they would wait on its write lock.
        workers = 1
    with transaction.atomic():
        if job is not None:
            # A run of this job whose worker died left its audit "running": this run
            # replaces it (checking a copy twice changes nothing).
            FixityAudit.objects.filter(job=job, status=FixityAuditStatus.RUNNING).update(
                status=FixityAuditStatus.FAILED,
                finished_at=timezone.now(),
                report={"error": "interrupted: the worker stopped; the job ran again"},
            )
        audit = FixityAudit.objects.create(
            location=location,
            scheduled=scheduled,
            triggered_by=actor if getattr(actor, "pk", None) else None,
            job=job,
        )
        record(
            AuditAction.SYSTEM,
            actor=actor,
            obj=audit,
            detail={"event": "fixity_audit_start", "location": getattr(location, "code", None)},
        )
    try:
        _run(audit, location, workers, actor, progress)
    except BaseException as exc:
        FixityAudit.objects.filter(pk=audit.pk).update(
            status=FixityAuditStatus.FAILED,
            finished_at=timezone.now(),
            report={**audit.report, "error": str(exc)[:2000]},
        )
        raise
    return audit


def _run(audit: FixityAudit, location, workers: int, actor, progress: Progress | None) -> None:
    storage.active_locations()  # locations from the environment, as on any storage use
    targets = (
        [location] if location is not None else list(StorageLocation.objects.filter(active=True))
    )
    per_location: dict[str, dict[str, int]] = {
        loc.code: {"checked": 0, "ok": 0, "missing": 0, "corrupt": 0, "repaired": 0, "added": 0}
        for loc in targets
    }
    problems: list[dict[str, Any]] = []

    # Objects without a copy on a target location (it was added later): give them one.
    for loc in targets:
        lacking = StoredObject.objects.filter(
            ~Exists(ObjectCopy.objects.filter(object=OuterRef("pk"), location=loc))
        )
        for obj in lacking.iterator():
            try:
                storage.add_copy(obj, loc, actor=actor)
                per_location[loc.code]["added"] += 1
                _aip_event(
                    obj,
                    ev.REPLICATION,
                    "success",
                    _("新增存储位置副本：%(loc)s") % {"loc": loc.code},
                    loc,
                )
            except StorageError as exc:
                problems.append(_problem(obj, loc, "missing", False, str(exc)))

    copies = list(
        ObjectCopy.objects.select_related("object", "location")
        .filter(location__in=targets)
        .order_by("object_id", "location_id")
    )
    total = len(copies)
    done = 0
    failed_objects: set[int] = set()
    counters = {"bytes": 0, "failures": 0, "repaired": 0}

    def on_done(copy: ObjectCopy, status: str | None, exc: Exception | None) -> None:
        nonlocal done
        done += 1
        code = copy.location.code
        stats = per_location[code]
        stats["checked"] += 1
        counters["bytes"] += copy.object.size
        if exc is not None:
            # Unreadable for another reason (a network error): reported, not repaired blindly.
            failed_objects.add(copy.object_id)
            counters["failures"] += 1
            problems.append(_problem(copy.object, copy.location, "error", False, str(exc)))
            return
        if status == CopyStatus.OK:
            stats["ok"] += 1
        else:
            stats[status] += 1
            counters["failures"] += 1
            failed_objects.add(copy.object_id)
            _handle_damage(copy, status, actor, stats, counters, problems)
        if progress is not None:
            progress(done, total, _("已检查 %(n)d / %(t)d 个副本") % {"n": done, "t": total})

    _verify_all(copies, workers, actor, on_done)

    # One success event per AIP whose files were all good in this audit. (Sets of ids go to
    # the database in slices: SQLite limits the variables of one statement.)
    now = timezone.now()
    failed = sorted(failed_objects)
    bad_ids: set = set()
    for start in range(0, len(failed), 500):
        bad_ids.update(
            Aip.objects.filter(files__object_id__in=failed[start : start + 500]).values_list(
                "pk", flat=True
            )
        )
    good_ids = [
        pk
        for pk in Aip.objects.filter(files__object__copies__location__in=targets)
        .values_list("pk", flat=True)
        .distinct()
        if pk not in bad_ids
    ]
    detail = _("固定性检查通过（第 %(n)d 次检查）") % {"n": audit.pk}
    for start in range(0, len(good_ids), 500):
        chunk = good_ids[start : start + 500]
        PreservationEvent.objects.bulk_create(
            PreservationEvent(
                aip_id=pk,
                event_type=ev.FIXITY_CHECK,
                event_datetime=now,
                outcome=EventOutcome.SUCCESS,
                detail=detail,
                outcome_detail={"audit": audit.pk},
                agent=ev.SYSTEM_AGENT,
            )
            for pk in chunk
        )
        Aip.objects.filter(pk__in=chunk).update(verified_at=now)

    audit.copies_checked = total
    audit.bytes_checked = counters["bytes"]
    audit.failures = counters["failures"]
    audit.repaired = counters["repaired"]
    audit.status = FixityAuditStatus.DONE
    audit.finished_at = timezone.now()
    audit.report = {
        "locations": per_location,
        "problems": problems[:MAX_LISTED],
        "problems_total": len(problems),
        "aips_ok": len(good_ids),
        "aips_with_problems": sorted(str(pk) for pk in bad_ids)[:100],
        "workers": workers,
    }
    with transaction.atomic():
        audit.save()
        record(
            AuditAction.SYSTEM,
            actor=actor,
            obj=audit,
            detail={
                "event": "fixity_audit",
                "checked": total,
                "failures": audit.failures,
                "repaired": audit.repaired,
            },
        )


def _problem(obj, location, status: str, repaired: bool, error: str = "") -> dict[str, Any]:
    return {
        "key": obj.key,
        "object": obj.pk,
        "location": location.code,
        "status": status,
        "repaired": repaired,
        "error": error[:500],
    }


def _aips_of(obj) -> list[Aip]:
    return list(Aip.objects.filter(files__object=obj).distinct())


def _aip_event(obj, event_type: str, outcome: str, detail: str, location, **extra) -> None:
    """One event per AIP holding ``obj`` (or one unattached event for a non-AIP object)."""
    for aip in _aips_of(obj) or [None]:
        ev.record_event(
            event_type,
            outcome,
            aip=aip,
            object=obj,
            detail=detail,
            outcome_detail={"location": location.code, "key": obj.key, **extra},
        )


def _handle_damage(copy, status, actor, stats, counters, problems) -> None:
    obj, loc = copy.object, copy.location
    where = {"key": obj.key, "loc": loc.code, "status": CopyStatus(status).label}
    _aip_event(
        obj,
        ev.FIXITY_CHECK,
        "failure",
        _("副本%(status)s：%(key)s（%(loc)s）") % where,
        loc,
        status=status,
    )
    try:
        storage.repair_copy(copy, actor=actor)
    except StorageError as exc:
        problems.append(_problem(obj, loc, status, False, str(exc)))
        _aip_event(obj, ev.RECOVERY, "failure", _("无法修复：%(key)s（%(loc)s）") % where, loc)
        return
    stats["repaired"] += 1
    counters["repaired"] += 1
    problems.append(_problem(obj, loc, status, True))
    _aip_event(obj, ev.RECOVERY, "success", _("已由完好副本修复：%(key)s（%(loc)s）") % where, loc)


def recent_audits(limit: int = 50):
    """The latest audits, newest first (the history shown in the UI)."""
    return FixityAudit.objects.select_related("location", "triggered_by").order_by("-started_at")[
        :limit
    ]
