"""Audit trail services 审计服务: append entries to the hash chain and verify it.

Every entry's hash is digest(prev_hash + canonical JSON of its own fields). Appends are
serialised (an advisory lock on PostgreSQL; SQLite's IMMEDIATE transactions already serialise
writers) and happen inside the caller's transaction, so a change and its entry commit or roll
back together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from lantai.audit.models import AuditAction, AuditEntry
from lantai.core.middleware import client_ip, current_request, current_request_id

GENESIS = "0" * 64
_LOCK_KEY = 7_310_001  # PostgreSQL advisory lock id for appends


def digest(algorithm: str, data: bytes) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def _canonical(entry: AuditEntry) -> bytes:
    ts = entry.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    payload = {
        "seq": entry.seq,
        "timestamp": ts,
        "actor_id": entry.actor_id,
        "actor_username": entry.actor_username,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "detail": entry.detail,
        "ip_address": entry.ip_address,
        "request_id": entry.request_id,
        "algorithm": entry.algorithm,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def compute_hash(entry: AuditEntry, prev_hash: str) -> str:
    return digest(entry.algorithm, prev_hash.encode("ascii") + b"\n" + _canonical(entry))


def _plain(detail: Any) -> Any:
    # Store exactly what will be read back, so the hash recomputes the same later.
    return json.loads(json.dumps(detail or {}, cls=DjangoJSONEncoder, ensure_ascii=False))


def describe(obj: models.Model) -> tuple[str, str, str]:
    return obj._meta.label_lower, str(obj.pk), str(obj)[:300]


def record(
    action: str,
    *,
    actor=None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    detail: dict | None = None,
    request=None,
    username: str = "",
) -> AuditEntry:
    """Append one audit entry. Call it inside the transaction that makes the change."""
    if obj is not None:
        object_type, object_id, object_repr = describe(obj)
    request = request or current_request()
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        if request.user.is_authenticated:
            actor = request.user
    algorithm = getattr(settings, "LANTAI_AUDIT_HASH", "sm3")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        entry = AuditEntry(
            seq=seq,
            # Microsecond precision survives every backend, so the hash recomputes exactly.
            timestamp=timezone.now(),
            actor_id=getattr(actor, "pk", None),
            actor_username=(getattr(actor, "username", "") or username)[:150],
            action=str(action),
            object_type=object_type[:64],
            object_id=str(object_id)[:64],
            object_repr=object_repr[:300],
            detail=_plain(detail),
            ip_address=client_ip(request),
            request_id=current_request_id()[:64],
            algorithm=algorithm,
            prev_hash=prev_hash,
        )
        entry.hash = compute_hash(entry, prev_hash)
        entry.save(force_insert=True)
    return entry


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Field-by-field differences as {field: [old, new]}, for an UPDATE entry's detail."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


@dataclass
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


def iter_entries(chunk: int = 5000) -> Iterator[AuditEntry]:
    return AuditEntry.objects.order_by("seq").iterator(chunk_size=chunk)


def verify_chain(progress=None) -> ChainReport:
    """Walk the chain from the start; report the first entry whose link is broken."""
    expected_seq = 1
    prev_hash = GENESIS
    checked = 0
    for entry in iter_entries():
        if entry.seq != expected_seq:
            return ChainReport(
                False, checked, expected_seq,
                f"missing entries: expected #{expected_seq}, found #{entry.seq}",
            )
        if entry.prev_hash != prev_hash:
            return ChainReport(False, checked, entry.seq, "previous-hash link does not match")
        if compute_hash(entry, prev_hash) != entry.hash:
            return ChainReport(False, checked, entry.seq, "content does not match its hash")
        prev_hash = entry.hash
        expected_seq += 1
        checked += 1
        if progress is not None and checked % 5000 == 0:
            progress(checked)
    return ChainReport(True, checked)


__all__ = ["AuditAction", "ChainReport", "changes", "record", "verify_chain"]
