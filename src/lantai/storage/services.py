"""Storage services 存储服务: store files once, replicate them, read them back verified, check
their fixity 固定性 and repair a damaged copy from a good one.

Other apps call ``put_file`` (or ``put_files`` for a batch), ``open_object`` and ``attach``.
They are building blocks of a caller's operation (an accession, an ingest): they check no
permission and write no audit entry of their own, so one accepted batch stays one audit
entry; the caller checks and records. Fixity results, repairs, new locations and sweeps are
recorded here (they change what the archive knows about its copies).

Storage locations come from the environment on first use (``sync_locations_from_env``; see
docs/storage.md): the primary 本地 directory (default ``DATA_DIR/store``), a second local
directory 异地 (LANTAI_STORAGE_REPLICA_DIR) and an S3 bucket (LANTAI_S3_*).
"""

from __future__ import annotations

import io
import logging
import mimetypes
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, Max, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.storage.backends import (
    CHUNK,
    DigestMismatch,
    HashingReader,
    LocalBackend,
    ObjectExists,
    ObjectMissing,
    StorageError,
    VerifyingReader,
    backend_for,
    check_key,
    fsync_dir,
)
from lantai.storage.models import (
    BackendKind,
    Component,
    ComponentRole,
    CopyStatus,
    LocationRole,
    ObjectCopy,
    StorageLocation,
    StoredObject,
)

log = logging.getLogger(__name__)

__all__ = [
    "DigestMismatch",
    "ObjectMissing",
    "StorageError",
    "active_locations",
    "add_copy",
    "attach",
    "open_object",
    "put_file",
    "put_files",
    "repair_copy",
    "sweep_orphans",
    "sync_locations_from_env",
    "verify_copy",
    "verify_object",
]

_synced_env = False


# --- locations ---------------------------------------------------------------------------------


def env_locations(environ: Mapping[str, str] | None = None) -> list[dict]:
    """The locations the environment asks for, as StorageLocation field values."""
    env = os.environ if environ is None else environ
    wanted = [
        {
            "code": "local",
            "name": "本地",
            "backend": BackendKind.LOCAL,
            "config": {"root": env.get("LANTAI_STORAGE_DIR") or str(settings.DATA_DIR / "store")},
            "role": LocationRole.PRIMARY,
        }
    ]
    if env.get("LANTAI_STORAGE_REPLICA_DIR"):
        wanted.append(
            {
                "code": "offsite",
                "name": "异地",
                "backend": BackendKind.LOCAL,
                "config": {"root": env["LANTAI_STORAGE_REPLICA_DIR"]},
                "role": LocationRole.REPLICA,
            }
        )
    if env.get("LANTAI_S3_BUCKET"):
        config = {
            "bucket": env["LANTAI_S3_BUCKET"],
            "prefix": env.get("LANTAI_S3_PREFIX", ""),
            "endpoint_url": env.get("LANTAI_S3_ENDPOINT_URL", ""),
            "region": env.get("LANTAI_S3_REGION", "us-east-1"),
        }
        if env.get("LANTAI_S3_ADDRESSING_STYLE"):
            config["addressing_style"] = env["LANTAI_S3_ADDRESSING_STYLE"]
        wanted.append(
            {
                "code": env.get("LANTAI_S3_CODE", "s3"),
                "name": env.get("LANTAI_S3_NAME", "异地（S3）"),
                "backend": BackendKind.S3,
                "config": config,
                "role": LocationRole.REPLICA,
            }
        )
    return wanted


def sync_locations_from_env(environ: Mapping[str, str] | None = None) -> list[StorageLocation]:
    """Create the locations the environment names (or update their configuration).

    Locations created otherwise are left alone; the env's primary is skipped when another
    active primary exists. Returns the active locations.
    """
    with transaction.atomic():
        for values in env_locations(environ):
            if (
                values["role"] == LocationRole.PRIMARY
                and StorageLocation.objects.filter(role=LocationRole.PRIMARY, active=True)
                .exclude(code=values["code"])
                .exists()
            ):
                continue
            location, created = StorageLocation.objects.get_or_create(
                code=values["code"], defaults=values
            )
            if created:
                record(
                    AuditAction.CREATE,
                    obj=location,
                    detail={"backend": location.backend, "role": location.role},
                )
            elif location.config != values["config"]:
                before = location.config
                location.config = values["config"]
                location.save(update_fields=["config"])
                record(
                    AuditAction.UPDATE,
                    obj=location,
                    detail={"config": [before, location.config]},
                )
    return list(StorageLocation.objects.filter(active=True))


