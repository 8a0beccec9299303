"""Dissemination Information Packages 利用包 (DIP): what an authorised user downloads.

A DIP is a ZIP holding the item's access copies 利用件 (or, when it has none, its original
files 原件), its descriptive metadata as JSON, and the METS document of its current AIP::

    <档号>/metadata.json
    <档号>/METS.xml                (when the item has an AIP)
    <档号>/objects/<file names>

Bytes are read through ``storage.open_object`` (verified against the registered SHA-256 as
they are read) and streamed into the ZIP; it is written under a temporary name and renamed,
so a failed export leaves nothing at ``dest``. Each download is audited and recorded as a
PREMIS ``dissemination`` event.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.core.permissions import require
from lantai.holdings import services as holdings
from lantai.preservation import aip as aips
from lantai.preservation import events as ev
from lantai.preservation.models import Aip, AipStatus
from lantai.storage import services as storage
from lantai.storage.backends import CHUNK
from lantai.storage.models import ComponentRole

PERM = "preservation.download_dip"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def current_aip(item) -> Aip | None:
    return item.aips.filter(status=AipStatus.ACTIVE).order_by("-created_at").first()


def authorised_item(user, item):
    """The item, re-read through the holdings visibility rules, if ``user`` may download its
    packages; else PermissionDenied / Item.DoesNotExist."""
    require(user, PERM)
    return holdings.get_item(user, item.pk)


def safe_name(name: str, fallback: str) -> str:
    cleaned = _UNSAFE.sub("_", name or "").strip(" .")
    return cleaned[:120] or fallback


def item_metadata(item) -> dict[str, Any]:
    """Descriptive metadata of an item (DA/T 46 element names as keys' labels)."""
    return {
        "档号": item.reference_code or "",
        "全宗号": item.fonds.code,
        "全宗名称": str(item.fonds),
        "门类代码": item.category.code,
        "年度": item.year,
        "保管期限": item.get_retention_display(),
        "件号": item.item_no,
        "题名": item.title,
        "责任者": item.responsible,
        "文件编号": item.doc_number,
        "日期": item.date.isoformat() if item.date else "",
        "页数": item.pages,
        "密级": item.get_classification_display(),
        "开放状态": item.get_openness_display(),
        "主题词": item.keywords,
        "附注": item.notes,
    }


def _atomic_zip(dest: Path):
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".zip", dir=dest.parent)
    os.close(fd)
    return Path(tmp)


def _copy_object(zf: zipfile.ZipFile, obj, arcname: str) -> None:
    # Already-compressed formats gain nothing from deflate; STORED keeps the export fast.
    with (
        storage.open_object(obj) as reader,
        zf.open(
            zipfile.ZipInfo(arcname, date_time=timezone.localtime(obj.created_at).timetuple()[:6]),
            "w",
            force_zip64=obj.size > 2**31,
        ) as out,
    ):
        while chunk := reader.read(CHUNK):
            out.write(chunk)


def _copy_stream(zf: zipfile.ZipFile, stream, arcname: str, size: int) -> str:
    sha = hashlib.sha256()
    with zf.open(zipfile.ZipInfo(arcname), "w", force_zip64=size > 2**31) as out:
        while chunk := stream.read(CHUNK):
            sha.update(chunk)
            out.write(chunk)
    return sha.hexdigest()


def write_dip(user, item, dest: Path) -> Path:
    """Write the DIP of ``item`` to ``dest`` (a .zip path) for ``user``; returns ``dest``."""
    item = authorised_item(user, item)
    components = list(
        item.components.filter(role=ComponentRole.ACCESS).select_related("object")
    ) or list(item.components.filter(role=ComponentRole.MASTER).select_related("object"))
    aip = current_aip(item)
    count = len(components)
    if not components and aip is None:
        raise FileNotFoundError(_("该条目没有可提供利用的电子文件"))
    folder = safe_name(item.reference_code or "", f"item-{item.pk}")
    tmp = _atomic_zip(dest)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            meta = {
                "item": item_metadata(item),
                "aip": str(aip.pk) if aip else None,
                "files": [],
                "generated_at": timezone.now().isoformat(timespec="seconds"),
            }
            used: set[str] = set()

            def unique(name: str) -> str:
                base, dot, ext = name.rpartition(".")
                n, candidate = 1, name
                while candidate.casefold() in used:
                    n += 1
                    candidate = f"{base}_{n}.{ext}" if dot else f"{name}_{n}"
                used.add(candidate.casefold())
                return candidate

            for component in components:
                name = unique(safe_name(component.filename, f"file-{component.sequence}"))
                _copy_object(zf, component.object, f"{folder}/objects/{name}")
                meta["files"].append(
                    {
                        "name": name,
                        "role": component.role,
                        "mime": component.mime,
                        "size": component.object.size,
                        "sha256": component.object.sha256,
                        "sm3": component.object.sm3,
                    }
                )
            if aip is not None:
                # The AIP's METS; and its originals when the item has no components (a packed
                # AIP keeps them inside its tar).
                wanted = (aips.METS_PATH,) if components else (aips.METS_PATH, aips.OBJECTS)
                for path, size, stream in aips.iter_bag_files(aip, wanted):
                    if path == aips.METS_PATH:
                        arcname = f"{folder}/METS.xml"
                    else:
                        original = path.removeprefix(aips.OBJECTS)
                        name = unique(safe_name(original.replace("/", "_"), "file"))
                        arcname = f"{folder}/objects/{name}"
                    digest = _copy_stream(zf, stream, arcname, size)
                    if path != aips.METS_PATH:
                        meta["files"].append(
                            {"name": name, "role": "master", "size": size, "sha256": digest}
                        )
                        count += 1
            zf.writestr(
                f"{folder}/metadata.json",
                json.dumps(meta, ensure_ascii=False, indent=2),
                compress_type=zipfile.ZIP_DEFLATED,
            )
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        record(
            AuditAction.DOWNLOAD,
            actor=user,
            obj=item,
            detail={"package": "DIP", "files": count, "aip": meta["aip"]},
        )
        if aip is not None:
            ev.record_event(
                ev.DISSEMINATION,
                "success",
                aip=aip,
                detail=_("生成利用包（DIP），%(n)d 个文件") % {"n": count},
                agent=getattr(user, "username", "") or ev.SYSTEM_AGENT,
            )
    return Path(dest)
