"""Backup and verified restore 备份与恢复.

A backup is a directory::

    DEST/
      content/ab/abcdef…          stored objects by SHA-256 (with --with-content), shared by
                                  every run in DEST: a later run copies only new objects
      20261125T153000Z/           one run (a backup set)
        database.sqlite3 | database.pgdump
        objects.jsonl             every stored object: key, size, SHA-256, SM3
        config/secret_key         the instance's key (ID-number hashes and ciphers depend on it)
        config/environment.json   LANTAI_* settings in force (passwords masked), for reference
        backup.json               what this is: format, Lantai version, date, database vendor,
                                  migrations, row counts, every file with size and SHA-256
        backup.json.sha256        the checksum of backup.json

The database copy is consistent while Lantai keeps serving: SQLite's online backup API, or
pg_dump inside an exported REPEATABLE READ snapshot; the row counts and the object list are
read from that same snapshot, so they describe exactly what the dump holds.

``restore`` refuses a damaged backup (any checksum that differs, a file missing, a content
object whose bytes do not match) before it touches anything, and only into an empty
instance. It then swaps the database in atomically (a renamed file, or a single-transaction
pg_restore), runs the migrations of this Lantai version, puts content back into the primary
store, and verifies: row counts, the audit chain, every stored object's fixity.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, connections, transaction

from lantai import __version__

FORMAT = "lantai-backup/1"
CHUNK = 1024 * 1024
_SENSITIVE = ("PASSWORD", "SECRET", "TOKEN", "KEY")

Progress = Callable[[str, int, int | None], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why (Chinese)."""


# --- small helpers ------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _noop(stage: str, done: int, total: int | None) -> None:
    return None


def counted_models() -> list[Any]:
    """The models whose rows a backup counts: every Lantai app's, plus users' groups."""
    wanted = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        if model.__module__.startswith("lantai.") or meta.app_label in {"auth", "axes"}:
            wanted.append(model)
    return sorted(wanted, key=lambda m: m._meta.label)


def _migrations_applied(cursor) -> dict[str, str]:
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
    latest: dict[str, str] = {}
    for app, name in cursor.fetchall():
        latest[app] = max(latest.get(app, ""), name)
    return latest


def _table_counts(cursor, models, tables: set[str]) -> dict[str, int]:
    quote = connection.ops.quote_name
    counts = {}
    for model in models:
        if model._meta.db_table not in tables:  # a model whose migration has not run
            continue
        cursor.execute(f"SELECT COUNT(*) FROM {quote(model._meta.db_table)}")  # noqa: S608
        counts[model._meta.label] = cursor.fetchone()[0]
    return counts


def _objects(cursor) -> Iterator[dict[str, Any]]:
    cursor.execute("SELECT key, size, sha256, sm3 FROM storage_storedobject ORDER BY id")
    while rows := cursor.fetchmany(5000):
        for key, size, sha256, sm3 in rows:
            yield {"key": key, "size": size, "sha256": sha256, "sm3": sm3}


def _environment() -> dict[str, str]:
    shown = {}
    for name in sorted(os.environ):
        if not (name.startswith("LANTAI_") or name in {"DATABASE_URL", "REDIS_URL"}):
            continue
        value = os.environ[name]
        if any(word in name for word in _SENSITIVE):
            value = "***"
        elif "://" in value and "@" in value:
            scheme, rest = value.split("://", 1)
            value = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
        shown[name] = value
    return shown


# --- backup ---------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    objects: int = 0
    content_copied: int = 0
    content_skipped: int = 0


def _dump_sqlite(target: Path, models) -> tuple[dict[str, int], dict[str, str], Path]:
    """Online backup of the live SQLite database; counts and objects from the copy."""
    connection.ensure_connection()
    source = connection.connection
    dest = sqlite3.connect(target)
    try:
        # One step, i.e. one read transaction: in WAL mode writers go on meanwhile, and the
        # copy is the single state that transaction saw (a stepwise copy would restart each
        # time another connection writes, and could starve under a busy ingest).
        source.backup(dest, pages=-1)
        dest.execute("PRAGMA journal_mode=DELETE")
        dest.commit()
        cursor = dest.cursor()
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {row[0] for row in cursor.fetchall()}
        counts = _table_counts(cursor, models, tables)
        migrations = _migrations_applied(cursor)
        objects_path = target.with_name("objects.jsonl")
        with open(objects_path, "w", encoding="utf-8") as fh:
            for row in _objects(cursor):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        dest.close()
    return counts, migrations, objects_path