def active_locations() -> tuple[StorageLocation, list[StorageLocation]]:
    """(primary, replicas) among the active locations, configured from the env on first use."""
    global _synced_env
    locations = list(StorageLocation.objects.filter(active=True))
    if not _synced_env or not any(loc.role == LocationRole.PRIMARY for loc in locations):
        locations = sync_locations_from_env()
        _synced_env = True
    primaries = [loc for loc in locations if loc.role == LocationRole.PRIMARY]
    if not primaries:
        raise StorageError(_("没有启用的主存储位置"))
    primary = primaries[0]
    return primary, [loc for loc in locations if loc.pk != primary.pk]


# --- storing -------------------------------------------------------------------------------------


def _key_or_error(key: str) -> str:
    try:
        return check_key(key)
    except StorageError as exc:
        raise ValidationError({"key": [str(exc)]}) from exc


def _refuse_or_same(existing: StoredObject, size: int, sha256: str) -> StoredObject:
    if existing.size == size and existing.sha256 == sha256:
        return existing
    raise ValidationError(
        {
            "key": [
                _("存储键“%(key)s”已存有内容不同的文件，不能覆盖已保存的内容")
                % {"key": existing.key}
            ]
        }
    )


def _digest_of(backend, key: str) -> tuple[int, str, str] | None:
    try:
        reader = backend.open(key)
    except ObjectMissing:
        return None
    with reader:
        hashing = HashingReader(reader)
        hashing.drain()
    return hashing.size, hashing.sha256, hashing.sm3


def _staging_dir() -> Path:
    path = Path(settings.DATA_DIR) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _stage(backend, key: str, reader) -> Path:
    if isinstance(backend, LocalBackend):
        return backend.stage(key, reader)
    # A remote primary: stage on the local disk, then upload from there.
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=_staging_dir())
    try:
        with os.fdopen(fd, "wb") as fh:
            while chunk := reader.read(CHUNK):
                fh.write(chunk)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _commit_primary(backend, staged: Path, key: str, size: int, sha256: str) -> None:
    """Make the staged bytes visible under ``key``. The caller owns the key (its row is
    inserted), so anything already there is an orphan of a rolled-back transaction: it is
    swapped out rather than trusted, and the fresh file's new mtime keeps a concurrent sweep
    from taking it for an old orphan."""
    if isinstance(backend, LocalBackend):
        backend.commit(staged, key, over_orphan=True)
        return
    with open(staged, "rb") as fh:
        try:
            backend.write_new(key, fh, size=size, sha256=sha256)
        except ObjectExists:
            fh.seek(0)
            backend.replace(key, fh, size=size, sha256=sha256)


def _replicate(primary_backend, location: StorageLocation, obj: StoredObject) -> None:
    backend = backend_for(location)
    with primary_backend.open(obj.key) as reader:
        try:
            backend.write_new(obj.key, reader, size=obj.size, sha256=obj.sha256)
            return
        except ObjectExists:
            pass
    found = _digest_of(backend, obj.key)
    if found is not None and found[:2] == (obj.size, obj.sha256):
        return
    with primary_backend.open(obj.key) as reader:
        backend.replace(obj.key, reader, size=obj.size, sha256=obj.sha256)


