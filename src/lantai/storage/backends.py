"""Storage backends 存储后端: a local directory and an S3 bucket, both streamed.

A backend knows keys and bytes only; which objects exist and how good each copy is lives in the
database (``lantai.storage.models``) and is decided by ``lantai.storage.services``.

Rules every backend keeps:
- nothing is read or written whole: data moves in ``CHUNK``-sized pieces;
- a new object becomes visible only complete (local: temporary name in the same directory,
  fsync of the file and the directory, then a hard link that fails rather than overwrite; S3:
  a single PUT or a multipart upload, each part and the whole checked against SHA-256);
- ``write_new`` never overwrites; only ``replace`` (the repair of a damaged copy) swaps an
  object, atomically, keeping the damaged bytes aside in ``.quarantine/``.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import io
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from django.utils.translation import gettext as _

CHUNK = 1024 * 1024
#: S3 objects up to this size go up in one PUT; bigger ones in parts of this size.
S3_PART = 8 * 1024 * 1024
QUARANTINE = ".quarantine"
TEMP_PREFIX = ".tmp-"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class StorageError(Exception):
    """A storage operation failed; the message is Chinese and names the key or location."""


class ObjectMissing(StorageError):
    pass


class ObjectExists(StorageError):
    pass


class DigestMismatch(StorageError):
    pass


def new_sm3():
    try:
        return hashlib.new("sm3")
    except ValueError as exc:  # OpenSSL built without SM3
        raise StorageError(_("本机的 OpenSSL 不支持 SM3 摘要算法")) from exc


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative object key, else raise StorageError.

    Keys are '/'-separated relative paths; components starting with '.' are reserved for the
    backends' own temporary and quarantine names.
    """
    if not isinstance(key, str) or not key:
        raise StorageError(_("存储键不能为空"))
    if len(key) > 512:
        raise StorageError(_("存储键过长（最多 512 个字符）：%(key)s") % {"key": key[:80]})
    if _CONTROL.search(key) or "\\" in key:
        raise StorageError(_("存储键含有控制字符或反斜杠：%(key)s") % {"key": key})
    if key != unicodedata.normalize("NFC", key):
        raise StorageError(_("存储键须为 NFC 规范化的 Unicode：%(key)s") % {"key": key})
    if key.startswith("/"):
        raise StorageError(_("存储键不能以“/”开头：%(key)s") % {"key": key})
    for part in key.split("/"):
        if not part or part.startswith("."):
            raise StorageError(
                _("存储键中有空的或以“.”开头的部分（如“..”）：%(key)s") % {"key": key}
            )
        if len(part.encode("utf-8")) > 255:
            raise StorageError(_("存储键中的一段超过 255 字节：%(key)s") % {"key": key})
    return key


# --- streaming digests ----------------------------------------------------------------------