def _pg_env() -> tuple[list[str], dict[str, str]]:
    conf = connection.settings_dict
    args = []
    if conf.get("HOST"):
        args += ["--host", str(conf["HOST"])]
    if conf.get("PORT"):
        args += ["--port", str(conf["PORT"])]
    if conf.get("USER"):
        args += ["--username", str(conf["USER"])]
    env = dict(os.environ)
    if conf.get("PASSWORD"):
        env["PGPASSWORD"] = str(conf["PASSWORD"])
    return args, env


def _dump_postgres(target: Path, models) -> tuple[dict[str, int], dict[str, str], Path]:
    """pg_dump of one exported snapshot; counts and objects read in that same snapshot."""
    pg_dump = shutil.which("pg_dump")
    if not pg_dump:
        raise BackupError("找不到 pg_dump：请安装 postgresql-client。")
    args, env = _pg_env()
    objects_path = target.with_name("objects.jsonl")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        command = [
            pg_dump,
            *args,
            "--format=custom",
            f"--snapshot={snapshot}",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(target),
            str(connection.settings_dict["NAME"]),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (fixed argv, no shell)
        if done.returncode != 0:
            raise BackupError(f"pg_dump 失败：{done.stderr.strip()[:500]}")
        counts = _table_counts(cursor, models, set(connection.introspection.table_names(cursor)))
        migrations = _migrations_applied(cursor)
        with open(objects_path, "w", encoding="utf-8") as fh:
            for row in _objects(cursor):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    return counts, migrations, objects_path


def _copy_content(dest: Path, objects_path: Path, progress: Progress) -> tuple[int, int]:
    """Put every stored object's bytes under DEST/content by SHA-256, unless already there."""
    from lantai.storage.models import StoredObject
    from lantai.storage.services import open_object

    content = dest / "content"
    copied = skipped = 0
    rows = [json.loads(line) for line in objects_path.read_text(encoding="utf-8").splitlines()]
    for n, row in enumerate(rows, 1):
        final = content / row["sha256"][:2] / row["sha256"]
        if final.exists() and final.stat().st_size == row["size"]:
            skipped += 1
        else:
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_name(f".{final.name}.tmp")
            digest = hashlib.sha256()
            # Stored objects are immutable and never deleted while referenced, so the live
            # row still names the bytes the snapshot lists.
            obj = StoredObject.objects.filter(key=row["key"]).first()
            if obj is None:
                raise BackupError(f"存储对象在备份过程中消失：{row['key']}")
            with open_object(obj) as src, open(tmp, "wb") as out:
                while block := src.read(CHUNK):
                    digest.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != row["sha256"]:
                tmp.unlink(missing_ok=True)
                raise BackupError(f"存储对象内容与登记的摘要不一致：{row['key']}")
            os.replace(tmp, final)
            copied += 1
        progress("content", n, len(rows))
    if rows:
        _fsync_dir(content)
    return copied, skipped


def backup(
    dest: Path | str, *, with_content: bool = False, progress: Progress | None = None
) -> BackupResult:
    """Write a consistent backup set under ``dest`` while the instance keeps serving."""
    progress = progress or _noop
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    staging = dest / f".{stamp}.partial"
    staging.mkdir()
    try:
        models = counted_models()
        progress("database", 0, None)
        if connection.vendor == "sqlite":
            db_file = staging / "database.sqlite3"
            counts, migrations, objects_path = _dump_sqlite(db_file, models)
        elif connection.vendor == "postgresql":
            db_file = staging / "database.pgdump"
            counts, migrations, objects_path = _dump_postgres(db_file, models)
        else:
            raise BackupError(f"不支持的数据库：{connection.vendor}")
        progress("database", 1, 1)

        config = staging / "config"
        config.mkdir()
        key_file = Path(settings.DATA_DIR) / "secret_key"
        if key_file.exists():
            shutil.copy2(key_file, config / "secret_key")
        (config / "environment.json").write_text(
            json.dumps(_environment(), ensure_ascii=False, indent=2), encoding="utf-8"
        )

        with open(objects_path, encoding="utf-8") as fh:
            n_objects = sum(1 for _ in fh)
        copied = skipped = 0
        if with_content:
            copied, skipped = _copy_content(dest, objects_path, progress)

        files = {}
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            rel = path.relative_to(staging).as_posix()
            files[rel] = {"size": path.stat().st_size, "sha256": _sha256_file(path)}
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        previous = sorted(
            p.name for p in dest.iterdir() if p.is_dir() and (p / "backup.json").exists()
        )
        manifest = {
            "format": FORMAT,
            "lantai_version": __version__,
            "created_at": datetime.now(UTC).isoformat(),
            "archive": {
                "name": settings.LANTAI_ARCHIVE_NAME,
                "code": settings.LANTAI_ARCHIVE_CODE,
            },
            "database": {"vendor": connection.vendor, "file": db_file.name},
            "migrations": migrations,
            "counts": counts,
            "objects": n_objects,
            "with_content": with_content,
            "content": {"copied": copied, "already_there": skipped},
            "previous": previous[-1] if previous else None,
            "files": files,
        }
        data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
        _write_atomic(staging / "backup.json", data)
        _write_atomic(
            staging / "backup.json.sha256",
            f"{hashlib.sha256(data).hexdigest()}  backup.json\n".encode(),
        )
        final = dest / stamp
        os.replace(staging, final)
        _fsync_dir(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BackupResult(final, manifest, n_objects, copied, skipped)


# --- reading and verifying a backup --------------------------------------------------------------


def find_set(src: Path | str) -> Path:
    """``src`` is a backup set, or a backup directory whose newest set is meant."""
    src = Path(src)
    if (src / "backup.json").exists():
        return src
    if src.is_dir():
        sets = sorted(p for p in src.iterdir() if p.is_dir() and (p / "backup.json").exists())
        if sets:
            return sets[-1]
    raise BackupError(f"这里没有备份（缺少 backup.json）：{src}")


def verify_backup(src: Path | str, progress: Progress | None = None) -> dict[str, Any]:
    """Check every checksum of a backup set; raise BackupError naming the first problem."""
    progress = progress or _noop
    path = find_set(src)
    raw = (path / "backup.json").read_bytes()
    sums = path / "backup.json.sha256"
    if not sums.exists():
        raise BackupError("备份不完整：缺少 backup.json.sha256。")
    expected = sums.read_text(encoding="utf-8").split()[0]
    if hashlib.sha256(raw).hexdigest() != expected:
        raise BackupError("备份清单 backup.json 已损坏：校验和不符。")
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise BackupError(f"备份清单无法读取：{exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"不认识的备份格式：{manifest.get('format')}")
    files = manifest["files"]
    for n, (rel, meta) in enumerate(sorted(files.items()), 1):
        file = path / rel
        if not file.is_file():
            raise BackupError(f"备份文件缺失：{rel}")
        if file.stat().st_size != meta["size"] or _sha256_file(file) != meta["sha256"]:
            raise BackupError(f"备份文件已损坏（校验和不符）：{rel}")
        progress("verify", n, len(files))
    if manifest.get("with_content"):
        content = path.parent / "content"
        rows = (path / "objects.jsonl").read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(rows, 1):
            row = json.loads(line)
            file = content / row["sha256"][:2] / row["sha256"]
            if not file.is_file():
                raise BackupError(f"备份中缺少存储对象的内容：{row['key']}")
            if file.stat().st_size != row["size"] or _sha256_file(file) != row["sha256"]:
                raise BackupError(f"备份中存储对象的内容已损坏：{row['key']}")
            progress("verify-content", n, len(rows))
    manifest["_path"] = str(path)
    return manifest


# --- restore ------------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    source: Path
    counts_equal: bool = False
    count_differences: dict[str, tuple[int, int]] = field(default_factory=dict)
    audit_ok: bool = False
    audit_checked: int = 0
    audit_reason: str = ""
    objects: int = 0
    objects_ok: int = 0
    objects_bad: list[str] = field(default_factory=list)
    content_restored: int = 0
    migrated: bool = False

    @property
    def ok(self) -> bool:
        return self.counts_equal and self.audit_ok and not self.objects_bad


def instance_is_empty() -> bool:
    """No users, no holdings, no stored objects, no audit entries (seeded code tables and
    roles do not count: migrate makes those)."""
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in (
            "accounts_user",
            "holdings_item",
            "holdings_volume",
            "storage_storedobject",
            "audit_auditentry",
        ):
            if table in tables:
                cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608
                if cursor.fetchone():
                    return False
    return True


def _restore_sqlite(db_file: Path) -> None:
    target = Path(connection.settings_dict["NAME"])
    connections.close_all()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".restore")
    os.close(fd)
    try:
        shutil.copyfile(db_file, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        check = sqlite3.connect(tmp)
        try:
            verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            check.close()
        if verdict != "ok":
            raise BackupError(f"备份中的数据库未通过完整性检查：{verdict}")
        # The empty instance's WAL must not be replayed onto the restored file.
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _restore_postgres(db_file: Path) -> None:
    pg_restore = shutil.which("pg_restore")
    if not pg_restore:
        raise BackupError("找不到 pg_restore：请安装 postgresql-client。")
    with connection.cursor() as cursor:
        # The target holds nothing of value (checked): clear what migrate may have made.
        cursor.execute("DROP SCHEMA public CASCADE")
        cursor.execute("CREATE SCHEMA public")
    connections.close_all()
    args, env = _pg_env()
    command = [
        pg_restore,
        *args,
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        "--dbname",
        str(connection.settings_dict["NAME"]),
        str(db_file),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (fixed argv, no shell)
    if done.returncode != 0:
        raise BackupError(f"pg_restore 失败（数据库未改变）：{done.stderr.strip()[:500]}")


def _restore_content(path: Path, report: RestoreReport, progress: Progress) -> None:
    from lantai.storage.backends import backend_for
    from lantai.storage.services import active_locations

    primary, _ = active_locations()
    backend = backend_for(primary)
    content = path.parent / "content"
    rows = (path / "objects.jsonl").read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(rows, 1):
        row = json.loads(line)
        if backend.size(row["key"]) != row["size"]:
            with open(content / row["sha256"][:2] / row["sha256"], "rb") as src:
                if backend.size(row["key"]) is None:
                    backend.write_new(row["key"], src, size=row["size"], sha256=row["sha256"])
                else:
                    backend.replace(row["key"], src, size=row["size"], sha256=row["sha256"])
            report.content_restored += 1
        progress("content", n, len(rows))


def _verify_counts_and_chain(manifest: dict, report: RestoreReport) -> None:
    from lantai.audit.services import verify_chain

    models = {m._meta.label: m for m in counted_models()}
    for label, expected in manifest["counts"].items():
        model = models.get(label)
        actual = model.objects.count() if model is not None else None
        if actual is None and expected == 0:
            continue  # an empty table of a model this version no longer has
        if actual != expected:
            report.count_differences[label] = (expected, actual)
    report.counts_equal = not report.count_differences

    chain = verify_chain()
    report.audit_ok, report.audit_checked, report.audit_reason = (
        chain.ok,
        chain.checked,
        chain.reason,
    )


def _verify_fixity(manifest: dict, report: RestoreReport, progress: Progress) -> None:
    from lantai.storage.models import ObjectCopy
    from lantai.storage.services import verify_copy

    copies = ObjectCopy.objects.select_related("object", "location").filter(location__active=True)
    total = copies.count()
    seen: dict[int, bool] = {}
    for n, copy in enumerate(copies.iterator(chunk_size=500), 1):
        status = verify_copy(copy)
        seen[copy.object_id] = seen.get(copy.object_id, False) or status == "ok"
        progress("fixity", n, total)
    report.objects = manifest["objects"]
    report.objects_ok = sum(1 for good in seen.values() if good)
    if report.objects_ok != report.objects:
        from lantai.storage.models import StoredObject

        bad = StoredObject.objects.exclude(pk__in=[k for k, good in seen.items() if good])
        report.objects_bad = list(bad.values_list("key", flat=True)[:50])


def restore(src: Path | str, *, progress: Progress | None = None) -> RestoreReport:
    """Restore a verified backup into this empty instance, migrate, and verify the result."""
    from django.core.management import call_command

    progress = progress or _noop
    manifest = verify_backup(src, progress)
    path = Path(manifest["_path"])
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise BackupError(
            f"备份来自 {vendor} 数据库，本实例使用 {connection.vendor}：请在同类数据库上恢复。"
        )
    if not instance_is_empty():
        raise BackupError("本实例已有数据：只能恢复到空实例（新的数据目录或空数据库）。")
    report = RestoreReport(source=path)
    db_file = path / manifest["database"]["file"]
    progress("database", 0, 1)
    if vendor == "sqlite":
        _restore_sqlite(db_file)
    else:
        _restore_postgres(db_file)
    progress("database", 1, 1)

    key_backup = path / "config" / "secret_key"
    key_file = Path(settings.DATA_DIR) / "secret_key"
    if key_backup.exists() and not os.environ.get("LANTAI_SECRET_KEY"):
        _write_atomic(key_file, key_backup.read_bytes())
        with contextlib.suppress(OSError):
            key_file.chmod(0o600)

    call_command("migrate", interactive=False, verbosity=0)
    report.migrated = True
    # Counts and the audit chain first: putting content back and checking fixity record
    # entries of their own (a location synced from the environment, a repaired copy).
    _verify_counts_and_chain(manifest, report)
    if manifest.get("with_content"):
        _restore_content(path, report, progress)
    _verify_fixity(manifest, report, progress)
    return report
