"""Audit trail services 审计服务: append entries to the hash chain and verify it.

Every entry's hash is digest(prev_hash + canonical JSON of its own fields). Appends are
serialised (an advisory lock on PostgreSQL; SQLite's IMMEDIATE transactions already serialise
writers) and happen inside the caller's transaction, so a change and its entry commit or roll
back together.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from lantai.audit.models import AuditAction, AuditEntry
from lantai.core.middleware import client_ip, current_request, current_request_id
from lantai.core.permissions import require

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
    request_user = getattr(request, "user", None)
    if actor is None and request_user is not None and request_user.is_authenticated:
        actor = request_user
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


TAIL_REMOVED = "entries removed from the end"


@dataclass
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""
    #: The newest entry of a whole chain: the anchor to keep outside the database.
    head_seq: int | None = None
    head_hash: str = ""

    @property
    def tail_removed(self) -> bool:
        """Broken because entries an anchor names are gone: broken_seq is where they were."""
        return self.reason.startswith(TAIL_REMOVED)

    @property
    def head_anchor(self) -> str:
        return f"{self.head_seq}:{self.head_hash}" if self.head_seq else ""


@dataclass(frozen=True)
class Anchor:
    """审计链锚点: an entry's seq and hash noted outside the database at an earlier check.

    A hash chain alone cannot show that its newest entries were removed, or that someone with
    database access rewrote it and recomputed every hash from some point on: what remains is a
    whole, shorter or different chain. An anchor kept elsewhere (a paper register, another
    system) shows both: the entry must still be there, with the same hash.
    """

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


_ANCHOR_RE = re.compile(r"^\s*#?(\d{1,18})\s*[:：]\s*([0-9a-fA-F]{64})\s*$")


def parse_anchor(text: str) -> Anchor:
    """``SEQ:HASH`` (as verification prints it) → Anchor; ValueError with a readable message."""
    match = _ANCHOR_RE.match(text or "")
    if not match or int(match.group(1)) < 1:
        raise ValueError(
            gettext("锚点“%(text)s”格式不正确，应为“序号:摘要”（摘要为64位十六进制）")
            % {"text": (text or "").strip()[:80]}
        )
    return Anchor(int(match.group(1)), match.group(2).lower())


def iter_entries(chunk: int = 5000) -> Iterator[AuditEntry]:
    return AuditEntry.objects.order_by("seq").iterator(chunk_size=chunk)


def verify_chain(progress=None, anchors: Iterable[Anchor] = ()) -> ChainReport:
    """Walk the chain from the start; report the first entry whose link is broken, then
    check that every anchor's entry is still there with the hash it had."""
    expected = {anchor.seq: anchor.hash for anchor in anchors}
    expected_seq = 1
    prev_hash = GENESIS
    checked = 0
    for entry in iter_entries():
        if entry.seq != expected_seq:
            return ChainReport(
                False,
                checked,
                expected_seq,
                f"missing entries: expected #{expected_seq}, found #{entry.seq}",
            )
        if entry.prev_hash != prev_hash:
            return ChainReport(False, checked, entry.seq, "previous-hash link does not match")
        if compute_hash(entry, prev_hash) != entry.hash:
            return ChainReport(False, checked, entry.seq, "content does not match its hash")
        if entry.seq in expected and expected[entry.seq] != entry.hash:
            # The chain links up, so it was rewritten with recomputed hashes, at this entry or
            # before it (after the previous anchor that still matched, if any).
            return ChainReport(
                False,
                checked,
                entry.seq,
                f"anchor mismatch: #{entry.seq} has hash {entry.hash[:16]}…, "
                f"the anchor {expected[entry.seq][:16]}…",
            )
        prev_hash = entry.hash
        expected_seq += 1
        checked += 1
        if progress is not None and checked % 5000 == 0:
            progress(checked)
    last = expected_seq - 1
    beyond = [seq for seq in expected if seq > last]
    if beyond:
        return ChainReport(
            False,
            checked,
            last + 1,
            f"{TAIL_REMOVED}: the chain ends at #{last}, an anchor names #{max(beyond)}",
        )
    return ChainReport(True, checked, head_seq=last or None, head_hash=prev_hash if last else "")


__all__ = [
    "Anchor",
    "AuditAction",
    "ChainReport",
    "changes",
    "parse_anchor",
    "record",
    "verify_chain",
]


# --- Reading the trail (安全审计员) ---------------------------------------------------------
# Added for the auditor's screens and the CLI: filtering, keyset pages, CSV export, and an
# audited verification. Only holders of audit.view_auditentry read; nobody edits.

VIEW_PERM = "audit.view_auditentry"
VERIFY_PERM = "audit.verify_chain"
#: Characters that make a spreadsheet treat a cell as a formula (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class EntryFilter:
    """What the auditor filters by; empty values do not filter. Dates are local days."""

    date_from: date | None = None
    date_to: date | None = None
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    text: str = ""

    def as_detail(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v not in (None, "")}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def search_entries(actor, filters: EntryFilter | None = None) -> models.QuerySet[AuditEntry]:
    """Entries matching ``filters``, newest first. Needs audit.view_auditentry."""
    require(actor, VIEW_PERM)
    f = filters or EntryFilter()
    entries = AuditEntry.objects.all()
    if f.date_from:
        entries = entries.filter(timestamp__gte=_day_start(f.date_from))
    if f.date_to:
        entries = entries.filter(timestamp__lt=_day_start(f.date_to + timedelta(days=1)))
    if f.actor:
        entries = entries.filter(actor_username=f.actor)
    if f.action:
        entries = entries.filter(action=f.action)
    if f.object_type:
        entries = entries.filter(object_type=f.object_type)
    if f.object_id:
        entries = entries.filter(object_id=f.object_id)
    if f.text:
        entries = entries.filter(object_repr__icontains=f.text)
    return entries.order_by("-seq")


