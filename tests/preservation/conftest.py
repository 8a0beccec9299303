"""Fixtures for the preservation suite: two local storage locations (本地 and 异地) in a temp
dir, an item, a checked package of real files (PDF, PNG, text) and its check report."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lantai.holdings import services as holdings
from lantai.holdings.models import Category
from lantai.storage import services as storage
from lantai.storage.backends import new_sm3
from lantai.storage.models import BackendKind, LocationRole, StorageLocation

SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "xml-schemas" / "loc"
if not SCHEMAS.exists():
    SCHEMAS = Path("/work/shared/testdata/xml-schemas/loc")


@pytest.fixture
def schema_dir(monkeypatch):
    if not (SCHEMAS / "mets.xsd").exists():
        pytest.skip("xml-schemas test data not present")
    monkeypatch.setenv("LANTAI_XML_SCHEMA_DIR", str(SCHEMAS))
    return SCHEMAS


@pytest.fixture
def locations(db, tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "_synced_env", True)
    primary = StorageLocation.objects.create(
        code="local",
        name="本地",
        backend=BackendKind.LOCAL,
        config={"root": str(tmp_path / "store")},
        role=LocationRole.PRIMARY,
    )
    offsite = StorageLocation.objects.create(
        code="offsite",
        name="异地",
        backend=BackendKind.LOCAL,
        config={"root": str(tmp_path / "offsite")},
        role=LocationRole.REPLICA,
    )
    return primary, offsite


@pytest.fixture
def item(db):
    unit = holdings.create_unit(None, {"code": "BGS-001", "name": "兰台区人民政府办公室"})
    fonds = holdings.create_fonds(None, {"code": "Z109", "name": "兰台区人民政府", "unit": unit})
    return holdings.create_item(
        None,
        {
            "fonds": fonds,
            "category": Category.objects.get(code="WS"),
            "year": 2024,
            "retention": "Y",
            "title": "关于开展档案工作检查的通知",
            "responsible": "兰台区人民政府办公室",
        },
    )


@dataclass
class FakeFile:
    """Shape of ingest.sip.SipFile (path relative to payload, abspath, size, declared)."""

    path: str
    abspath: Path
    size: int
    declared: dict = field(default_factory=dict)


@dataclass
class FakePackage:
    """Shape of ingest.sip.SipPackage, for building AIPs without the ingest pipeline."""

    format: str
    root: Path
    metadata: dict
    files: list
    bag_info: dict = field(default_factory=dict)


def _pdf_bytes() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(100, 750, "Lantai test document")
    c.save()
    return buf.getvalue()


def _png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _digests(data: bytes) -> tuple[str, str]:
    sm = new_sm3()
    sm.update(data)
    return hashlib.sha256(data).hexdigest(), sm.hexdigest()


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "sip" / "data"
    contents = {
        "正文.pdf": (_pdf_bytes(), "fmt/17", "Acrobat PDF 1.3", "application/pdf"),
        "附件/图 1.png": (_png_bytes(), "fmt/11", "Portable Network Graphics", "image/png"),
        "说明 文字.txt": ("说明文字\n".encode(), "x-fmt/111", "Plain Text File", "text/plain"),
    }
    files, report_files = [], {}
    for rel, (data, puid, name, mime) in contents.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        sha, sm3 = _digests(data)
        files.append(FakeFile(rel, path, len(data), {"sha256": sha}))
        report_files[rel] = {
            "size": len(data),
            "sha256": sha,
            "sm3": sm3,
            "puid": puid,
            "format_name": name,
            "mime": mime,
        }
    pkg = FakePackage(
        format="bagit",
        root=root,
        metadata={"题名": "关于开展档案工作检查的通知", "年度": "2024"},
        files=files,
        bag_info={"Source-Organization": "兰台区人民政府办公室"},
    )
    report = {
        "passed": True,
        "stage": "GD",
        "items": [
            {
                "id": "GD-1-1",
                "code": "1-1",
                "property": "authenticity",
                "name": "固化信息有效性（SHA-256）",
                "result": "pass",
                "detail": "3 个文件摘要一致",
                "blocking": True,
            },
            {
                "id": "GD-3-1",
                "code": "3-1",
                "property": "usability",
                "name": "格式识别",
                "result": "pass",
                "detail": "",
                "blocking": True,
            },
            {
                "id": "GD-4-1",
                "code": "4-1",
                "property": "security",
                "name": "病毒检测",
                "result": "not_run",
                "detail": "未配置 clamd",
                "blocking": False,
            },
        ],
        "files": report_files,
        "summary": {"pass": 2, "not_run": 1},
    }
    return pkg, report


PASSWORD = "Lantai-test-2024!"


@pytest.fixture
def make_user(db):
    """make_user("name", "role", ...) with the role's groups."""
    from django.contrib.auth.models import Group

    from lantai.accounts.models import User

    def make(username: str, *roles: str) -> User:
        user = User.objects.create_user(username=username, password=PASSWORD)
        for role in roles:
            user.groups.add(Group.objects.get(name=role))
        return User.objects.get(pk=user.pk)

    return make


@pytest.fixture
def stored_aip(tmp_path, item, package, locations):
    from django.db import transaction

    from lantai.preservation import aip as aips

    pkg, report = package
    bag_dir = aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")
    with transaction.atomic():
        return aips.store_aip(bag_dir, item=item)


@pytest.fixture
def pdf_bytes() -> bytes:
    return _pdf_bytes()


@pytest.fixture(scope="session")
def s3_endpoint():
    """A moto S3 server for the session (skips locally / fails under CI=true without it)."""
    import shutil
    import socket
    import subprocess
    import sys
    import time

    from lantai.core.testing import service_missing, tcp_reachable

    beside = Path(sys.executable).with_name("moto_server")
    program = str(beside) if beside.exists() else shutil.which("moto_server")
    if program is None:
        service_missing("moto_server", "not installed (pip install 'moto[server]')")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
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
        process.wait(timeout=10)


@pytest.fixture
def s3_replica(locations, s3_endpoint, monkeypatch):
    import uuid

    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("LANTAI_S3_ACCESS_KEY_ID", raising=False)
    name = f"lantai-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    location = StorageLocation.objects.create(
        code="s3",
        name="异地（S3）",
        backend=BackendKind.S3,
        config={"bucket": name, "prefix": "lantai", "endpoint_url": s3_endpoint},
        role=LocationRole.REPLICA,
    )
    return location, client, name
