"""PREMIS events 保存事件: every step an AIP goes through (ingestion, fixity check, format
identification, replication, recovery, dissemination…) is recorded as one row.

Event types use the Library of Congress PREMIS event type vocabulary
(https://id.loc.gov/vocabulary/preservation/eventType), so the rows map one to one onto the
``premis:event`` elements written into an AIP's METS document.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from lantai.preservation.models import EventOutcome, PreservationEvent

# PREMIS event types used by Lantai (LoC vocabulary terms).
INGESTION = "ingestion"
TRANSFER = "transfer"
VALIDATION = "validation"
FIXITY_CHECK = "fixity check"
DIGEST_CALCULATION = "message digest calculation"
FORMAT_IDENTIFICATION = "format identification"
VIRUS_CHECK = "virus check"
PACKAGE_CREATION = "information package creation"
REPLICATION = "replication"
RECOVERY = "recovery"
DISSEMINATION = "dissemination"
EXPORTING = "exporting"

SYSTEM_AGENT = "Lantai 兰台"

_OUTCOMES = {
    "success": EventOutcome.SUCCESS,
    "pass": EventOutcome.SUCCESS,
    "passed": EventOutcome.SUCCESS,
    "ok": EventOutcome.SUCCESS,
    "warning": EventOutcome.WARNING,
    "not_run": EventOutcome.WARNING,
    "failure": EventOutcome.FAILURE,
    "fail": EventOutcome.FAILURE,
    "failed": EventOutcome.FAILURE,
}


def outcome_of(value: str) -> str:
    """The stored outcome (success / warning / failure) for a check result or outcome word."""
    try:
        return _OUTCOMES[str(value)]
    except KeyError as exc:
        raise ValueError(f"unknown event outcome: {value!r}") from exc


def record_event(
    event_type: str,
    outcome: str,
    *,
    aip=None,
    sip=None,
    object=None,  # the PREMIS word, and the contract's keyword
    detail: str = "",
    outcome_detail: dict[str, Any] | None = None,
    agent: str = "",
) -> PreservationEvent:
    """Append one PREMIS event (in the caller's transaction).

    ``outcome`` is success / warning / failure (check words pass / fail / not_run are
    accepted too); ``object`` is the StoredObject the event concerns, if one.
    """
    return PreservationEvent.objects.create(
        aip=aip,
        sip=sip,
        object=object,
        event_type=event_type[:60],
        event_datetime=timezone.now(),
        outcome=outcome_of(outcome),
        detail=(detail or "")[:500],
        outcome_detail=outcome_detail or {},
        agent=(agent or SYSTEM_AGENT)[:200],
    )