@dataclass
class EntryPage:
    """One keyset page: ``newer``/``older`` are the seq cursors for the neighbouring pages."""

    entries: list[AuditEntry]
    newer: int | None
    older: int | None


def page_entries(
    entries: models.QuerySet[AuditEntry],
    *,
    before: int | None = None,
    after: int | None = None,
    size: int | None = None,
) -> EntryPage:
    """A page of ``entries`` by seq without counting them all: fetch one extra row instead.

    ``before`` gives the page of entries older than that seq (the next page), ``after`` the
    page newer than it (the previous page); neither gives the newest page.
    """
    size = size or getattr(settings, "LANTAI_PAGE_SIZE", 50)
    if after is not None:
        rows = list(entries.filter(seq__gt=after).order_by("seq")[: size + 1])
        has_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_older = bool(rows) and entries.filter(seq__lt=rows[-1].seq).exists()
    else:
        if before is not None:
            entries = entries.filter(seq__lt=before)
        rows = list(entries.order_by("-seq")[: size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = before is not None and bool(rows)
    return EntryPage(
        entries=rows,
        newer=rows[0].seq if rows and has_newer else None,
        older=rows[-1].seq if rows and has_older else None,
    )


def get_entry(actor, seq: int) -> AuditEntry:
    require(actor, VIEW_PERM)
    return AuditEntry.objects.get(seq=seq)


def csv_safe(value: Any) -> str:
    """Text for one CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_PREFIXES):
        return "'" + text
    return text


# Header labels are msgids: the CSV header is in the exporting user's language.
EXPORT_COLUMNS = (
    ("seq", gettext_noop("序号")),
    ("timestamp", gettext_noop("时间")),
    ("actor_username", gettext_noop("用户名")),
    ("actor_id", gettext_noop("用户ID")),
    ("action", gettext_noop("操作")),
    ("object_type", gettext_noop("对象类型")),
    ("object_id", gettext_noop("对象ID")),
    ("object_repr", gettext_noop("对象")),
    ("detail", gettext_noop("详情")),
    ("ip_address", gettext_noop("IP地址")),
    ("request_id", gettext_noop("请求ID")),
    ("algorithm", gettext_noop("摘要算法")),
    ("prev_hash", gettext_noop("前一条摘要")),
    ("hash", gettext_noop("摘要")),
)


def export_rows(actor, filters: EntryFilter | None = None) -> Iterator[list[str]]:
    """CSV rows (header first) of the filtered entries, oldest first; the export is audited.

    The export entry is written (and committed) before the rows are read, so it records the
    request even if the download is cut off.
    """
    entries = search_entries(actor, filters)
    f = filters or EntryFilter()
    with transaction.atomic():
        mark = record(
            AuditAction.EXPORT,
            actor=actor,
            object_type="audit.auditentry",
            object_repr="审计日志",
            detail={"filters": f.as_detail(), "count": entries.count()},
        )
    # The file holds what the auditor saw: entries before the export entry itself.
    rows = entries.filter(seq__lt=mark.seq).order_by("seq")
    # Translated now, while the request's language is active (the rows stream out later).
    header = [gettext(label) for _name, label in EXPORT_COLUMNS]

    def generate() -> Iterator[list[str]]:
        yield header
        for entry in rows.iterator(chunk_size=2000):
            cells = []
            for name, _label in EXPORT_COLUMNS:
                value = getattr(entry, name)
                if name == "timestamp":
                    value = timezone.localtime(value).isoformat()
                elif name == "detail":
                    value = json.dumps(value, ensure_ascii=False, sort_keys=True)
                cells.append(csv_safe(value))
            yield cells

    return generate()


#: Chinese wording for the reasons verify_chain reports (kept in English there).
_REASONS = {
    "missing entries": gettext_noop("条目缺失或序号不连续"),
    "previous-hash link does not match": gettext_noop("前一条摘要链接不符"),
    "content does not match its hash": gettext_noop("内容与其摘要不符（条目被修改）"),
    "anchor mismatch": gettext_noop("与此前记录的锚点不符（审计链在此条或此前被改写）"),
    "entries removed from the end": gettext_noop("末尾条目被删除（审计链短于此前记录的锚点）"),
}


def reason_text(report: ChainReport) -> str:
    """The report's reason in Chinese, keeping the original detail in brackets."""
    for prefix, text in _REASONS.items():
        if report.reason.startswith(prefix):
            return gettext("%(reason)s（%(detail)s）") % {
                "reason": gettext(text),
                "detail": report.reason,
            }
    return report.reason


def verify(actor, progress=None, anchors: Iterable[Anchor] = ()) -> ChainReport:
    """Verify the chain 校验审计链 (needs audit.verify_chain) against the anchors kept from
    earlier checks, and record that it was done (with the new head, itself an anchor)."""
    require(actor, VERIFY_PERM)
    anchors = list(anchors)
    report = verify_chain(progress=progress, anchors=anchors)
    with transaction.atomic():
        record(
            AuditAction.SYSTEM,
            actor=actor,
            object_type="audit.auditentry",
            object_repr="审计链校验",
            detail={
                "event": "verify_chain",
                "ok": report.ok,
                "checked": report.checked,
                "broken_seq": report.broken_seq,
                "reason": report.reason,
                "anchors": [str(anchor) for anchor in anchors],
                "head": report.head_anchor,
            },
        )
    return report
