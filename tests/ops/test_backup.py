"""Backup and restore, run as an operator would: ``lantai`` commands against real instances
(each its own data directory, and on the PostgreSQL pass its own databases).

The drill: demo holdings with ingested AIPs and vault readings → backup → wipe → restore →
every row count, every stored object's checksum and the audit chain are as before.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    # One worker builds the demo instance once and clones it for each test.
    pytest.mark.xdist_group("ops-backup"),
]

LANTAI = str(Path(sys.executable).with_name("lantai"))
PG_BASE = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")

# Prints, for an instance, every model's row count and every stored object's digest.
SNAPSHOT = """
import json
from lantai.ops.backup import counted_models
from lantai.storage.models import StoredObject
tables = set(__import__("django.db").db.connection.introspection.table_names())
counts = {m._meta.label: m.objects.count() for m in counted_models() if m._meta.db_table in tables}
objects = sorted(StoredObject.objects.values_list("key", "sha256", "sm3", "size"))
print(json.dumps({"counts": counts, "objects": objects}))
"""


class Instance:
    """One Lantai instance: a data directory and (on PostgreSQL) a database of its own,
    optionally a copy of another (stopped) instance."""

    def __init__(self, root: Path, name: str, template: Instance | None = None):
        self.data = root / name
        if template is not None:
            shutil.copytree(template.data, self.data)
        else:
            self.data.mkdir(parents=True)
        self.env = {
            **os.environ,
            "LANTAI_DATA_DIR": str(self.data),
            "LANTAI_QUEUE": "immediate",
            "LANTAI_QUEUE_NAME": f"ops-{uuid.uuid4().hex[:8]}",
        }
        self.env.pop("LANTAI_SECRET_KEY", None)
        self.env.pop("LANTAI_STORAGE_DIR", None)
        self.database = None
        if connection.vendor == "postgresql":
            self.database = f"lantai_ops_{name}_{uuid.uuid4().hex[:6]}"
            like = f' TEMPLATE "{template.database}"' if template is not None else ""
            self._psql(f'CREATE DATABASE "{self.database}"{like}')
            self.env["DATABASE_URL"] = PG_BASE.rsplit("/", 1)[0] + "/" + self.database
        else:
            self.env.pop("DATABASE_URL", None)

    def _psql(self, sql: str) -> None:
        subprocess.run(
            ["psql", PG_BASE, "-v", "ON_ERROR_STOP=1", "-qc", sql],
            check=True,
            capture_output=True,
        )

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [LANTAI, *args], env=self.env, capture_output=True, text=True, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"lantai {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def snapshot(self) -> dict:
        return json.loads(self.run("shell", "-c", SNAPSHOT).stdout.strip().splitlines()[-1])

    def wipe(self) -> None:
        shutil.rmtree(self.data)
        self.data.mkdir()
        if self.database:
            # Two commands: DROP DATABASE cannot share psql -c's implicit transaction.
            self._psql(f'DROP DATABASE "{self.database}" WITH (FORCE)')
            self._psql(f'CREATE DATABASE "{self.database}"')

    def drop(self) -> None:
        if self.database:
            self._psql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


@pytest.fixture
def instances(tmp_path):
    made: list[Instance] = []

    def make(name: str, template: Instance | None = None) -> Instance:
        instance = Instance(tmp_path, name, template)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.drop()


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory, django_db_blocker):
    """Demo holdings with AIPs and vault readings, built once for the module."""
    with django_db_blocker.unblock():
        template = Instance(tmp_path_factory.mktemp("ops"), "template")
    try:
        template.run("migrate", "-v0")
        template.run("demo", "--items", "60")
        yield template
    finally:
        with django_db_blocker.unblock():
            template.drop()


@pytest.fixture
def populated(instances, demo_template):
    """A copy of the demo instance for one test."""
    return instances("a", demo_template)


def test_restore_drill_brings_back_everything(populated, tmp_path):
    a = populated
    before = a.snapshot()
    assert before["objects"], "the demo stores AIPs"
    assert before["counts"]["vault.Reading"] > 0
    dest = tmp_path / "backups"
    out = a.run("backup", str(dest), "--with-content").stdout
    assert "备份完成" in out

    a.wipe()
    assert not (a.data / "store").exists()
    done = a.run("restore", str(dest))
    assert "审计链：完好" in done.stdout and "行数核对：一致" in done.stdout
    after = a.snapshot()
    # Restoring appends its own audit entries (e.g. fixity results); nothing else changes.
    for label in ("audit.AuditEntry",):
        assert after["counts"].pop(label) >= before["counts"].pop(label)
    assert after["counts"] == before["counts"]
    assert after["objects"] == before["objects"]
    # Every restored file has the bytes its digest names.
    import hashlib

    for key, sha256, _sm3, size in after["objects"]:
        data = (a.data / "store" / key).read_bytes()
        assert len(data) == size and hashlib.sha256(data).hexdigest() == sha256
    a.run("audit", "verify")


def test_damaged_backup_is_refused_and_nothing_is_restored(populated, instances, tmp_path):
    dest = tmp_path / "backups"
    populated.run("backup", str(dest), "--with-content")
    backup_set = next(p for p in dest.iterdir() if p.name != "content")
    db = next(backup_set.glob("database.*"))
    good = db.read_bytes()
    raw = bytearray(good)
    raw[len(raw) // 2] ^= 0xFF
    db.write_bytes(bytes(raw))

    b = instances("b")
    done = b.run("restore", str(dest), check=False)
    assert done.returncode != 0
    assert "已损坏" in done.stderr and db.name in done.stderr
    # Nothing was written: the empty instance stays empty.
    probe = b.run(
        "shell",
        "-c",
        "from django.db import connection; print(len(connection.introspection.table_names()))",
    )
    assert probe.stdout.strip().splitlines()[-1] == "0"

    # A damaged content object is refused just the same.
    db.write_bytes(good)
    victim = next(p for p in (dest / "content").rglob("*") if p.is_file())
    victim.write_bytes(victim.read_bytes() + b"!")
    done = b.run("restore", str(dest), check=False)
    assert done.returncode != 0 and "存储对象的内容已损坏" in done.stderr


def test_incremental_backup_copies_only_new_content(populated, tmp_path):
    dest = tmp_path / "backups"
    first = json.loads(
        next(iter(_sets(dest, populated, "--with-content"))).joinpath("backup.json").read_text()
    )
    assert first["content"]["copied"] > 0
    populated.run(
        "shell",
        "-c",
        "import io; from lantai.storage.services import put_file; "
        "put_file(io.BytesIO(b'one more object'), 'test/new-object.txt', purpose='test')",
    )
    sets = _sets(dest, populated, "--with-content")
    second = json.loads(sets[-1].joinpath("backup.json").read_text())
    assert second["content"] == {"copied": 1, "already_there": first["objects"]}
    assert second["objects"] == first["objects"] + 1
    assert second["previous"] == sets[0].name


def _sets(dest: Path, instance: Instance, *args: str) -> list[Path]:
    instance.run("backup", str(dest), *args)
    return sorted(p for p in dest.iterdir() if (p / "backup.json").exists())


def test_restore_refuses_an_instance_that_has_data(populated, tmp_path):
    dest = tmp_path / "backups"
    populated.run("backup", str(dest))
    done = populated.run("restore", str(dest), check=False)
    assert done.returncode != 0 and "只能恢复到空实例" in done.stderr
    assert populated.run("restore", str(dest), "--verify-only").returncode == 0


def test_backup_while_writing_restores_consistently(populated, instances, tmp_path):
    """Objects are stored (file first, then its row) by another process while the backup runs:
    the restored instance lists only objects whose bytes it has."""
    writer_script = (
        "import io, uuid\n"
        "from lantai.storage.services import put_file\n"
        "for n in range(300):\n"
        "    key = f'test/live-{uuid.uuid4().hex}.bin'\n"
        "    put_file(io.BytesIO(uuid.uuid4().bytes * 64), key, purpose='test')\n"
        "    if n == 10:\n"
        "        print('writing', flush=True)\n"
    )
    writer = subprocess.Popen(
        [LANTAI, "shell", "-c", writer_script],
        env=populated.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    dest = tmp_path / "backups"
    try:
        # The backup starts while the writer is mid-stream.
        for line in writer.stdout:
            if line.strip() == "writing":
                break
        populated.run("backup", str(dest), "--with-content")
    finally:
        _out, err = writer.communicate(timeout=600)
    assert writer.returncode == 0, err
    b = instances("b")
    done = b.run("restore", str(dest))
    assert "存储对象：" in done.stdout
    manifest = json.loads(sorted(dest.glob("*/backup.json"))[-1].read_text())
    snap = b.snapshot()
    assert len(snap["objects"]) == manifest["objects"]
    assert snap["counts"]["storage.StoredObject"] == manifest["counts"]["storage.StoredObject"]


def test_migrations_run_forward_on_a_copy_of_a_populated_database(populated):
    """An upgrade in miniature: a populated instance stands at older migrations of some apps
    (the newest ones unapplied), then ``lantai migrate`` brings it forward; nothing is lost."""
    before = populated.snapshot()
    # The newest migration without dependants: the readings index over a populated table.
    populated.run("migrate", "vault", "0003", "-v0")
    plan = populated.run("migrate", "--plan").stdout
    assert "reading_series" in plan.lower()
    populated.run("migrate", "-v0")
    after = populated.snapshot()
    for label in ("audit.AuditEntry",):
        after["counts"].pop(label), before["counts"].pop(label)
    assert after == before
    assert "No planned migration" in populated.run("migrate", "--plan").stdout
    populated.run("audit", "verify")