class HashingReader(io.RawIOBase):
    """Reads from ``raw`` while computing size, SHA-256 and SM3 of everything read.

    ``sm3=False`` computes size and SHA-256 only (``sm3`` is then ""): a copy whose SM3 is
    already registered is checked against its SHA-256, and SM3 is the slower of the two.
    """

    def __init__(self, raw: IO[bytes], *, sm3: bool = True):
        super().__init__()
        self.raw = raw
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._sm3 = new_sm3() if sm3 else None

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(CHUNK if n is None or n < 0 else n)
        if data:
            self.size += len(data)
            self._sha256.update(data)
            if self._sm3 is not None:
                self._sm3.update(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def sm3(self) -> str:
        return self._sm3.hexdigest() if self._sm3 is not None else ""


class VerifyingReader(io.RawIOBase):
    """Reads a stored copy and raises DigestMismatch at its end if the bytes are not the ones
    registered, so a reader never silently gets damaged content to the last byte."""

    def __init__(self, raw: IO[bytes], *, key: str, size: int, sha256: str):
        super().__init__()
        self._hashing = HashingReader(raw, sm3=False)
        self.key, self.expected_size, self.expected_sha256 = key, size, sha256
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._hashing.read(len(buffer))
        if not data and not self._checked:
            self._checked = True
            if (
                self._hashing.size != self.expected_size
                or self._hashing.sha256 != self.expected_sha256
            ):
                raise DigestMismatch(_("读取的副本与登记的摘要不一致：%(key)s") % {"key": self.key})
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._hashing.raw.close()
        finally:
            super().close()


def copy_stream(reader: IO[bytes], fh: IO[bytes]) -> None:
    while chunk := reader.read(CHUNK):
        fh.write(chunk)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_filesystem(path: Path) -> None:
    """syncfs(2) of the filesystem holding ``path`` (sync(2) where syncfs is missing)."""
    import ctypes

    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


@dataclass
class Listed:
    key: str
    modified: datetime
    temporary: bool = False


# --- local filesystem ----------------------------------------------------------------------


class LocalBackend:
    """Objects as read-only files under ``root``; the key is the relative path."""

    def __init__(self, config: dict[str, Any]):
        root = config.get("root")
        if not root:
            raise StorageError(_("本地存储位置没有配置根目录（root）"))
        self.root = Path(root)

    def describe(self) -> str:
        return str(self.root)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _ensure_dir(self, directory: Path) -> None:
        # Create missing parents and fsync each new entry's parent so the path survives a crash.
        missing = []
        probe = directory
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        for new in reversed(missing):
            with contextlib.suppress(FileExistsError):
                new.mkdir(mode=0o750)
            fsync_dir(new.parent)

    def stage(self, key: str, reader: IO[bytes], *, fsync: bool = True) -> Path:
        """Write ``reader`` to a temporary file beside the key's final place, fsynced.
        Nothing is visible under ``key`` yet; on any error the temporary file is removed.

        ``fsync=False``: the caller makes a whole batch durable at once (``sync_fs``) before
        any staged file becomes visible."""
        final = self.path(key)
        self._ensure_dir(final.parent)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                copy_stream(reader, fh)
                fh.flush()
                if fsync:
                    os.fsync(fh.fileno())
            os.chmod(tmp, 0o440)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp)

    def stage_link(self, key: str, src: Path) -> Path | None:
        """Give the existing file ``src`` a temporary name beside the key's final place (a hard
        link: no bytes copied), made read-only; None where it cannot be linked (another
        filesystem, no hard links). The caller must hand ``src`` over: it is never written
        again, since its bytes become the stored copy."""
        import uuid

        final = self.path(key)
        self._ensure_dir(final.parent)
        tmp = final.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}.part"
        try:
            os.link(src, tmp)
        except OSError:
            return None
        try:
            os.chmod(tmp, 0o440)
            # A fresh mtime, as a written copy has: sweep_orphans spares recent files, and a
            # linked old file must not pass for an old orphan before its row is committed.
            os.utime(tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp

    def sync_fs(self) -> None:
        """Make everything written on this location's filesystem durable with one syncfs(2)
        (falls back to sync(2)): one call for a batch instead of an fsync per file."""
        sync_filesystem(self.root)

    def commit(
        self, staged: Path, key: str, *, over_orphan: bool = False, sync_dir: bool = True
    ) -> None:
        """Make the staged file visible under ``key``; ObjectExists if something is there.

        ``over_orphan``: the caller holds the key's registration, so a file already there is
        an unregistered leftover of a rolled-back write; swap it out atomically.
        """
        final = self.path(key)
        try:
            try:
                # link() fails when the target exists: never overwrite (rename() would).
                os.link(staged, final)
            except FileExistsError as exc:
                if not over_orphan:
                    raise ObjectExists(key) from exc
                os.replace(staged, final)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK):
                    raise
                # Filesystems without hard links: check, then rename (a narrow race only).
                if final.exists():
                    raise ObjectExists(key) from exc
                os.rename(staged, final)
            if sync_dir:
                fsync_dir(final.parent)
        finally:
            staged.unlink(missing_ok=True)

    def discard(self, staged: Path) -> None:
        staged.unlink(missing_ok=True)

    def write_new(self, key: str, reader: IO[bytes], *, size: int, sha256: str) -> None:
        hashing = HashingReader(reader, sm3=False)
        staged = self.stage(key, hashing)
        if hashing.size != size or hashing.sha256 != sha256:
            self.discard(staged)
            raise DigestMismatch(_("复制时内容与登记的摘要不一致：%(key)s") % {"key": key})
        self.commit(staged, key)

    def replace(self, key: str, reader: IO[bytes], *, size: int, sha256: str) -> None:
        """Swap in a good copy atomically; the damaged file is kept under .quarantine/."""
        hashing = HashingReader(reader, sm3=False)
        staged = self.stage(key, hashing)
        if hashing.size != size or hashing.sha256 != sha256:
            self.discard(staged)
            raise DigestMismatch(_("修复用的副本与登记的摘要不一致：%(key)s") % {"key": key})
        final = self.path(key)
        try:
            if final.exists():
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
                aside = self.root / QUARANTINE / f"{key}.{stamp}"
                self._ensure_dir(aside.parent)
                os.link(final, aside)
            os.replace(staged, final)
            fsync_dir(final.parent)
        finally:
            staged.unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self.path(key), "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(_("副本缺失：%(key)s") % {"key": key}) from exc

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None

    def modified(self, relative: str) -> datetime | None:
        try:
            return datetime.fromtimestamp((self.root / relative).lstat().st_mtime, UTC)
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_temporary(self, relative: str) -> None:
        (self.root / relative).unlink(missing_ok=True)

    def iter_keys(self) -> Iterator[Listed]:
        """Every key (and leftover temporary file) under root, quarantine excluded."""
        if not self.root.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(self.root):
            here = Path(dirpath)
            if here == self.root:
                dirnames[:] = [d for d in dirnames if d != QUARANTINE]
            for name in filenames:
                full = here / name
                try:
                    stat = full.lstat()
                except FileNotFoundError:
                    continue
                relative = full.relative_to(self.root).as_posix()
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                yield Listed(relative, modified, temporary=name.startswith(TEMP_PREFIX))