def _open_source(src: Path | BinaryIO):
    if isinstance(src, (str, os.PathLike)):
        return open(src, "rb"), True
    return src, False


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _expected(expected: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Validate digests a caller already computed: {"size", "sha256", "sm3"}."""
    if expected is None:
        return None
    size, sha256, sm3 = expected.get("size"), expected.get("sha256"), expected.get("sm3")
    if (
        not isinstance(size, int)
        or size < 0
        or not isinstance(sha256, str)
        or not _HEX64.fullmatch(sha256.lower())
        or not isinstance(sm3, str)
        or not _HEX64.fullmatch(sm3.lower())
    ):
        raise ValidationError({"expected": [_("预先计算的摘要须包含字节数、SHA-256 与 SM3")]})
    return {"size": size, "sha256": sha256.lower(), "sm3": sm3.lower()}


def _mismatch(key: str) -> DigestMismatch:
    return DigestMismatch(_("写入的内容与预先计算的摘要不一致：%(key)s") % {"key": key})


def put_file(
    src: Path | BinaryIO,
    key: str,
    *,
    purpose: str,
    expected: Mapping[str, Any] | None = None,
) -> StoredObject:
    """Store ``src`` under ``key`` on the primary location and every active replica.

    Streams (never reads a file whole), computing SHA-256 and SM3 on the way; the object
    becomes visible only complete (temp name, fsync, link). The same content under the same key
    returns the existing object; different content raises ValidationError({"key": ...}).

    ``expected`` ({"size", "sha256", "sm3"}, e.g. from the ingest checks, which computed both
    digests): the bytes are then hashed with SHA-256 only while written, refused with
    DigestMismatch unless size and SHA-256 agree, and the given SM3 is registered (SHA-256
    ties the bytes to the digests computed together with that SM3).

    Safe inside an outer transaction: if it rolls back the row goes, and the files left behind
    are orphans that ``sweep_orphans`` removes. Storage failures raise StorageError.
    """
    key = _key_or_error(key)
    want = _expected(expected)
    primary, replicas = active_locations()
    primary_backend = backend_for(primary)
    fh, close = _open_source(src)
    staged: Path | None = None
    try:
        hashing = HashingReader(fh, sm3=want is None)
        existing = StoredObject.objects.filter(key=key).first()
        if existing is not None:
            # Already stored: hash the source without writing it anywhere.
            hashing.drain()
            return _refuse_or_same(existing, hashing.size, hashing.sha256)
        staged = _stage(primary_backend, key, hashing)
        size, sha256, sm3 = hashing.size, hashing.sha256, hashing.sm3
        if want is not None:
            if (size, sha256) != (want["size"], want["sha256"]):
                raise _mismatch(key)
            sm3 = want["sm3"]
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    finally:
        if close:
            fh.close()
    try:
        with transaction.atomic():
            try:
                # The unique key is the lock: inserting the row first means a concurrent put of
                # the same key waits (PostgreSQL) or is serialised (SQLite) until this one ends.
                with transaction.atomic():
                    obj = StoredObject.objects.create(
                        key=key, size=size, sha256=sha256, sm3=sm3, purpose=purpose
                    )
            except IntegrityError:
                return _refuse_or_same(StoredObject.objects.get(key=key), size, sha256)
            _commit_primary(primary_backend, staged, key, size, sha256)
            now = timezone.now()
            copies = [
                ObjectCopy(object=obj, location=primary, status=CopyStatus.OK, verified_at=now)
            ]
            for location in replicas:
                _replicate(primary_backend, location, obj)
                copies.append(
                    ObjectCopy(object=obj, location=location, status=CopyStatus.OK, verified_at=now)
                )
            ObjectCopy.objects.bulk_create(copies)
            return obj
    finally:
        staged.unlink(missing_ok=True)


def _workers(n: int) -> int:
    return max(1, min(4, os.cpu_count() or 1, n))


def put_files(
    entries: Sequence[tuple[Path, str, Mapping[str, Any] | None]],
    *,
    purpose: str,
    link: bool = False,
) -> list[StoredObject]:
    """Store many files (``(path, key, expected or None)`` each) as ``put_file`` would, faster.

    Same guarantees, in a different order of work: every file is written under a temporary
    name to the primary location (hashed on the way: SHA-256 only when ``expected`` is given)
    and copied from that written primary file to each replica location — that copy's read,
    hashed with SHA-256 and compared, is the read-back verification of the primary copy, and
    the replica copy is compared too (with no replica the primary is read back on its own).
    Files are processed in a few threads (hashlib releases the GIL). Each location's
    filesystem is then made durable with one syncfs instead of an fsync per file; only then
    are the rows inserted and the files linked to their final names (atomic, never
    overwriting registered content) and their directories fsynced. A crash leaves only
    temporary files, which ``sweep_orphans`` removes.

    ``link=True``: the caller hands the files over (it never writes them again, e.g. an AIP
    bag that is removed after storing): where the source is on the primary's filesystem the
    primary copy is a hard link to it instead of a copy, its bytes are checked by the same
    read-back (against ``expected`` when given), and the syncfs makes them durable.

    Returned objects carry ``read_back = True`` when their copies were verified this way.
    Falls back to ``put_file`` one by one for keys already stored and for non-local
    locations. Raises DigestMismatch (nothing registered) when a file disagrees with its
    ``expected`` digests or a copy reads back differently.
    """
    prepared = [(Path(src), _key_or_error(key), _expected(exp)) for src, key, exp in entries]
    keys = [key for _src, key, _exp in prepared]
    if len(set(keys)) != len(keys):
        raise ValidationError({"key": [_("同一批次中存储键重复")]})
    if not prepared:
        return []
    primary, replicas = active_locations()
    primary_backend = backend_for(primary)
    replica_backends = [(loc, backend_for(loc)) for loc in replicas]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        existing.update(
            StoredObject.objects.filter(key__in=keys[start : start + 500]).values_list(
                "key", flat=True
            )
        )
    if (
        existing
        or not isinstance(primary_backend, LocalBackend)
        or any(not isinstance(b, LocalBackend) for _loc, b in replica_backends)
    ):
        return [put_file(src, key, purpose=purpose, expected=exp) for src, key, exp in prepared]

    leftovers: list[Path] = []
    lock = threading.Lock()

    def keep(path: Path) -> Path:
        with lock:
            leftovers.append(path)
        return path

    def work(entry):
        src, key, want = entry
        linked = primary_backend.stage_link(key, src) if link else None
        if linked is not None:
            staged = keep(linked)
            size = sha256 = sm3 = None  # learnt from the read-back below
        else:
            with open(src, "rb") as fh:
                hashing = HashingReader(fh, sm3=want is None)
                staged = keep(primary_backend.stage(key, hashing, fsync=False))
            size, sha256, sm3 = hashing.size, hashing.sha256, hashing.sm3
            if want is not None:
                if (size, sha256) != (want["size"], want["sha256"]):
                    raise _mismatch(key)
                sm3 = want["sm3"]
        paths = [staged]
        for _loc, backend in replica_backends or [(None, None)]:
            # Read the primary file back (hashed) while copying it to the replica.
            with open(staged, "rb") as fh:
                check = HashingReader(fh, sm3=size is None and want is None)
                if backend is None:
                    check.drain()
                else:
                    paths.append(keep(backend.stage(key, check, fsync=False)))
            if size is None:
                size, sha256 = check.size, check.sha256
                sm3 = check.sm3 if want is None else want["sm3"]
                if want is not None and (size, sha256) != (want["size"], want["sha256"]):
                    raise _mismatch(key)
            elif (check.size, check.sha256) != (size, sha256):
                raise DigestMismatch(_("保存后回读校验失败：%(key)s") % {"key": key})
        return size, sha256, sm3, paths

    try:
        with ThreadPoolExecutor(max_workers=_workers(len(prepared))) as pool:
            results = list(pool.map(work, prepared))
        # Durable before visible: one syncfs per filesystem instead of one fsync per file.
        for backend in {
            id(b): b for b in [primary_backend, *(b for _l, b in replica_backends)]
        }.values():
            backend.sync_fs()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    objs = StoredObject.objects.bulk_create(
                        [
                            StoredObject(key=key, size=size, sha256=sha, sm3=sm3, purpose=purpose)
                            for (_src, key, _exp), (size, sha, sm3, _paths) in zip(
                                prepared, results, strict=True
                            )
                        ]
                    )
            except IntegrityError:
                # A concurrent put took one of the keys meanwhile: one by one, as put_file does.
                return [
                    put_file(src, key, purpose=purpose, expected=exp) for src, key, exp in prepared
                ]
            if any(obj.pk is None for obj in objs):
                objs = list(StoredObject.objects.filter(key__in=keys).order_by("id"))
                by_key = {obj.key: obj for obj in objs}
                objs = [by_key[key] for key in keys]
            dirs: dict[int, tuple[LocalBackend, set[Path]]] = {}
            backends = [primary_backend, *(b for _loc, b in replica_backends)]
            for key, (_size, _sha, _sm3, paths) in zip(keys, results, strict=True):
                for backend, path in zip(backends, paths, strict=False):
                    # The rows are ours, so anything already under the key is an orphan of a
                    # rolled-back write: swapped out atomically, never trusted.
                    backend.commit(path, key, over_orphan=True, sync_dir=False)
                    dirs.setdefault(id(backend), (backend, set()))[1].add(path.parent)
            for _backend, folders in dirs.values():
                for folder in folders:
                    fsync_dir(folder)
            now = timezone.now()
            ObjectCopy.objects.bulk_create(
                [
                    ObjectCopy(object=obj, location=loc, status=CopyStatus.OK, verified_at=now)
                    for obj in objs
                    for loc in [primary, *replicas]
                ]
            )
            for obj in objs:
                obj.read_back = True
            return objs
    finally:
        for path in leftovers:
            path.unlink(missing_ok=True)


# --- reading -----------------------------------------------------------------------------------


def _copies_best_first(obj: StoredObject):
    return (
        obj.copies.select_related("location")
        .filter(location__active=True)
        .annotate(
            rank=Case(
                When(status=CopyStatus.OK, location__role=LocationRole.PRIMARY, then=Value(0)),
                When(status=CopyStatus.OK, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "location_id")
    )


def open_object(obj: StoredObject) -> BinaryIO:
    """A stream of the object's bytes from a good copy (primary first).

    The stream raises DigestMismatch at its end if the bytes read are not the registered ones,
    so damaged content is never taken for good. Close it (it is a context manager).
    """
    for copy in _copies_best_first(obj):
        if copy.status != CopyStatus.OK:
            continue
        backend = backend_for(copy.location)
        try:
            raw = backend.open(obj.key)
        except ObjectMissing:
            log.warning("storage: %s missing at %s", obj.key, copy.location.code)
            continue
        return io.BufferedReader(
            VerifyingReader(raw, key=obj.key, size=obj.size, sha256=obj.sha256),
            buffer_size=CHUNK,
        )
    raise ObjectMissing(_("没有可读取的完好副本：%(key)s") % {"key": obj.key})


# --- fixity and repair -------------------------------------------------------------------------


def _set_status(copy: ObjectCopy, status: str, event: str, actor=None) -> None:
    previous = copy.status
    copy.status = status
    copy.verified_at = timezone.now()
    with transaction.atomic():
        copy.save(update_fields=["status", "verified_at"])
        if previous != status or event == "repair":
            record(
                AuditAction.SYSTEM,
                actor=actor,
                obj=copy.object,
                detail={
                    "event": event,
                    "location": copy.location.code,
                    "status": [previous, status],
                },
            )


def verify_copy(copy: ObjectCopy, *, actor=None) -> str:
    """Re-read one copy and compare size, SHA-256 and SM3 with the registered values.

    Sets and returns the copy's status (ok / missing / corrupt) and its verification time; a
    change of status is recorded in the audit trail.
    """
    obj = copy.object
    found = _digest_of(backend_for(copy.location), obj.key)
    if found is None:
        status = CopyStatus.MISSING
    elif found == (obj.size, obj.sha256, obj.sm3):
        status = CopyStatus.OK
    else:
        status = CopyStatus.CORRUPT
    _set_status(copy, status, "fixity", actor)
    return status


def verify_object(obj: StoredObject, *, actor=None) -> dict[str, str]:
    """Verify every copy of ``obj``: {location code: status}."""
    return {
        copy.location.code: verify_copy(copy, actor=actor)
        for copy in obj.copies.select_related("location", "object")
    }


def repair_copy(copy: ObjectCopy, *, actor=None) -> ObjectCopy:
    """Rewrite a missing or damaged copy from a good replica (the bytes are checked against the
    registered SHA-256 on the way; the damaged file is kept aside, never edited in place)."""
    obj = copy.object
    target = backend_for(copy.location)
    sources = [c for c in _copies_best_first(obj) if c.pk != copy.pk]
    for source in sources:
        try:
            with backend_for(source.location).open(obj.key) as reader:
                target.replace(obj.key, reader, size=obj.size, sha256=obj.sha256)
        except ObjectMissing:
            _set_status(source, CopyStatus.MISSING, "fixity", actor)
            continue
        except DigestMismatch:
            _set_status(source, CopyStatus.CORRUPT, "fixity", actor)
            continue
        _set_status(copy, CopyStatus.OK, "repair", actor)
        return copy
    raise StorageError(_("没有完好的副本可用于修复：%(key)s") % {"key": obj.key})


def add_copy(obj: StoredObject, location: StorageLocation, *, actor=None) -> ObjectCopy:
    """Give ``obj`` a copy at ``location`` (a location added after it was stored)."""
    copy, created = ObjectCopy.objects.get_or_create(
        object=obj, location=location, defaults={"status": CopyStatus.MISSING}
    )
    if created or copy.status != CopyStatus.OK:
        repair_copy(copy, actor=actor)
    return copy


def sweep_orphans(
    *,
    older_than: timedelta = timedelta(hours=24),
    locations: Iterable[StorageLocation] | None = None,
    dry_run: bool = False,
) -> dict[str, dict[str, int]]:
    """Remove files that no stored object registers (left by rolled-back transactions or
    interrupted writes), once older than ``older_than`` so an uncommitted put is never hit.

    Returns {location code: {"removed": n, "temporary": n, "recent": n}}.
    """
    cutoff = timezone.now() - older_than
    targets = list(locations) if locations is not None else active_locations_list()
    summary: dict[str, dict[str, int]] = {}
    for location in targets:
        backend = backend_for(location)
        counts = {"removed": 0, "temporary": 0, "recent": 0}
        batch: list = []

        def flush(batch=batch, backend=backend, counts=counts) -> None:
            keys = [entry.key for entry in batch if not entry.temporary]
            known = set(StoredObject.objects.filter(key__in=keys).values_list("key", flat=True))
            for entry in batch:
                if not entry.temporary and entry.key in known:
                    continue
                if entry.modified > cutoff or not _still_old(backend, entry, cutoff):
                    counts["recent"] += 1
                    continue
                counts["temporary" if entry.temporary else "removed"] += 1
                if not dry_run:
                    if entry.temporary:
                        backend.delete_temporary(entry.key)
                    else:
                        backend.delete(entry.key)
            batch.clear()

        for entry in backend.iter_keys():
            batch.append(entry)
            if len(batch) >= 1000:
                flush()
        flush()
        summary[location.code] = counts
    if not dry_run and any(c["removed"] or c["temporary"] for c in summary.values()):
        record(AuditAction.SYSTEM, object_type="storage.sweep", detail={"sweep": summary})
    return summary


def _still_old(backend, entry, cutoff) -> bool:
    # Look again just before deleting: a put may have re-created the file meanwhile.
    modified = backend.modified(entry.key)
    return modified is not None and modified <= cutoff


def active_locations_list() -> list[StorageLocation]:
    primary, replicas = active_locations()
    return [primary, *replicas]


# --- components --------------------------------------------------------------------------------

_BAD_FILENAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def attach(
    item, obj: StoredObject, *, role: str = "master", filename: str, mime: str = ""
) -> Component:
    """Link a stored object to an item as its master file 原件, access copy 利用件 or full text
    全文; the sequence number follows the item's last component of that role. Attaching the
    same object in the same role again returns the existing component."""
    errors: dict[str, list[str]] = {}
    if role not in ComponentRole.values:
        errors["role"] = [_("组件类型不正确：%(role)s") % {"role": role}]
    filename = (filename or "").strip()
    if not filename:
        errors["filename"] = [_("文件名不能为空")]
    elif len(filename) > 255 or _BAD_FILENAME.search(filename):
        errors["filename"] = [
            _("文件名过长或含有路径分隔符、控制字符：%(name)s") % {"name": filename[:80]}
        ]
    if errors:
        raise ValidationError(errors)
    mime = (mime or mimetypes.guess_type(filename)[0] or "application/octet-stream")[:100]
    existing = Component.objects.filter(item=item, object=obj, role=role).first()
    if existing is not None:
        return existing
    for _attempt in range(3):
        last = Component.objects.filter(item=item, role=role).aggregate(m=Max("sequence"))["m"]
        try:
            with transaction.atomic():
                return Component.objects.create(
                    item=item,
                    object=obj,
                    role=role,
                    filename=filename,
                    mime=mime,
                    sequence=(last or 0) + 1,
                )
        except IntegrityError:
            continue  # another writer took that sequence number: read it again
    raise StorageError(_("无法为组件分配顺序号：%(name)s") % {"name": filename})
