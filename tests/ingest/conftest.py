"""Fixtures for the ingest API/pipeline tests: two units with a fonds each, users in roles, API
tokens, BagIt SIPs built on disk, and a real ``lantai run_huey`` worker for the kill tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PASSWORD = "Lantai-ingest-2026!"


def pdf_bytes() -> bytes:
    """A real one-page PDF (reportlab), so the content checks can open it."""
    from io import BytesIO

    from reportlab.pdfgen import canvas

    buf = BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(100, 750, "Lantai ingest test")
    c.showPage()
    c.save()
    return buf.getvalue()


def big_pdf(size: int) -> bytes:
    """A valid PDF of about ``size`` bytes (incompressible padding in a stream it refers to)."""
    from io import BytesIO

    import pikepdf

    pdf = pikepdf.open(BytesIO(pdf_bytes()))
    pdf.Root.LantaiPadding = pdf.make_stream(os.urandom(size))
    out = BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def metadata_for(
    fonds: str = "Z109",
    *,
    year: int = 2024,
    item_no: int | None = None,
    files: list[tuple[str, int]] | None = None,
    **extra,
) -> dict:
    data = {
        "fonds": fonds,
        "category": "WS",
        "year": year,
        "retention": "Y",
        "series": "BGS",
        "title": "关于做好2024年档案工作的通知",
        "responsible": "兰台区人民政府办公室",
        "doc_number": f"兰政办发〔{year}〕1号",
        "date": f"{year}-03-01",
        "pages": 1,
        "classification": "public",
    }
    if item_no is not None:
        data["item_no"] = item_no
    if files is not None:
        data["component_count"] = len(files)
        data["components"] = [
            {"name": Path(name).name, "path": name, "size": size, "format": "PDF", "sequence": n}
            for n, (name, size) in enumerate(files, 1)
        ]
    data.update(extra)
    return data


def make_bag(
    folder: Path,
    *,
    fonds: str = "Z109",
    n_files: int = 1,
    metadata: dict | None = None,
    payload: dict[str, bytes] | None = None,
) -> Path:
    """A BagIt bag directory (sha256 + sha512 manifests) with PDFs and metadata.json."""
    import bagit

    folder.mkdir(parents=True, exist_ok=True)
    files = payload or {f"正文{n}.pdf": pdf_bytes() for n in range(1, n_files + 1)}
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    meta = metadata or metadata_for(fonds, files=[(n, len(c)) for n, c in files.items()])
    (folder / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    bagit.make_bag(
        str(folder), {"Source-Organization": "兰台区人民政府办公室"}, checksums=["sha256", "sha512"]
    )
    return folder


def zip_dir(folder: Path, dest: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return dest


@dataclass
class World:
    unit_a: object
    unit_b: object
    fonds_a: object
    fonds_b: object
    users: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)


def _user(username: str, role: str, unit=None):
    from django.contrib.auth.models import Group

    from lantai.accounts.models import User

    user = User.objects.create_user(username=username, password=PASSWORD, unit=unit)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


def build_world() -> World:
    from lantai.holdings import refcode
    from lantai.holdings import services as holdings
    from lantai.holdings.models import Series
    from lantai.ingest import services

    refcode.clear_scheme_cache()
    unit_a = holdings.create_unit(None, {"code": "QZF", "name": "区政府办公室", "kind": "agency"})
    unit_b = holdings.create_unit(None, {"code": "SYZ", "name": "兰台实验中学", "kind": "school"})
    fonds_a = holdings.create_fonds(None, {"code": "Z109", "name": "区政府办公室", "unit": unit_a})
    fonds_b = holdings.create_fonds(None, {"code": "X013", "name": "兰台实验中学", "unit": unit_b})
    for fonds in (fonds_a, fonds_b):
        Series.objects.create(fonds=fonds, code="BGS", name="办公室")
    world = World(unit_a, unit_b, fonds_a, fonds_b)
    world.users = {
        "sysadmin": _user("ing_sysadmin", "sysadmin"),
        "archivist": _user("ing_archivist", "archivist"),
        "officer_a": _user("ing_officer_a", "unit_officer", unit_a),
        "officer_b": _user("ing_officer_b", "unit_officer", unit_b),
        "keeper": _user("ing_keeper", "keeper"),
    }
    admin = world.users["sysadmin"]
    world.tokens = {
        "a": services.issue_token(admin, unit_a, "OA 系统")[1],
        "b": services.issue_token(admin, unit_b, "校务系统")[1],
    }
    return world


@pytest.fixture
def world(db, settings, tmp_path) -> Iterator[World]:
    settings.DATA_DIR = Path(tmp_path) / "data"
    yield build_world()


@pytest.fixture
def tworld(transactional_db, settings, tmp_path) -> Iterator[World]:
    settings.DATA_DIR = Path(tmp_path) / "data"
    yield build_world()


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


# --- a real worker ----------------------------------------------------------------------------


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{s.get('PORT') or 5432}/{s['NAME']}"


class Worker:
    """A ``lantai run_huey`` subprocess on a private queue, sharing the test database."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env = env
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self, **extra_env: str) -> Worker:
        self.log_file = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lantai", "run_huey", "--workers", "1", "--no-periodic"],
            env={**self.env, **extra_env},
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        import signal

        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log_file.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and not self.log_file.closed:
            self.log_file.close()


@pytest.fixture
def worker(tworld, tmp_path, settings) -> Iterator[Worker]:
    from huey.contrib.djhuey import HUEY
    from huey.storage import SqliteStorage

    name = f"test-{uuid.uuid4().hex[:12]}"
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    filename = str(Path(settings.DATA_DIR) / "queue.sqlite3")
    env = {
        **os.environ,
        "LANTAI_QUEUE": "sqlite",
        "LANTAI_QUEUE_NAME": name,
        "DATABASE_URL": database_url(),
        "LANTAI_DATA_DIR": str(settings.DATA_DIR),
        "LANTAI_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    HUEY.immediate = False
    previous = HUEY.storage
    HUEY.storage = SqliteStorage(name, filename=filename)
    w = Worker(env, tmp_path / "worker.log")
    try:
        yield w
    finally:
        w.stop()
        HUEY.storage = previous
        HUEY.immediate = True