# --- S3 ------------------------------------------------------------------------------------


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


class S3Backend:
    """Objects in an S3 bucket under an optional prefix. Credentials come from the environment
    (LANTAI_S3_ACCESS_KEY_ID / LANTAI_S3_SECRET_ACCESS_KEY, else boto3's usual chain)."""

    def __init__(self, config: dict[str, Any]):
        import boto3
        from botocore.config import Config

        self.bucket = config.get("bucket") or ""
        if not self.bucket:
            raise StorageError(_("S3 存储位置没有配置存储桶（bucket）"))
        prefix = (config.get("prefix") or "").strip("/")
        self.prefix = f"{prefix}/" if prefix else ""
        endpoint = config.get("endpoint_url") or None
        addressing = config.get("addressing_style") or ("path" if endpoint else "auto")
        credentials = {}
        if os.environ.get("LANTAI_S3_ACCESS_KEY_ID"):
            credentials = {
                "aws_access_key_id": os.environ["LANTAI_S3_ACCESS_KEY_ID"],
                "aws_secret_access_key": os.environ.get("LANTAI_S3_SECRET_ACCESS_KEY", ""),
            }
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=config.get("region") or "us-east-1",
            config=Config(
                s3={"addressing_style": addressing},
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=10,
                read_timeout=120,
            ),
            **credentials,
        )

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _head(self, full_key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=full_key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def size(self, key: str) -> int | None:
        head = self._head(self._key(key))
        return None if head is None else int(head["ContentLength"])

    def write_new(self, key: str, reader: IO[bytes], *, size: int, sha256: str) -> None:
        if self._head(self._key(key)) is not None:
            raise ObjectExists(key)
        self._upload(key, reader, size=size, sha256=sha256, new=True)

    def replace(self, key: str, reader: IO[bytes], *, size: int, sha256: str) -> None:
        full = self._key(key)
        if self._head(full) is not None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            self.client.copy_object(
                Bucket=self.bucket,
                Key=f"{self.prefix}{QUARANTINE}/{key}.{stamp}",
                CopySource={"Bucket": self.bucket, "Key": full},
            )
        self._upload(key, reader, size=size, sha256=sha256)

    def _upload(
        self, key: str, reader: IO[bytes], *, size: int, sha256: str, new: bool = False
    ) -> None:
        """Upload with SHA-256 checked by the server (whole object or every part) and the
        whole stream checked here before the object is completed."""
        from botocore.exceptions import ClientError

        full = self._key(key)
        hashing = HashingReader(reader, sm3=False)
        metadata = {"sha256": sha256}
        if size <= S3_PART:
            data = _read_exactly(hashing, size + 1)
            if len(data) != size or hashing.sha256 != sha256:
                raise DigestMismatch(_("复制时内容与登记的摘要不一致：%(key)s") % {"key": key})
            # The server recomputes SHA-256 of what it received and refuses a mismatch;
            # If-None-Match makes "never overwrite" atomic on the server too.
            extra = {"IfNoneMatch": "*"} if new else {}
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=full,
                    Body=data,
                    ContentLength=size,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=_b64(sha256),
                    Metadata=metadata,
                    **extra,
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                    raise ObjectExists(key) from exc
                raise
        else:
            upload = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=full, ChecksumAlgorithm="SHA256", Metadata=metadata
            )
            upload_id = upload["UploadId"]
            try:
                parts = []
                number = 1
                while True:
                    part = _read_exactly(hashing, S3_PART)
                    if not part:
                        break
                    digest = _b64(hashlib.sha256(part).hexdigest())
                    answer = self.client.upload_part(
                        Bucket=self.bucket,
                        Key=full,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=part,
                        ChecksumSHA256=digest,
                    )
                    parts.append(
                        {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": digest}
                    )
                    number += 1
                if hashing.size != size or hashing.sha256 != sha256:
                    raise DigestMismatch(_("复制时内容与登记的摘要不一致：%(key)s") % {"key": key})
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            except BaseException:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
                raise
        head = self._head(full)
        if head is None or int(head["ContentLength"]) != size:
            raise DigestMismatch(_("上传到 S3 后大小不符：%(key)s") % {"key": key})
        if size <= S3_PART and head.get("ChecksumSHA256") not in (None, _b64(sha256)):
            raise DigestMismatch(_("上传到 S3 后摘要不符：%(key)s") % {"key": key})

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise ObjectMissing(_("副本缺失：%(key)s") % {"key": key}) from exc
            raise
        return answer["Body"]

    def modified(self, relative: str) -> datetime | None:
        head = self._head(self.prefix + relative)
        return None if head is None else head["LastModified"]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_temporary(self, relative: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + relative)

    def iter_keys(self) -> Iterator[Listed]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for entry in page.get("Contents", []):
                relative = entry["Key"][len(self.prefix) :]
                if relative.startswith(QUARANTINE + "/"):
                    continue
                yield Listed(relative, entry["LastModified"])


def _read_exactly(reader: IO[bytes], n: int) -> bytes:
    chunks, left = [], n
    while left > 0:
        data = reader.read(min(left, CHUNK))
        if not data:
            break
        chunks.append(data)
        left -= len(data)
    return b"".join(chunks)


_CACHE: dict[tuple, Any] = {}


def backend_for(location) -> LocalBackend | S3Backend:
    """The backend of a StorageLocation (cached per process: an S3 client is slow to build)."""
    import json

    cache_key = (location.backend, json.dumps(location.config, sort_keys=True))
    backend = _CACHE.get(cache_key)
    if backend is None:
        if location.backend == "local":
            backend = LocalBackend(location.config)
        elif location.backend == "s3":
            backend = S3Backend(location.config)
        else:
            raise StorageError(_("未知的存储类型：%(kind)s") % {"kind": location.backend})
        _CACHE[cache_key] = backend
    return backend
