"""put_file with digests computed beforehand, and put_files (a batch synced once per location)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from lantai.storage import services
from lantai.storage.backends import DigestMismatch
from lantai.storage.models import CopyStatus, ObjectCopy, StorageLocation, StoredObject

pytestmark = pytest.mark.django_db(transaction=False)


def digests(data: bytes) -> dict:
    return {
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "sm3": hashlib.new("sm3", data).hexdigest(),
    }


def root(location: StorageLocation) -> Path:
    return Path(location.config["root"])


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "src" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_put_file_with_expected_registers_given_sm3(primary, offsite, tmp_path):
    data = b"expected digests " * 5000
    src = write(tmp_path, "a.bin", data)
    obj = services.put_file(src, "k/a.bin", purpose="test", expected=digests(data))
    assert (obj.size, obj.sha256, obj.sm3) == tuple(digests(data).values())
    assert (root(primary) / "k/a.bin").read_bytes() == data
    assert (root(offsite) / "k/a.bin").read_bytes() == data
    assert services.verify_object(obj) == {"main": "ok", "copy": "ok"}


def test_put_file_refuses_bytes_that_disagree_with_expected(
    primary, offsite, tmp_path, files_under
):
    src = write(tmp_path, "a.bin", b"the real bytes")
    wrong = digests(b"other bytes")
    with pytest.raises(DigestMismatch):
        services.put_file(src, "k/a.bin", purpose="test", expected=wrong)
    assert not StoredObject.objects.exists()
    assert files_under(root(primary)) == []
    assert files_under(root(offsite)) == []


def test_put_file_rejects_malformed_expected(primary, tmp_path):
    src = write(tmp_path, "a.bin", b"x")
    with pytest.raises(ValidationError) as info:
        services.put_file(src, "k/a.bin", purpose="test", expected={"size": 1, "sha256": "zz"})
    assert "expected" in info.value.message_dict


def test_put_files_stores_every_file_on_every_location(primary, offsite, tmp_path):
    contents = {f"b/{n}.bin": (b"%d-" % n) * (1000 + n) for n in range(7)}
    entries = [
        (write(tmp_path, key.replace("/", "_"), data), key, digests(data) if n % 2 else None)
        for n, (key, data) in enumerate(contents.items())
    ]
    objs = services.put_files(entries, purpose="test")
    assert [obj.key for obj in objs] == list(contents)
    for obj in objs:
        data = contents[obj.key]
        assert (obj.size, obj.sha256, obj.sm3) == tuple(digests(data).values())
        assert obj.read_back is True
        assert (root(primary) / obj.key).read_bytes() == data
        assert (root(offsite) / obj.key).read_bytes() == data
        statuses = set(ObjectCopy.objects.filter(object=obj).values_list("status", flat=True))
        assert statuses == {CopyStatus.OK}
        assert services.verify_object(obj) == {"main": "ok", "copy": "ok"}
    # No temporary file is left anywhere.
    for location in (primary, offsite):
        assert not list(root(location).rglob(".tmp-*"))


def test_put_files_without_replica_reads_primary_back(primary, tmp_path):
    data = b"alone" * 100
    [obj] = services.put_files([(write(tmp_path, "x", data), "c/x", None)], purpose="test")
    assert obj.read_back is True
    assert services.verify_object(obj) == {"main": "ok"}


def test_put_files_mismatch_registers_and_shows_nothing(primary, offsite, tmp_path, files_under):
    good = b"good file"
    entries = [
        (write(tmp_path, "good", good), "d/good", digests(good)),
        (write(tmp_path, "bad", b"changed after the checks"), "d/bad", digests(b"checked")),
    ]
    with pytest.raises(DigestMismatch):
        services.put_files(entries, purpose="test")
    assert not StoredObject.objects.exists()
    assert files_under(root(primary)) == []
    assert files_under(root(offsite)) == []


def test_put_files_rolled_back_leaves_orphans_that_a_retry_replaces(
    primary, offsite, tmp_path, files_under
):
    data = b"first attempt"
    entries = [(write(tmp_path, "f", data), "e/f", digests(data))]
    with pytest.raises(RuntimeError), transaction.atomic():
        services.put_files(entries, purpose="test")
        raise RuntimeError("caller failed after storing")
    assert not StoredObject.objects.exists()
    assert files_under(root(primary)) == ["e/f"]  # an orphan for sweep_orphans
    [obj] = services.put_files(entries, purpose="test")
    assert services.verify_object(obj) == {"main": "ok", "copy": "ok"}


def test_put_files_existing_key_same_content_returns_it(primary, offsite, tmp_path):
    data = b"once"
    src = write(tmp_path, "o", data)
    first = services.put_file(src, "g/o", purpose="test")
    [again] = services.put_files([(src, "g/o", digests(data))], purpose="test")
    assert again.pk == first.pk
    other = write(tmp_path, "p", b"different")
    with pytest.raises(ValidationError):
        services.put_files([(other, "g/o", None)], purpose="test")


def test_put_files_refuses_duplicate_keys(primary, tmp_path):
    src = write(tmp_path, "d", b"x")
    with pytest.raises(ValidationError):
        services.put_files([(src, "h/d", None), (src, "h/d", None)], purpose="test")


def test_put_files_link_makes_primary_a_hard_link_checked_by_read_back(
    primary, offsite, tmp_path, files_under
):
    data = b"handed over" * 999
    src = write(tmp_path, "h", data)
    [obj] = services.put_files([(src, "l/h", digests(data))], purpose="test", link=True)
    stored = root(primary) / "l/h"
    assert stored.stat().st_ino == src.stat().st_ino
    assert oct(stored.stat().st_mode & 0o777) == "0o440"
    assert (root(offsite) / "l/h").read_bytes() == data
    assert services.verify_object(obj) == {"main": "ok", "copy": "ok"}
    # The bytes linked are still compared with the expected digests.
    bad = write(tmp_path, "i", b"not what was checked")
    with pytest.raises(DigestMismatch):
        services.put_files([(bad, "l/i", digests(b"checked"))], purpose="test", link=True)
    assert files_under(root(primary)) == ["l/h"]
    assert files_under(root(offsite)) == ["l/h"]
    # Without expected digests both are computed from the linked file.
    other = b"no digests given"
    [obj2] = services.put_files(
        [(write(tmp_path, "j", other), "l/j", None)], purpose="t", link=True
    )
    assert (obj2.size, obj2.sha256, obj2.sm3) == tuple(digests(other).values())
