"""The S3 backend against moto's server: replication with checksums, multipart uploads,
corruption and loss detected and repaired, reading from S3 when the primary is gone."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from pathlib import Path

import pytest

from lantai.storage import services
from lantai.storage.backends import S3_PART, DigestMismatch, ObjectExists, backend_for
from lantai.storage.models import CopyStatus, ObjectCopy

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


def test_objects_are_replicated_to_s3_with_their_checksum(s3_location, bucket):
    client, name = bucket
    data = "档案".encode() * 10_000
    obj = services.put_file(io.BytesIO(data), "acc/Z109-WS·2011-Y-0001.pdf", purpose="test")
    head = client.head_object(Bucket=name, Key=f"lantai/{obj.key}", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(data)
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert head["Metadata"]["sha256"] == obj.sha256
    body = client.get_object(Bucket=name, Key=f"lantai/{obj.key}")["Body"].read()
    assert body == data
    assert services.verify_object(obj) == {"main": "ok", "s3": "ok"}


def test_large_objects_go_up_in_verified_parts(s3_location, bucket, tmp_path):
    client, name = bucket
    src = tmp_path / "big.bin"
    with open(src, "wb") as fh:
        for _ in range(2 * S3_PART // (1024 * 1024) + 1):
            fh.write(os.urandom(1024 * 1024))
    obj = services.put_file(src, "big/a.bin", purpose="test")
    assert obj.size > 2 * S3_PART
    digest = hashlib.sha256()
    body = client.get_object(Bucket=name, Key="lantai/big/a.bin")["Body"]
    while chunk := body.read(1024 * 1024):
        digest.update(chunk)
    assert digest.hexdigest() == obj.sha256
    assert client.list_multipart_uploads(Bucket=name).get("Uploads", []) == []


def test_s3_never_overwrites_and_checks_what_it_sends(s3_location):
    backend = backend_for(s3_location)
    good = hashlib.sha256(b"abc").hexdigest()
    backend.write_new("x/a.txt", io.BytesIO(b"abc"), size=3, sha256=good)
    with pytest.raises(ObjectExists):
        backend.write_new("x/a.txt", io.BytesIO(b"abc"), size=3, sha256=good)
    with pytest.raises(DigestMismatch):
        backend.write_new("x/b.txt", io.BytesIO(b"abd"), size=3, sha256=good)
    assert backend.size("x/b.txt") is None


def test_a_corrupt_s3_copy_is_found_and_repaired(s3_location, bucket):
    client, name = bucket
    obj = services.put_file(io.BytesIO(b"original bytes"), "fix/a.txt", purpose="test")
    client.put_object(Bucket=name, Key="lantai/fix/a.txt", Body=b"tampered bytes")
    assert services.verify_object(obj) == {"main": "ok", "s3": "corrupt"}
    services.repair_copy(ObjectCopy.objects.get(object=obj, location=s3_location))
    assert client.get_object(Bucket=name, Key="lantai/fix/a.txt")["Body"].read() == (
        b"original bytes"
    )
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"]]
    assert any(k.startswith("lantai/.quarantine/fix/a.txt.") for k in keys)
    assert services.verify_object(obj) == {"main": "ok", "s3": "ok"}


def test_a_lost_primary_is_restored_from_s3(s3_location, primary, bucket):
    obj = services.put_file(io.BytesIO(b"only in s3 soon"), "fix/b.txt", purpose="test")
    (Path(primary.config["root"]) / obj.key).unlink()
    with services.open_object(obj) as fh:  # reads from S3 meanwhile
        assert fh.read() == b"only in s3 soon"
    assert services.verify_object(obj)["main"] == CopyStatus.MISSING
    services.repair_copy(ObjectCopy.objects.get(object=obj, location=primary))
    assert (Path(primary.config["root"]) / obj.key).read_bytes() == b"only in s3 soon"


def test_orphans_in_s3_are_swept(s3_location, bucket):
    from datetime import timedelta

    from django.db import transaction

    client, name = bucket
    with pytest.raises(RuntimeError), transaction.atomic():
        services.put_file(io.BytesIO(b"rolled back"), "tx/a.txt", purpose="test")
        raise RuntimeError
    assert client.list_objects_v2(Bucket=name)["KeyCount"] == 1
    summary = services.sweep_orphans(older_than=timedelta(0))
    assert summary["s3"]["removed"] == 1
    assert client.list_objects_v2(Bucket=name)["KeyCount"] == 0
