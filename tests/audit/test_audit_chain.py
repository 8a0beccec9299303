"""The audit trail is append-only and tamper-evident, on SQLite and on PostgreSQL.

The database refuses UPDATE and DELETE; an attacker with database access who gets around the
triggers (dropping or disabling them) still breaks the hash chain, and verification names the
first broken entry. Each test runs in a transaction that is rolled back, and restores the
triggers itself as well, so the trail of the test database stays whole.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from lantai.audit import services
from lantai.audit.models import AuditAction, AuditEntry

KIND = "test.chain"
SQLITE_TRIGGERS = {
    "audit_no_update": "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;",
    "audit_no_delete": "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_auditentry "
    "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;",
}


def add(n: int) -> list[AuditEntry]:
    return [
        services.record(
            AuditAction.UPDATE,
            object_type=KIND,
            object_id=str(i),
            object_repr=f"条目{i}",
            detail={"n": i},
        )
        for i in range(n)
    ]


@contextlib.contextmanager
def triggers_bypassed(how: str = "disable"):
    """Get around the append-only triggers the way someone with database access would."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER {name}")
        elif how == "replica":
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        try:
            yield cursor
        finally:
            if connection.vendor == "sqlite":
                for sql in SQLITE_TRIGGERS.values():
                    cursor.execute(sql)
            elif how == "replica":
                cursor.execute("SET LOCAL session_replication_role = origin")
            else:
                cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")


def triggers_present() -> None:
    """Fail unless UPDATE is refused again (the bypass was undone)."""
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET object_repr = 'x'")


def verify_cli(*anchors: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = [arg for anchor in anchors for arg in ("--anchor", anchor)]
    try:
        call_command("audit", "verify", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


BYPASSES = ["disable", "replica"]


# --- the database refuses changes -----------------------------------------------------------


def test_raw_update_refused(db):
    entry = add(1)[0]
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET object_repr = %s WHERE seq = %s", ["改", entry.seq]
        )
    entry.refresh_from_db()
    assert entry.object_repr == "条目0"


def test_raw_delete_refused(db):
    entry = add(1)[0]
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq = %s", [entry.seq])
    assert AuditEntry.objects.filter(seq=entry.seq).exists()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=entry.seq).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=entry.seq).update(object_repr="改")
    assert AuditEntry.objects.filter(seq=entry.seq).exists()


def test_truncate_refused_on_postgres(postgres_only):
    add(1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditentry")
    assert AuditEntry.objects.exists()


def test_orm_refuses_save_and_delete(db):
    entry = add(1)[0]
    entry.object_repr = "改"
    with pytest.raises(IntegrityError):
        entry.save()
    with pytest.raises(IntegrityError):
        entry.delete()


# --- tampering is detected ------------------------------------------------------------------


def test_whole_chain_verifies(db):
    add(5)
    report = services.verify_chain()
    assert report.ok and report.broken_seq is None
    code, out, _ = verify_cli()
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == f"审计链完整：{report.checked} 条"
    # The newest entry's anchor, to keep outside the database for the next check.
    head = AuditEntry.objects.order_by("-seq")[1]  # the one before the CLI's own entry
    assert report.head_anchor == f"{head.seq}:{head.hash}"
    assert lines[1].startswith(f"锚点：{report.head_anchor}（")


@pytest.mark.parametrize("how", BYPASSES)
def test_modified_detail_detected(db, how):
    entries = add(5)
    target = entries[2]
    with triggers_bypassed(how) as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET detail = %s WHERE seq = %s",
            [json.dumps({"n": 999}), target.seq],
        )
    triggers_present()
    report = services.verify_chain()
    assert not report.ok
    assert report.broken_seq == target.seq
    assert "content does not match" in report.reason
    code, _, err = verify_cli()
    assert code == 1
    assert f"第 {target.seq} 条" in err and "内容与其摘要不符" in err


@pytest.mark.parametrize("how", BYPASSES)
def test_deleted_middle_entry_detected(db, how):
    entries = add(5)
    target = entries[2]
    with triggers_bypassed(how) as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq = %s", [target.seq])
    triggers_present()
    report = services.verify_chain()
    assert not report.ok and report.broken_seq == target.seq
    assert report.reason.startswith("missing entries")
    code, _, err = verify_cli()
    assert code == 1 and f"第 {target.seq} 条" in err and "条目缺失" in err


@pytest.mark.parametrize("how", BYPASSES)
def test_forged_entry_inserted_in_the_middle_detected(db, how):
    """Shift later entries up by one and slip in a forged entry with a correct own hash."""
    entries = add(5)
    at = entries[2].seq
    with triggers_bypassed(how) as cursor:
        # Move the tail out of the way in two steps (unique seq), then insert the forgery.
        cursor.execute("UPDATE audit_auditentry SET seq = seq + 1000000 WHERE seq >= %s", [at])
        cursor.execute(
            "UPDATE audit_auditentry SET seq = seq - 1000000 + 1 WHERE seq >= %s",
            [at + 1000000],
        )
        forged = AuditEntry(
            seq=at,
            timestamp=entries[2].timestamp,
            actor_username="ghost",
            action=AuditAction.DELETE,
            object_type=KIND,
            object_id="x",
            object_repr="伪造",
            detail={},
            algorithm=entries[1].algorithm,
            prev_hash=entries[1].hash,
        )
        forged.hash = services.compute_hash(forged, forged.prev_hash)
        forged.save(force_insert=True)
    triggers_present()
    report = services.verify_chain()
    assert not report.ok
    # The forgery itself links correctly; the entry after it no longer does.
    assert report.broken_seq == at + 1
    assert "previous-hash" in report.reason
    code, _, err = verify_cli()
    assert code == 1 and f"第 {at + 1} 条" in err


