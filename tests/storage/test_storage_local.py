"""Storage on local locations: atomic, idempotent, immutable puts, replication, fixity, repair."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from lantai.audit.models import AuditEntry
from lantai.storage import services
from lantai.storage.backends import CHUNK, DigestMismatch, StorageError
from lantai.storage.models import CopyStatus, ObjectCopy, StorageLocation, StoredObject

pytestmark = pytest.mark.django_db(transaction=False)


def digests(data: bytes) -> tuple[str, str]:
    return hashlib.sha256(data).hexdigest(), hashlib.new("sm3", data).hexdigest()


def root(location: StorageLocation) -> Path:
    return Path(location.config["root"])


def damage(path: Path, data: bytes) -> None:
    os.chmod(path, 0o640)
    path.write_bytes(data)


class Exploding(io.RawIOBase):
    """A source that fails part-way, like a dropped upload or a full disk."""

    def __init__(self, good: int):
        self.left = good

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            raise OSError("连接中断")
        n = min(CHUNK if n is None or n < 0 else n, self.left)
        self.left -= n
        return b"x" * n


class Recording(io.BytesIO):
    """Remembers the largest read asked of it."""

    largest = 0

    def read(self, n: int = -1) -> bytes:
        self.largest = max(self.largest, n if n is not None and n >= 0 else 1 << 62)
        return super().read(n)


def test_put_file_stores_and_replicates_with_both_digests(offsite, tmp_path, files_under):
    data = "兰台区档案馆".encode() * 5000
    src = tmp_path / "in.pdf"
    src.write_bytes(data)
    obj = services.put_file(src, "accession/1/Z109-WS·2011-Y-0001.pdf", purpose="accession")
    sha256, sm3 = digests(data)
    assert (obj.size, obj.sha256, obj.sm3, obj.purpose) == (len(data), sha256, sm3, "accession")
    for location in (offsite.__class__.objects.get(code="main"), offsite):
        path = root(location) / obj.key
        assert path.read_bytes() == data
        assert path.stat().st_mode & 0o222 == 0  # stored read-only
        assert files_under(root(location)) == [obj.key]  # no temporary file left
    copies = ObjectCopy.objects.filter(object=obj)
    assert {c.location.code for c in copies} == {"main", "copy"}
    assert all(c.status == CopyStatus.OK and c.verified_at for c in copies)


def test_put_file_streams_from_a_file_object(primary):
    source = Recording(os.urandom(3 * CHUNK + 17))
    obj = services.put_file(source, "stream/a.bin", purpose="test")
    assert obj.size == 3 * CHUNK + 17
    assert source.largest <= CHUNK
    with services.open_object(obj) as fh:
        assert fh.read() == source.getvalue()


def test_same_content_twice_is_one_object(offsite, tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(b"same")
    first = services.put_file(src, "k/a.txt", purpose="test")
    again = services.put_file(io.BytesIO(b"same"), "k/a.txt", purpose="test")
    assert again.pk == first.pk
    assert StoredObject.objects.count() == 1
    assert ObjectCopy.objects.filter(object=first).count() == 2


def test_different_content_under_a_key_is_refused(offsite):
    obj = services.put_file(io.BytesIO(b"original"), "k/a.txt", purpose="test")
    with pytest.raises(ValidationError) as info:
        services.put_file(io.BytesIO(b"changed"), "k/a.txt", purpose="test")
    assert "内容不同" in info.value.message_dict["key"][0]
    assert (root(offsite) / "k/a.txt").read_bytes() == b"original"
    with services.open_object(obj) as fh:
        assert fh.read() == b"original"


@pytest.mark.parametrize(
    "key", ["", "../x", "a/../../x", "/etc/passwd", "a//b", ".hidden", "a/.tmp-x", "a\\b", "a\x00"]
)
def test_unsafe_keys_are_refused(primary, key):
    with pytest.raises(ValidationError) as info:
        services.put_file(io.BytesIO(b"x"), key, purpose="test")
    assert "存储键" in info.value.message_dict["key"][0]
    assert not StoredObject.objects.exists()


def test_a_crash_mid_write_leaves_no_visible_object(offsite, files_under):
    with pytest.raises(OSError, match="连接中断"):
        services.put_file(Exploding(2 * CHUNK + 5), "crash/a.bin", purpose="test")
    assert not StoredObject.objects.exists()
    assert files_under(root(offsite)) == []
    # The key's directory may exist, but no file, temporary or final, is left in it.
    assert files_under(root(offsite).parent / "store") == []
    # And the key is still free for a good upload.
    obj = services.put_file(io.BytesIO(b"good"), "crash/a.bin", purpose="test")
    assert obj.size == 4


def test_rolled_back_put_leaves_an_orphan_that_is_swept(offsite, files_under):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.put_file(io.BytesIO(b"first try"), "tx/a.txt", purpose="test")
        raise RuntimeError("importer failed")
    assert not StoredObject.objects.filter(key="tx/a.txt").exists()
    assert files_under(root(offsite)) == ["tx/a.txt"]  # harmless orphan

    # A recent orphan is kept: it could belong to a transaction not yet committed.
    summary = services.sweep_orphans()
    assert summary["copy"] == {"removed": 0, "temporary": 0, "recent": 1}
    summary = services.sweep_orphans(older_than=timedelta(0))
    assert summary["main"]["removed"] == 1 and summary["copy"]["removed"] == 1
    assert files_under(root(offsite)) == []


def test_a_retry_after_rollback_may_store_corrected_content(offsite):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.put_file(io.BytesIO(b"wrong scan"), "tx/b.pdf", purpose="test")
        raise RuntimeError("batch returned")
    obj = services.put_file(io.BytesIO(b"corrected scan"), "tx/b.pdf", purpose="test")
    assert (root(offsite) / "tx/b.pdf").read_bytes() == b"corrected scan"
    assert services.verify_object(obj) == {"main": "ok", "copy": "ok"}


def test_registered_objects_survive_a_sweep(offsite):
    obj = services.put_file(io.BytesIO(b"keep me"), "keep/a.txt", purpose="test")
    services.sweep_orphans(older_than=timedelta(0))
    assert services.verify_object(obj) == {"main": "ok", "copy": "ok"}


def test_corruption_is_detected_and_repaired_from_a_replica(offsite, primary):
    data = os.urandom(100_000)
    obj = services.put_file(io.BytesIO(data), "fix/a.bin", purpose="test")
    damaged = root(primary) / obj.key
    damage(damaged, data[:-1] + bytes([data[-1] ^ 1]))

    assert services.verify_object(obj) == {"main": "corrupt", "copy": "ok"}
    entries = AuditEntry.objects.filter(object_type="storage.storedobject", object_id=str(obj.pk))
    assert entries.filter(detail__event="fixity").exists()

    copy = ObjectCopy.objects.get(object=obj, location=primary)
    services.repair_copy(copy)
    assert damaged.read_bytes() == data
    copy.refresh_from_db()
    assert copy.status == CopyStatus.OK
    # The damaged bytes were kept aside, not edited in place.
    quarantined = list((root(primary) / ".quarantine" / "fix").iterdir())
    assert len(quarantined) == 1 and quarantined[0].read_bytes() != data
    assert entries.filter(detail__event="repair").exists()
    with services.open_object(obj) as fh:
        assert fh.read() == data


def test_a_missing_replica_is_detected_and_restored(offsite):
    obj = services.put_file(io.BytesIO(b"abc" * 1000), "fix/b.bin", purpose="test")
    (root(offsite) / obj.key).unlink()
    assert services.verify_object(obj)["copy"] == CopyStatus.MISSING
    services.repair_copy(ObjectCopy.objects.get(object=obj, location=offsite))
    assert services.verify_object(obj) == {"main": "ok", "copy": "ok"}


def test_repair_refuses_when_no_good_copy_is_left(offsite, primary):
    obj = services.put_file(io.BytesIO(b"only"), "fix/c.txt", purpose="test")
    damage(root(primary) / obj.key, b"ONLY")
    (root(offsite) / obj.key).unlink()
    with pytest.raises(StorageError, match="没有完好的副本"):
        services.repair_copy(ObjectCopy.objects.get(object=obj, location=primary))
    # The damaged source was found out on the way.
    statuses = dict(ObjectCopy.objects.filter(object=obj).values_list("location__code", "status"))
    assert statuses["copy"] == CopyStatus.MISSING


def test_reading_never_passes_damaged_bytes_off_as_good(primary):
    obj = services.put_file(io.BytesIO(b"0123456789"), "read/a.txt", purpose="test")
    damage(root(primary) / obj.key, b"0123456780")
    with pytest.raises(DigestMismatch), services.open_object(obj) as fh:
        fh.read()


def test_reading_falls_back_to_a_replica_when_the_primary_is_gone(offsite, primary):
    obj = services.put_file(io.BytesIO(b"replicated"), "read/b.txt", purpose="test")
    (root(primary) / obj.key).unlink()
    with services.open_object(obj) as fh:
        assert fh.read() == b"replicated"


def test_a_new_location_gets_copies_with_add_copy(primary, tmp_path):
    obj = services.put_file(io.BytesIO(b"later"), "late/a.txt", purpose="test")
    later = StorageLocation.objects.create(
        code="later", name="异地二", backend="local", config={"root": str(tmp_path / "later")},
        role="replica",
    )  # fmt: skip
    services.add_copy(obj, later)
    assert (tmp_path / "later" / "late/a.txt").read_bytes() == b"later"
    assert services.verify_object(obj) == {"main": "ok", "later": "ok"}


def test_locations_come_from_the_environment(db, tmp_path, settings):
    env = {
        "LANTAI_STORAGE_REPLICA_DIR": str(tmp_path / "offsite"),
        "LANTAI_S3_BUCKET": "archive",
        "LANTAI_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "LANTAI_S3_PREFIX": "lantai",
    }
    services.sync_locations_from_env(env)
    locations = {loc.code: loc for loc in StorageLocation.objects.all()}
    assert locations["local"].role == "primary"
    assert locations["local"].config == {"root": str(settings.DATA_DIR / "store")}
    assert locations["offsite"].role == "replica" and locations["offsite"].backend == "local"
    assert locations["s3"].backend == "s3" and locations["s3"].config["bucket"] == "archive"
    assert "secret" not in str(locations["s3"].config).lower()
    # Idempotent: a second sync adds nothing.
    services.sync_locations_from_env(env)
    assert StorageLocation.objects.count() == 3


def test_default_is_one_local_location_under_the_data_dir(db, settings, monkeypatch):
    monkeypatch.setattr(services, "_synced_env", False)
    for name in ("LANTAI_STORAGE_DIR", "LANTAI_STORAGE_REPLICA_DIR", "LANTAI_S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    obj = services.put_file(io.BytesIO(b"default"), "default/a.txt", purpose="test")
    assert [loc.code for loc in StorageLocation.objects.all()] == ["local"]
    assert (settings.DATA_DIR / "store" / "default/a.txt").read_bytes() == b"default"
    assert obj.copies.get().location.code == "local"
