"""Fixtures for the storage suite: two local locations in a temp dir, and an S3 location on a
moto server started for the session (S3 tests skip without it locally, fail under CI=true)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from lantai.core.testing import service_missing, tcp_reachable
from lantai.storage import services
from lantai.storage.models import BackendKind, LocationRole, StorageLocation


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _moto_server() -> str | None:
    beside = Path(sys.executable).with_name("moto_server")
    return str(beside) if beside.exists() else shutil.which("moto_server")


@pytest.fixture(scope="session")
def s3_server():
    """The endpoint URL of a moto S3 server running as a subprocess for the session."""
    program = _moto_server()
    if program is None:
        service_missing("moto_server", "not installed (pip install 'moto[server]')")
    port = _free_port()
    process = subprocess.Popen(
        [program, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not tcp_reachable("127.0.0.1", port, timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            service_missing("moto_server", f"did not start on 127.0.0.1:{port}")
        time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def s3_env(monkeypatch):
    # moto accepts any credentials; set them so boto3 never looks further.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("LANTAI_S3_ACCESS_KEY_ID", raising=False)


@pytest.fixture
def bucket(s3_server, s3_env):
    import boto3

    name = f"lantai-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    return client, name


@pytest.fixture
def primary(db, tmp_path, monkeypatch) -> StorageLocation:
    # Locations are the test's own: never the env's defaults.
    monkeypatch.setattr(services, "_synced_env", True)
    return StorageLocation.objects.create(
        code="main",
        name="本地",
        backend=BackendKind.LOCAL,
        config={"root": str(tmp_path / "store")},
        role=LocationRole.PRIMARY,
    )


@pytest.fixture
def offsite(primary, tmp_path) -> StorageLocation:
    return StorageLocation.objects.create(
        code="copy",
        name="异地",
        backend=BackendKind.LOCAL,
        config={"root": str(tmp_path / "offsite")},
        role=LocationRole.REPLICA,
    )


@pytest.fixture
def s3_location(primary, bucket, s3_server) -> StorageLocation:
    _client, name = bucket
    return StorageLocation.objects.create(
        code="s3",
        name="异地（S3）",
        backend=BackendKind.S3,
        config={"bucket": name, "prefix": "lantai", "endpoint_url": s3_server},
        role=LocationRole.REPLICA,
    )


@pytest.fixture
def files_under():
    return _files_under


def _files_under(root: Path) -> list[str]:
    """Every file below ``root`` (relative, '/'-separated), hidden ones included."""
    if not root.exists():
        return []
    return sorted(
        (Path(dirpath) / name).relative_to(root).as_posix()
        for dirpath, _dirs, names in os.walk(root)
        for name in names
    )