def test_forged_entry_appended_with_wrong_hash_detected(db):
    entries = add(3)
    last = AuditEntry.objects.order_by("-seq").first()
    # Inserting is allowed by the database; a forged hash is what gives it away.
    forged = AuditEntry(
        seq=last.seq + 1,
        timestamp=entries[-1].timestamp,
        action=AuditAction.LOGIN,
        algorithm=last.algorithm,
        prev_hash=last.hash,
        hash="f" * 64,
    )
    forged.save(force_insert=True)
    report = services.verify_chain()
    assert not report.ok and report.broken_seq == forged.seq


# --- what only an anchor kept outside the database shows --------------------------------------


@pytest.mark.parametrize("how", BYPASSES)
def test_entries_removed_from_the_end_are_found_with_an_anchor(db, how):
    entries = add(5)
    anchor = services.verify_chain().head_anchor
    assert anchor == f"{entries[-1].seq}:{entries[-1].hash}"
    cut = entries[3].seq
    with triggers_bypassed(how) as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE seq >= %s", [cut])
    triggers_present()
    # What is left is a whole chain: the chain alone cannot tell.
    assert services.verify_chain().ok
    report = services.verify_chain(anchors=[services.parse_anchor(anchor)])
    assert not report.ok and report.broken_seq == cut
    assert report.reason.startswith("entries removed from the end")
    assert f"#{entries[-1].seq}" in report.reason
    code, _, err = verify_cli(anchor)
    assert code == 1
    assert f"第 {cut} 条" in err and "末尾条目被删除" in err


@pytest.mark.parametrize("how", BYPASSES)
def test_a_rewritten_chain_is_found_with_an_anchor(db, how):
    """Someone with database access changes an entry and recomputes every later hash."""
    entries = add(5)
    older = services.verify_chain().head_anchor  # noted after the first five
    entries += add(2)
    newest = services.verify_chain().head_anchor
    target = entries[2]
    with triggers_bypassed(how) as cursor:
        prev = entries[1].hash
        for entry in AuditEntry.objects.filter(seq__gte=target.seq).order_by("seq"):
            if entry.seq == target.seq:
                entry.detail = {"n": 999}
            entry.prev_hash = prev
            entry.hash = services.compute_hash(entry, prev)
            prev = entry.hash
            cursor.execute(
                "UPDATE audit_auditentry SET detail = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                [json.dumps(entry.detail), entry.prev_hash, entry.hash, entry.seq],
            )
    triggers_present()
    assert services.verify_chain().ok
    # The earliest anchor that no longer matches is named: the rewrite is at or before it.
    anchors = [services.parse_anchor(a) for a in (newest, older)]
    report = services.verify_chain(anchors=anchors)
    assert not report.ok
    assert report.broken_seq == entries[4].seq
    assert report.reason.startswith("anchor mismatch")
    code, _, err = verify_cli(older, newest)
    assert code == 1
    assert f"第 {entries[4].seq} 条" in err and "锚点不符" in err
    # An anchor older than the rewrite still matches.
    assert services.verify_chain(
        anchors=[services.parse_anchor(f"{entries[1].seq}:{entries[1].hash}")]
    ).ok


def test_anchors_are_recorded_with_the_verification(db):
    entries = add(2)
    anchor = f"{entries[0].seq}:{entries[0].hash}"
    report = services.verify(None, anchors=[services.parse_anchor(anchor)])
    assert report.ok
    last = AuditEntry.objects.order_by("-seq").first()
    assert last.detail["anchors"] == [anchor]
    assert last.detail["head"] == f"{entries[1].seq}:{entries[1].hash}"


@pytest.mark.parametrize(
    "text",
    ["", "12", "12:abc", "0:" + "a" * 64, "x:" + "a" * 64, "12:" + "g" * 64, "12:" + "a" * 65],
)
def test_malformed_anchor_is_refused(db, text):
    with pytest.raises(ValueError, match="格式不正确"):
        services.parse_anchor(text)
    with pytest.raises(CommandError, match="--anchor"):
        verify_cli(text)


def test_anchor_as_printed_is_accepted():
    assert services.parse_anchor(" #12：" + "AB" * 32 + " ") == services.Anchor(12, "ab" * 32)


def test_cli_progress_on_long_chains(db):
    """A progress line every 5,000 entries (entries built directly, hashed correctly)."""
    template = services.record(AuditAction.SYSTEM, object_type=KIND, object_repr="起点")
    seq, prev = template.seq, template.hash
    batch = []
    for i in range(5001):
        seq += 1
        entry = AuditEntry(
            seq=seq,
            timestamp=template.timestamp,
            action=AuditAction.VIEW,
            object_type=KIND,
            object_id=str(i),
            detail={},
            algorithm=template.algorithm,
            prev_hash=prev,
        )
        entry.hash = services.compute_hash(entry, prev)
        prev = entry.hash
        batch.append(entry)
    AuditEntry.objects.bulk_create(batch, batch_size=1000)
    code, out, err = verify_cli()
    assert code == 0
    assert "已校验 5000 条" in err
    assert "审计链完整" in out


def test_sysadmin_cannot_verify(make_user):
    from django.core.exceptions import PermissionDenied

    admin = make_user("admin9", "sysadmin")
    with pytest.raises(PermissionDenied):
        services.verify(admin)
    with pytest.raises(PermissionDenied):
        services.search_entries(admin)
