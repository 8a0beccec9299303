"""Safe reading of uploaded ZIP files and folders 安全解压.

An uploaded archive is hostile until proven otherwise. ``extract_zip`` refuses, with a Chinese
message naming the entry: path traversal (``../``), absolute paths and drive letters, symbolic
links, device and other special files, encrypted entries, duplicate names, too many entries,
and ZIP bombs (total size or one entry's compression ratio over the limits — counted on the
bytes actually inflated, not only on what the headers claim). File names of Chinese Windows
ZIPs (GBK, without the UTF-8 flag) are decoded properly. Everything is written below ``dest``,
first into a temporary directory there; on any error all of it is removed.

``list_folder`` walks a folder the same way: regular files only, never following a link out.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils.translation import gettext as _

CHUNK = 1024 * 1024
#: The ratio limit applies once an entry has inflated beyond this: a small, very regular file
#: (a blank page, a run of spaces) may compress a hundredfold without being a bomb.
RATIO_GRACE = 1024 * 1024

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1
_AES = 99  # WinZip AES compression method: encrypted content
#: Compression methods Python inflates: stored, deflate, bzip2, LZMA.
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


class UnsafeArchiveError(ValueError):
    """The archive (or folder) was refused; the message says which entry and why."""


def _limits(max_total, max_files, max_ratio) -> tuple[int, int, int]:
    return (
        settings.LANTAI_ZIP_MAX_BYTES if max_total is None else max_total,
        settings.LANTAI_ZIP_MAX_FILES if max_files is None else max_files,
        settings.LANTAI_ZIP_MAX_RATIO if max_ratio is None else max_ratio,
    )


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's real name: UTF-8 when flagged; else the raw bytes as UTF-8 if valid (some
    tools omit the flag), else GB18030 (a superset of GBK, what Chinese Windows writes)."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    try:
        raw = info.orig_filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnsafeArchiveError(
        _("压缩包中有文件名的编码无法识别：%(name)s") % {"name": raw.decode("latin-1")}
    )


def safe_relative(name: str, *, what: str = "") -> PurePosixPath:
    """A normalised relative path for ``name``, or UnsafeArchiveError."""
    shown = what or name
    if _CONTROL.search(name):
        raise UnsafeArchiveError(_("文件名含有控制字符：%(name)s") % {"name": repr(shown)})
    # Windows tools sometimes write '\' as the separator; treat it as one (after decoding: in
    # GBK the byte 0x5C can be the second half of a Chinese character).
    unified = unicodedata.normalize("NFC", name.replace("\\", "/"))
    if unified.startswith("/"):
        raise UnsafeArchiveError(
            _("拒绝绝对路径的条目（可能写到目标目录之外）：%(name)s") % {"name": shown}
        )
    if _DRIVE.match(unified):
        raise UnsafeArchiveError(_("拒绝带盘符的条目：%(name)s") % {"name": shown})
    parts = [part for part in unified.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(
            _("拒绝含“..”的条目（路径穿越，可能写到目标目录之外）：%(name)s") % {"name": shown}
        )
    if not parts:
        raise UnsafeArchiveError(_("条目名称为空：%(name)s") % {"name": repr(shown)})
    for part in parts:
        if len(part.encode("utf-8")) > 255:
            raise UnsafeArchiveError(_("文件名过长（超过 255 字节）：%(name)s") % {"name": shown})
    return PurePosixPath(*parts)


def _entry_count(zip_path: Path) -> int | None:
    """Entries declared in the end-of-central-directory record, read before the directory itself
    is parsed, so a ZIP declaring millions of entries is refused without building them."""
    try:
        with open(zip_path, "rb") as fh:
            end = zipfile._EndRecData(fh)  # stable private helper; handles ZIP64
    except (OSError, AttributeError):
        return None
    return None if not end else int(end[zipfile._ECD_ENTRIES_TOTAL])


def _check_entry(info: zipfile.ZipInfo, name: str) -> bool:
    """Refuse what must not be extracted; True for a directory entry."""
    if info.flag_bits & _ENCRYPTED_FLAG or info.compress_type == _AES:
        raise UnsafeArchiveError(
            _("压缩包中的文件已加密（设有密码），无法检查与接收：%(name)s") % {"name": name}
        )
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise UnsafeArchiveError(
            _("拒绝符号链接条目（可能指向目标目录之外）：%(name)s") % {"name": name}
        )
    if kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK) or (
        kind and kind not in (stat.S_IFREG, stat.S_IFDIR)
    ):
        raise UnsafeArchiveError(_("拒绝设备文件或其他特殊文件条目：%(name)s") % {"name": name})
    if info.compress_type not in _METHODS:
        raise UnsafeArchiveError(
            _("压缩包中的文件使用了不支持的压缩方法：%(name)s") % {"name": name}
        )
    return info.is_dir() or kind == stat.S_IFDIR


def extract_zip(
    zip_path: Path,
    dest: Path,
    *,
    max_total: int | None = None,
    max_files: int | None = None,
    max_ratio: int | None = None,
) -> list[Path]:
    """Extract ``zip_path`` below ``dest`` and return the extracted files (not directories).

    Limits default to settings LANTAI_ZIP_MAX_BYTES, LANTAI_ZIP_MAX_FILES and
    LANTAI_ZIP_MAX_RATIO. ``dest`` must not exist or be an empty directory. On any refusal
    or error, UnsafeArchiveError is raised and nothing extracted is left behind.
    """
    max_total, max_files, max_ratio = _limits(max_total, max_files, max_ratio)
    zip_path, dest = Path(zip_path), Path(dest)
    label = zip_path.name

    declared = _entry_count(zip_path)
    if declared is not None and declared > max_files:
        raise UnsafeArchiveError(
            _("压缩包“%(zip)s”含 %(n)d 个条目，超过上限 %(max)d 个")
            % {"zip": label, "n": declared, "max": max_files}
        )
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise UnsafeArchiveError(_("解压目标不是目录：%(dest)s") % {"dest": dest})
    if dest.exists() and any(dest.iterdir()):
        raise UnsafeArchiveError(_("解压目标目录已存在且不为空：%(dest)s") % {"dest": dest})

    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise UnsafeArchiveError(
            _("“%(zip)s”不是有效的 ZIP 文件或已损坏：%(why)s") % {"zip": label, "why": exc}
        ) from exc

    with archive:
        infos = archive.infolist()
        if len(infos) > max_files:
            raise UnsafeArchiveError(
                _("压缩包“%(zip)s”含 %(n)d 个条目，超过上限 %(max)d 个")
                % {"zip": label, "n": len(infos), "max": max_files}
            )
        plan: list[tuple[zipfile.ZipInfo, PurePosixPath, bool, str]] = []
        files: set[PurePosixPath] = set()
        dirs: set[PurePosixPath] = set()
        seen: set[str] = set()
        declared_total = 0
        for info in infos:
            name = entry_name(info)
            is_dir = _check_entry(info, name)
            relative = safe_relative(name)
            folded = relative.as_posix().casefold()
            if folded in seen:
                raise UnsafeArchiveError(_("压缩包中有重名的条目：%(name)s") % {"name": name})
            seen.add(folded)
            if is_dir:
                dirs.add(relative)
            else:
                files.add(relative)
                declared_total += info.file_size
                dirs.update(relative.parents)
            plan.append((info, relative, is_dir, name))
        clash = files & dirs
        if clash:
            raise UnsafeArchiveError(
                _("压缩包中的条目既是文件又是目录：%(name)s")
                % {"name": sorted(str(p) for p in clash)[0]}
            )
        if declared_total > max_total:
            raise UnsafeArchiveError(
                _("压缩包“%(zip)s”解压后共 %(size)s，超过上限 %(max)s（疑似压缩炸弹）")
                % {"zip": label, "size": _human(declared_total), "max": _human(max_total)}
            )
        for info, _relative, is_dir, name in plan:
            if (
                not is_dir
                and info.file_size > RATIO_GRACE
                and info.file_size > max_ratio * max(info.compress_size, 1)
            ):
                raise UnsafeArchiveError(
                    _("条目“%(name)s”的压缩比超过 %(max)d 倍（疑似压缩炸弹）")
                    % {"name": name, "max": max_ratio}
                )

        # Directories this call creates (dest and missing parents) go again on failure.
        created = [p for p in (dest, *dest.parents) if not p.exists()]
        dest.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
        moved: list[Path] = []
        written: list[PurePosixPath] = []
        try:
            total = 0
            work_root = work.resolve()
            for info, relative, is_dir, name in plan:
                target = work.joinpath(*relative.parts)
                # Belt and braces: the resolved target must stay inside the work directory.
                if not target.resolve().is_relative_to(work_root):
                    raise UnsafeArchiveError(
                        _("拒绝写到目标目录之外的条目：%(name)s") % {"name": name}
                    )
                if is_dir:
                    target.mkdir(parents=True, exist_ok=True, mode=0o750)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
                total = _extract_one(
                    archive, info, name, target, total=total, max_total=max_total,
                    max_ratio=max_ratio, label=label,
                )  # fmt: skip
                written.append(relative)
            # Everything checked and written: move the top-level entries into place.
            for child in sorted(work.iterdir()):
                os.rename(child, dest / child.name)
                moved.append(dest / child.name)
            work.rmdir()
        except BaseException as exc:
            shutil.rmtree(work, ignore_errors=True)
            if created:
                shutil.rmtree(dest, ignore_errors=True)
                for parent in created[1:]:
                    with contextlib.suppress(OSError):
                        parent.rmdir()
            else:
                for path in moved:
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink(missing_ok=True)
            if isinstance(exc, zipfile.BadZipFile | zipfile.LargeZipFile | EOFError | OSError):
                raise UnsafeArchiveError(
                    _("解压“%(zip)s”失败：%(why)s") % {"zip": label, "why": exc}
                ) from exc
            raise
    return [dest.joinpath(*relative.parts) for relative in written]


def _extract_one(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    name: str,
    target: Path,
    *,
    total: int,
    max_total: int,
    max_ratio: int,
    label: str,
) -> int:
    """Inflate one entry, counting real bytes against the limits; returns the new total."""
    written = 0
    compressed = max(info.compress_size, 1)
    try:
        source = archive.open(info)
    except RuntimeError as exc:  # encrypted without our flag check noticing
        raise UnsafeArchiveError(
            _("压缩包中的文件已加密（设有密码），无法检查与接收：%(name)s") % {"name": name}
        ) from exc
    except NotImplementedError as exc:
        raise UnsafeArchiveError(
            _("压缩包中的文件使用了不支持的压缩方法：%(name)s") % {"name": name}
        ) from exc
    # "x": never follow or replace something already there.
    with source, open(target, "xb") as out:
        while True:
            try:
                chunk = source.read(CHUNK)
            except (zipfile.BadZipFile, zlib.error, EOFError, lzma.LZMAError, OSError) as exc:
                raise UnsafeArchiveError(
                    _("条目“%(name)s”已损坏（校验失败）：%(why)s") % {"name": name, "why": exc}
                ) from exc
            if not chunk:
                break
            written += len(chunk)
            total += len(chunk)
            if written > info.file_size:
                raise UnsafeArchiveError(
                    _("条目“%(name)s”的实际大小超过其声明的大小（疑似压缩炸弹）") % {"name": name}
                )
            if total > max_total:
                raise UnsafeArchiveError(
                    _("压缩包“%(zip)s”解压后超过上限 %(max)s（疑似压缩炸弹）")
                    % {"zip": label, "max": _human(max_total)}
                )
            if written > RATIO_GRACE and written > max_ratio * compressed:
                raise UnsafeArchiveError(
                    _("条目“%(name)s”的压缩比超过 %(max)d 倍（疑似压缩炸弹）")
                    % {"name": name, "max": max_ratio}
                )
            out.write(chunk)
    os.chmod(target, 0o640)
    return total


def list_folder(root: Path, *, max_files: int | None = None) -> list[Path]:
    """The regular files under ``root`` (sorted). Refuses symbolic links, devices and other
    special files anywhere below it, never following a link out of ``root``."""
    root = Path(root)
    limit = settings.LANTAI_ZIP_MAX_FILES if max_files is None else max_files
    if root.is_symlink():
        raise UnsafeArchiveError(_("拒绝符号链接：%(name)s") % {"name": root})
    if not root.is_dir():
        raise UnsafeArchiveError(_("不是目录：%(name)s") % {"name": root})
    found: list[Path] = []
    pending = [root]
    while pending:
        directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                path = Path(entry.path)
                shown = path.relative_to(root).as_posix()
                if entry.is_symlink():
                    raise UnsafeArchiveError(
                        _("拒绝符号链接（可能指向目录之外）：%(name)s") % {"name": shown}
                    )
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    pending.append(path)
                elif stat.S_ISREG(mode):
                    found.append(path)
                    if len(found) > limit:
                        raise UnsafeArchiveError(
                            _("目录“%(root)s”中的文件超过上限 %(max)d 个")
                            % {"root": root.name, "max": limit}
                        )
                else:
                    raise UnsafeArchiveError(
                        _("拒绝设备文件或其他特殊文件：%(name)s") % {"name": shown}
                    )
    return sorted(found)


def extract_tar(
    tar_path: Path,
    dest: Path,
    *,
    max_total: int | None = None,
    max_files: int | None = None,
    max_ratio: int | None = None,
) -> list[Path]:
    """Extract a tar file (plain, gzip, bzip2 or xz) below ``dest`` as ``extract_zip`` does.

    Refused: links (symbolic and hard), devices, FIFOs and other special members, path
    traversal, absolute paths, duplicate names, too many members, and bombs: the bytes written
    are counted against ``max_total`` and, for a compressed tar, against ``max_ratio`` times the
    file's size on disk. Members are streamed; on any error nothing is left behind.
    """
    import tarfile

    max_total, max_files, max_ratio = _limits(max_total, max_files, max_ratio)
    tar_path, dest = Path(tar_path), Path(dest)
    label = tar_path.name
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise UnsafeArchiveError(_("解压目标不是目录：%(dest)s") % {"dest": dest})
    if dest.exists() and any(dest.iterdir()):
        raise UnsafeArchiveError(_("解压目标目录已存在且不为空：%(dest)s") % {"dest": dest})
    on_disk = max(tar_path.stat().st_size, 1)
    # The ratio only binds a compressed tar (a plain tar is never smaller than its content).
    ratio_budget = max(max_ratio * on_disk, RATIO_GRACE)

    created = [p for p in (dest, *dest.parents) if not p.exists()]
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    written: list[PurePosixPath] = []
    moved: list[Path] = []
    try:
        try:
            archive = tarfile.open(tar_path, mode="r:*")  # noqa: SIM115 (closed below)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise UnsafeArchiveError(
                _("“%(tar)s”不是有效的 TAR 文件或已损坏：%(why)s") % {"tar": label, "why": exc}
            ) from exc
        with open(tar_path, "rb") as fh:
            magic = fh.read(6)
        # gzip, bzip2 and xz magic numbers: the ratio limit binds compressed tars only.
        compressed = magic[:2] == b"\x1f\x8b" or magic[:3] == b"BZh" or magic == b"\xfd7zXZ\x00"
        with archive:
            total = 0
            count = 0
            seen: set[str] = set()
            work_root = work.resolve()
            for member in archive:  # streamed: members are read one by one
                count += 1
                if count > max_files:
                    raise UnsafeArchiveError(
                        _("压缩包“%(zip)s”含 %(n)d 个条目，超过上限 %(max)d 个")
                        % {"zip": label, "n": count, "max": max_files}
                    )
                name = member.name
                if member.issym() or member.islnk():
                    raise UnsafeArchiveError(
                        _("拒绝符号链接条目（可能指向目标目录之外）：%(name)s") % {"name": name}
                    )
                if not (member.isreg() or member.isdir()):
                    raise UnsafeArchiveError(
                        _("拒绝设备文件或其他特殊文件条目：%(name)s") % {"name": name}
                    )
                relative = safe_relative(name)
                folded = relative.as_posix().casefold()
                if folded in seen and not member.isdir():
                    raise UnsafeArchiveError(_("压缩包中有重名的条目：%(name)s") % {"name": name})
                seen.add(folded)
                target = work.joinpath(*relative.parts)
                if not target.resolve().is_relative_to(work_root):
                    raise UnsafeArchiveError(
                        _("拒绝写到目标目录之外的条目：%(name)s") % {"name": name}
                    )
                if member.isdir():
                    if target.exists() and not target.is_dir():
                        raise UnsafeArchiveError(
                            _("压缩包中的条目既是文件又是目录：%(name)s") % {"name": name}
                        )
                    target.mkdir(parents=True, exist_ok=True, mode=0o750)
                    continue
                if total + member.size > max_total:
                    raise UnsafeArchiveError(
                        _("压缩包“%(zip)s”解压后超过上限 %(max)s（疑似压缩炸弹）")
                        % {"zip": label, "max": _human(max_total)}
                    )
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
                source = archive.extractfile(member)
                if source is None:
                    raise UnsafeArchiveError(_("无法读取条目：%(name)s") % {"name": name})
                with source, open(target, "xb") as out:
                    while True:
                        chunk = source.read(CHUNK)
                        if not chunk:
                            break
                        total += len(chunk)
                        if total > max_total:
                            raise UnsafeArchiveError(
                                _("压缩包“%(zip)s”解压后超过上限 %(max)s（疑似压缩炸弹）")
                                % {"zip": label, "max": _human(max_total)}
                            )
                        if compressed and total > ratio_budget:
                            raise UnsafeArchiveError(
                                _("压缩包“%(zip)s”的压缩比超过 %(max)d 倍（疑似压缩炸弹）")
                                % {"zip": label, "max": max_ratio}
                            )
                        out.write(chunk)
                os.chmod(target, 0o640)
                written.append(relative)
        for child in sorted(work.iterdir()):
            os.rename(child, dest / child.name)
            moved.append(dest / child.name)
        work.rmdir()
    except BaseException as exc:
        shutil.rmtree(work, ignore_errors=True)
        if created:
            shutil.rmtree(dest, ignore_errors=True)
            for parent in created[1:]:
                with contextlib.suppress(OSError):
                    parent.rmdir()
        else:
            for path in moved:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        if isinstance(exc, tarfile.TarError | EOFError | OSError | zlib.error | lzma.LZMAError):
            raise UnsafeArchiveError(
                _("解压“%(tar)s”失败：%(why)s") % {"tar": label, "why": exc}
            ) from exc
        raise
    return [dest.joinpath(*relative.parts) for relative in written]
