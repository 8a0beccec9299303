"""Archival Information Packages 档案信息包 (AIP): build the bag, store it, register it.

An AIP is a BagIt bag (RFC 8493) that any future tool can read without Lantai::

    aip-<uuid>/
      bagit.txt  bag-info.txt
      manifest-sha256.txt  manifest-sm3.txt  tagmanifest-sha256.txt
      data/objects/<the record's original files, as submitted>
      data/metadata/metadata.json       DA/T 46 metadata as submitted, plus the archive's 档号
      data/metadata/check-report.json   the DA/T 70 four-property check report
      data/METS.xml                     METS 1.12 with PREMIS 3 (objects with fixity and
                                        format, an event for every check and step, agents,
                                        rights)

``build_aip`` writes it into a temporary folder (made durable with one syncfs), checks it and
renames it into place; ``store_aip`` stores every file through ``storage.put_files`` (so it is
replicated to every location; the manifests' SHA-256 and SM3 go with each file, the bag's files
become the primary copies by hard link where they can, and each primary copy is read back and
compared while it is copied to the replicas) — or, for a package of many files, the whole bag
as one tar through ``storage.put_file`` — compares what was stored with the manifests, reads
back whatever was not read back yet, and registers
Aip + AipFile + PreservationEvent rows in the caller's transaction. Nothing is
registered unless every check passed.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import tarfile
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

import lantai
from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.preservation import events as ev
from lantai.preservation.models import Aip, AipFile, PreservationEvent
from lantai.preservation.xmlschema import METS_NS, PREMIS_NS, XLINK_NS, XSI_NS, validate_mets
from lantai.storage import services as storage
from lantai.storage.backends import CHUNK, HashingReader, backend_for, new_sm3
from lantai.storage.models import ComponentRole, LocationRole, ObjectCopy

DC_NS = "http://purl.org/dc/elements/1.1/"
SCHEMA_LOCATION = (
    f"{METS_NS} http://www.loc.gov/standards/mets/version112/mets.xsd "
    f"{PREMIS_NS} http://www.loc.gov/standards/premis/v3/premis.xsd"
)
METS_PATH = "data/METS.xml"
METADATA_PATH = "data/metadata/metadata.json"
REPORT_PATH = "data/metadata/check-report.json"
OBJECTS = "data/objects/"
KEY_ROOT = "aip"
#: The stored object of a packed AIP (a bag of many files kept as one tar).
PACKED_NAME = "bag.tar"
PURPOSE = "aip"


class AipError(Exception):
    """The AIP could not be built or failed a verification; nothing was registered."""


# --- small file helpers ---


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)


def _syncfs(path: Path) -> None:
    """Make everything written below ``path`` durable with one syncfs(2) of its filesystem:
    a bag of 10,000 small files would otherwise pay 10,000 fsyncs. Falls back to sync(2)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = getattr(libc, "syncfs", None)
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def digests(path: Path, *, sm3: bool = True) -> tuple[int, str, str]:
    """(size, sha256, sm3) of a file in one streaming pass (sm3 "" when not asked)."""
    sha = hashlib.sha256()
    sm = new_sm3() if sm3 else None
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            size += len(chunk)
            sha.update(chunk)
            if sm is not None:
                sm.update(chunk)
    return size, sha.hexdigest(), sm.hexdigest() if sm is not None else ""


def _copy_hashing(src: Path, dest: Path) -> tuple[int, str, str]:
    sha, sm, size = hashlib.sha256(), new_sm3(), 0
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while chunk := fin.read(CHUNK):
            size += len(chunk)
            sha.update(chunk)
            sm.update(chunk)
            fout.write(chunk)
    return size, sha.hexdigest(), sm.hexdigest()


def _safe_relpath(path: str) -> str:
    """A payload path as a safe relative POSIX path inside the bag (never escaping it)."""
    pure = PurePosixPath(str(path).replace("\\", "/"))
    parts = [p for p in pure.parts if p not in ("", ".")]
    if not parts or pure.is_absolute() or ".." in parts:
        raise AipError(_("文件路径不安全：%(path)s") % {"path": path})
    return "/".join(parts)


def _bag_line_path(path: str) -> str:
    # RFC 8493 §2.1.3: CR, LF and % in a manifest path are percent-encoded.
    return path.replace("%", "%25").replace("\n", "%0A").replace("\r", "%0D")


def _unbag_line_path(path: str) -> str:
    return path.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def _tag_value(value: Any) -> str:
    return " ".join(str(value).split())


# --- building ---


#: DA/T 70 check item codes (ingest.checks) → PREMIS event type; others are "validation".
CHECK_EVENT_TYPES = {
    "1-1": ev.FIXITY_CHECK,  # 固化信息有效性 (SHA-256 / SM3 against the manifest)
    "1-2": "digital signature validation",  # 报送摘要与签名
    "3-1": ev.FORMAT_IDENTIFICATION,  # 格式识别 (PRONOM)
    "4-1": ev.VIRUS_CHECK,  # 病毒检测
}


def _check_event_type(entry: dict) -> str:
    code = str(entry.get("code", ""))
    if code in CHECK_EVENT_TYPES:
        return CHECK_EVENT_TYPES[code]
    words = " ".join(str(entry.get(k, "")) for k in ("id", "name")).lower()
    if any(w in words for w in ("fixity", "digest", "固化", "校验值", "摘要")):
        return ev.FIXITY_CHECK
    if "signature" in words or "签名" in words:
        return "digital signature validation"
    if "virus" in words or "病毒" in words:
        return ev.VIRUS_CHECK
    if any(w in words for w in ("puid", "pronom", "格式识别")):
        return ev.FORMAT_IDENTIFICATION
    return ev.VALIDATION


_OUTCOME_WORD = {"pass": "pass", "fail": "fail", "warning": "warning", "not_run": "not run"}


class _Mets:
    """Builds the METS 1.12 + PREMIS 3 document of one AIP."""

    def __init__(self, *, aip_id: str, item, sip, created: datetime):
        self.aip_id = aip_id
        self.item = item
        self.sip = sip
        self.created = created.isoformat(timespec="seconds")
        self.ie_id = f"urn:uuid:{aip_id}"
        self.n = 0
        self.techmd: list[etree._Element] = []
        self.rightsmd: list[etree._Element] = []
        self.digiprov: list[etree._Element] = []
        self.agents: list[tuple[str, str, str, str]] = []  # (id type, id value, name, type)

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n}"

    @staticmethod
    def m(tag: str, parent=None, text: str | None = None, **attrs) -> etree._Element:
        el = (
            etree.SubElement(parent, f"{{{METS_NS}}}{tag}")
            if parent is not None
            else etree.Element(f"{{{METS_NS}}}{tag}")
        )
        for key, value in attrs.items():
            if value is not None and value != "":
                el.set(key, str(value))
        if text is not None:
            el.text = text
        return el

    @staticmethod
    def p(tag: str, parent, text: str | None = None) -> etree._Element:
        el = etree.SubElement(parent, f"{{{PREMIS_NS}}}{tag}")
        if text is not None:
            el.text = str(text)
        return el

    def _wrap(self, section: str, mdtype: str, prefix: str) -> tuple[str, etree._Element]:
        ident = self._id(prefix)
        sec = self.m(section, ID=ident)
        wrap = self.m("mdWrap", sec, MDTYPE=mdtype)
        data = self.m("xmlData", wrap)
        {"techMD": self.techmd, "rightsMD": self.rightsmd, "digiprovMD": self.digiprov}[
            section
        ].append(sec)
        return ident, data

    # PREMIS pieces

    def intellectual_entity(self) -> str:
        ident, data = self._wrap("techMD", "PREMIS:OBJECT", "ie")
        obj = self.p("object", data)
        obj.set(f"{{{XSI_NS}}}type", "premis:intellectualEntity")
        oid = self.p("objectIdentifier", obj)
        self.p("objectIdentifierType", oid, "UUID")
        self.p("objectIdentifierValue", oid, self.ie_id)
        if self.item.reference_code:
            oid = self.p("objectIdentifier", obj)
            self.p("objectIdentifierType", oid, "档号")
            self.p("objectIdentifierValue", oid, self.item.reference_code)
        return ident

    def file_object(self, entry: dict) -> str:
        ident, data = self._wrap("techMD", "PREMIS:OBJECT", "tech")
        obj = self.p("object", data)
        obj.set(f"{{{XSI_NS}}}type", "premis:file")
        oid = self.p("objectIdentifier", obj)
        self.p("objectIdentifierType", oid, "UUID")
        self.p("objectIdentifierValue", oid, entry["uuid"])
        chars = self.p("objectCharacteristics", obj)
        self.p("compositionLevel", chars, "0")
        for algorithm, key in (("SHA-256", "sha256"), ("SM3", "sm3")):
            if entry.get(key):
                fixity = self.p("fixity", chars)
                self.p("messageDigestAlgorithm", fixity, algorithm)
                self.p("messageDigest", fixity, entry[key])
                self.p("messageDigestOriginator", fixity, "Lantai")
        self.p("size", chars, str(entry["size"]))
        fmt = self.p("format", chars)
        designation = self.p("formatDesignation", fmt)
        self.p("formatName", designation, entry.get("format_name") or "Unknown")
        if entry.get("puid"):
            registry = self.p("formatRegistry", fmt)
            self.p("formatRegistryName", registry, "PRONOM")
            self.p("formatRegistryKey", registry, entry["puid"])
            self.p("formatRegistryRole", registry, "identification")
        self.p("originalName", obj, entry["original"])
        rel = self.p("relationship", obj)
        self.p("relationshipType", rel, "structural")
        self.p("relationshipSubType", rel, "is included in")
        related = self.p("relatedObjectIdentifier", rel)
        self.p("relatedObjectIdentifierType", related, "UUID")
        self.p("relatedObjectIdentifierValue", related, self.ie_id)
        return ident

    def agent(self, id_type: str, id_value: str, name: str, agent_type: str) -> None:
        self.agents.append((id_type, id_value, name, agent_type))
        _ident, data = self._wrap("digiprovMD", "PREMIS:AGENT", "agent")
        agent = self.p("agent", data)
        aid = self.p("agentIdentifier", agent)
        self.p("agentIdentifierType", aid, id_type)
        self.p("agentIdentifierValue", aid, id_value)
        self.p("agentName", agent, name)
        self.p("agentType", agent, agent_type)
        if agent_type == "software":
            self.p("agentVersion", agent, lantai.__version__)

    def event(
        self,
        event_type: str,
        outcome: str,
        *,
        detail: str = "",
        outcome_note: str = "",
        when: str | None = None,
        agents: Iterable[tuple[str, str, str]] = (),
    ) -> None:
        _ident, data = self._wrap("digiprovMD", "PREMIS:EVENT", "event")
        event = self.p("event", data)
        eid = self.p("eventIdentifier", event)
        self.p("eventIdentifierType", eid, "UUID")
        self.p("eventIdentifierValue", eid, str(uuid.uuid4()))
        self.p("eventType", event, event_type)
        self.p("eventDateTime", event, when or self.created)
        if detail:
            info = self.p("eventDetailInformation", event)
            self.p("eventDetail", info, detail)
        outcome_info = self.p("eventOutcomeInformation", event)
        self.p("eventOutcome", outcome_info, outcome)
        if outcome_note:
            note = self.p("eventOutcomeDetail", outcome_info)
            self.p("eventOutcomeDetailNote", note, outcome_note)
        for id_type, id_value, role in agents:
            link = self.p("linkingAgentIdentifier", event)
            self.p("linkingAgentIdentifierType", link, id_type)
            self.p("linkingAgentIdentifierValue", link, id_value)
            self.p("linkingAgentRole", link, role)
        link = self.p("linkingObjectIdentifier", event)
        self.p("linkingObjectIdentifierType", link, "UUID")
        self.p("linkingObjectIdentifierValue", link, self.ie_id)

    def rights(self) -> str:
        ident, data = self._wrap("rightsMD", "PREMIS:RIGHTS", "rights")
        rights = self.p("rights", data)
        statement = self.p("rightsStatement", rights)
        rid = self.p("rightsStatementIdentifier", statement)
        self.p("rightsStatementIdentifierType", rid, "UUID")
        self.p("rightsStatementIdentifierValue", rid, str(uuid.uuid4()))
        self.p("rightsBasis", statement, "Statute")
        statute = self.p("statuteInformation", statement)
        self.p("statuteJurisdiction", statute, "CN")
        self.p("statuteCitation", statute, "《中华人民共和国档案法》")
        self.p(
            "statuteNote",
            statute,
            f"开放状态：{self.item.get_openness_display()}；"
            f"密级：{self.item.get_classification_display()}；"
            f"保管期限：{self.item.get_retention_display()}",
        )
        granted = self.p("rightsGranted", statement)
        self.p("act", granted, "disseminate")
        self.p(
            "restriction",
            granted,
            "Allow" if self.item.openness == "open" else "Disallow without authorisation",
        )
        self.p("rightsGrantedNote", granted, "按《档案法》与本馆利用规定提供利用")
        link = self.p("linkingObjectIdentifier", statement)
        self.p("linkingObjectIdentifierType", link, "UUID")
        self.p("linkingObjectIdentifierValue", link, self.ie_id)
        return ident

    def document(
        self, files: list[dict], metadata_files: list[dict], dmd: dict, ie_admid: str, rights: str
    ) -> bytes:
        nsmap = {"mets": METS_NS, "premis": PREMIS_NS, "xlink": XLINK_NS, "xsi": XSI_NS}
        nsmap["dc"] = DC_NS
        root = etree.Element(f"{{{METS_NS}}}mets", nsmap=nsmap)
        root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
        root.set("OBJID", self.item.reference_code or self.ie_id)
        root.set("LABEL", self.item.title[:500])
        root.set("TYPE", "电子文件")
        hdr = self.m("metsHdr", root, CREATEDATE=self.created)
        agent = self.m("agent", hdr, ROLE="CREATOR", TYPE="ORGANIZATION")
        self.m("name", agent, settings.LANTAI_ARCHIVE_NAME)
        agent = self.m("agent", hdr, ROLE="CREATOR", TYPE="OTHER", OTHERTYPE="SOFTWARE")
        self.m("name", agent, f"Lantai {lantai.__version__}")
        self.m("altRecordID", hdr, self.aip_id, TYPE="AIP UUID")

        dmd1 = self.m("dmdSec", root, ID="dmd-1")
        wrap = self.m("mdWrap", dmd1, MDTYPE="DC", LABEL="Dublin Core")
        data = self.m("xmlData", wrap)
        for name, value in dmd.items():
            if value:
                etree.SubElement(data, f"{{{DC_NS}}}{name}").text = str(value)
        dmd2 = self.m("dmdSec", root, ID="dmd-2")
        ref = self.m(
            "mdRef",
            dmd2,
            LOCTYPE="OTHER",
            OTHERLOCTYPE="SYSTEM",
            MDTYPE="OTHER",
            OTHERMDTYPE="DA/T 46",
            MIMETYPE="application/json",
            LABEL="DA/T 46 文书类电子文件元数据",
        )
        ref.set(f"{{{XLINK_NS}}}type", "simple")
        ref.set(f"{{{XLINK_NS}}}href", "metadata/metadata.json")

        amd = self.m("amdSec", root, ID="amd-1")
        for sec in (*self.techmd, *self.rightsmd, *self.digiprov):
            amd.append(sec)

        file_sec = self.m("fileSec", root)
        groups = (("original", files), ("metadata", metadata_files))
        for use, group in groups:
            grp = self.m("fileGrp", file_sec, USE=use)
            for entry in group:
                f = self.m(
                    "file",
                    grp,
                    ID=entry["file_id"],
                    MIMETYPE=entry.get("mime") or "application/octet-stream",
                    SIZE=str(entry["size"]),
                    CHECKSUM=entry["sha256"],
                    CHECKSUMTYPE="SHA-256",
                    ADMID=entry.get("admid"),
                )
                loc = self.m("FLocat", f, LOCTYPE="OTHER", OTHERLOCTYPE="SYSTEM")
                loc.set(f"{{{XLINK_NS}}}type", "simple")
                loc.set(f"{{{XLINK_NS}}}href", quote(entry["href"], safe="/"))

        smap = self.m("structMap", root, TYPE="logical", LABEL="档案信息包")
        div = self.m(
            "div",
            smap,
            TYPE="件",
            LABEL=self.item.title[:500],
            DMDID="dmd-1 dmd-2",
            ADMID=f"{ie_admid} {rights}",
        )
        for order, entry in enumerate(files, 1):
            sub = self.m("div", div, TYPE="文件", ORDER=str(order), LABEL=entry["original"])
            self.m("fptr", sub, FILEID=entry["file_id"])
        meta = self.m("div", div, TYPE="元数据与检测报告")
        for entry in metadata_files:
            self.m("fptr", meta, FILEID=entry["file_id"])
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _item_metadata(item) -> dict[str, Any]:
    return {
        "reference_code": item.reference_code or "",
        "fonds": item.fonds.code,
        "category": item.category.code,
        "year": item.year,
        "retention": item.retention,
        "item_no": getattr(item, "item_no", None),
        "title": item.title,
        "responsible": item.responsible,
        "date": item.date.isoformat() if getattr(item, "date", None) else "",
        "openness": item.openness,
        "classification": item.classification,
    }


def build_aip(package, report: dict, *, item, sip=None, workdir: Path) -> Path:
    """Write the AIP bag of ``package`` (a checked SipPackage) for ``item`` under ``workdir``
    and return its folder.

    The bag is written under a temporary name and synced to disk (one syncfs), checked
    (every file present with its size, tag manifest, METS valid against METS 1.12 / PREMIS 3
    with the bundled schemas) and only then renamed to ``aip-<uuid>``; payload digests come
    from the check report and are compared again when ``store_aip`` stores the bytes.
    Raises AipError (nothing left behind) on any failure.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    aip_id = str(uuid.uuid4())
    tmp = workdir / f".aip-{aip_id}.tmp"
    final = workdir / f"aip-{aip_id}"
    try:
        _build(tmp, package, report, item=item, sip=sip, aip_id=aip_id)
        os.rename(tmp, final)
        _fsync_dir(workdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _build(bag: Path, package, report: dict, *, item, sip, aip_id: str) -> None:
    created = timezone.now()
    reported = report.get("files") or {}
    (bag / "data" / "objects").mkdir(parents=True)
    files: list[dict] = []
    seen: set[str] = set()
    for n, sip_file in enumerate(package.files, 1):
        rel = _safe_relpath(sip_file.path)
        if rel.casefold() in seen:
            raise AipError(_("包内文件重名：%(path)s") % {"path": rel})
        seen.add(rel.casefold())
        dest = bag / "data" / "objects" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        known = reported.get(sip_file.path) or reported.get(rel) or {}
        try:
            # A hard link keeps one pass over big files; the bytes are the ones checked.
            os.link(sip_file.abspath, dest)
            if known.get("sha256") and known.get("sm3"):
                size, sha256, sm3 = os.stat(dest).st_size, known["sha256"], known["sm3"]
            else:
                size, sha256, sm3 = digests(dest)
        except OSError:
            size, sha256, sm3 = _copy_hashing(Path(sip_file.abspath), dest)
            if known.get("sha256") and known["sha256"] != sha256:
                raise AipError(
                    _("文件在检测之后发生变化：%(path)s") % {"path": sip_file.path}
                ) from None
        if sip_file.size is not None and size != sip_file.size:
            raise AipError(_("文件大小与检测时不同：%(path)s") % {"path": sip_file.path})
        files.append(
            {
                "n": n,
                "path": f"{OBJECTS}{rel}",
                "href": f"objects/{rel}",
                "original": sip_file.path,
                "size": size,
                "sha256": sha256,
                "sm3": sm3,
                "puid": known.get("puid", ""),
                "format_name": known.get("format_name", ""),
                "mime": known.get("mime", ""),
                "uuid": f"urn:uuid:{uuid.uuid4()}",
                "file_id": f"file-{n}",
            }
        )

    metadata = {
        "aip": aip_id,
        "sip": str(sip.pk) if sip is not None else None,
        "format": getattr(package, "format", ""),
        "item": _item_metadata(item),
        "submitted": package.metadata,
        "bag_info": getattr(package, "bag_info", {}) or {},
    }
    metadata_files = []
    submitted = getattr(package, "metadata_file", None)
    if submitted is not None:
        # The metadata document as the unit sent it (its fixity was checked with the files).
        name = PurePosixPath(_safe_relpath(submitted.path)).name
        path = f"data/metadata/submitted/{name}"
        (bag / path).parent.mkdir(parents=True, exist_ok=True)
        size, sha256, sm3 = _copy_hashing(Path(submitted.abspath), bag / path)
        metadata_files.append(
            {
                "path": path,
                "href": path.removeprefix("data/"),
                "size": size,
                "sha256": sha256,
                "sm3": sm3,
                "mime": "application/xml" if name.lower().endswith(".xml") else "",
                "file_id": f"file-{len(files) + 1}",
            }
        )
    for n, (path, payload) in enumerate(
        ((METADATA_PATH, metadata), (REPORT_PATH, report)), len(files) + len(metadata_files) + 1
    ):
        data = json.dumps(payload, ensure_ascii=False, indent=2, default=str).encode()
        _write_bytes(bag / path, data)
        metadata_files.append(
            {
                "path": path,
                "href": path.removeprefix("data/"),
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "sm3": _sm3(data),
                "mime": "application/json",
                "file_id": f"file-{n}",
            }
        )

    mets = _Mets(aip_id=aip_id, item=item, sip=sip, created=created)
    ie_admid = mets.intellectual_entity()
    for entry in files:
        entry["admid"] = mets.file_object(entry)
    rights = mets.rights()
    archive = ("档案馆代码", settings.LANTAI_ARCHIVE_CODE, settings.LANTAI_ARCHIVE_NAME)
    software = ("software", f"Lantai {lantai.__version__}", "Lantai 兰台")
    mets.agent(archive[0], archive[1], archive[2], "organization")
    mets.agent(software[0], software[1], software[2], "software")
    unit = getattr(sip, "unit", None) if sip is not None else None
    agents_exec = [(archive[0], archive[1], "implementer"), (software[0], software[1], "executor")]
    if unit is not None:
        mets.agent("单位代码", unit.code, unit.name, "organization")
        mets.event(
            ev.TRANSFER,
            "success",
            detail=f"归档信息包由{unit.name}提交（{getattr(sip, 'source', '') or 'api'}）",
            when=sip.created_at.isoformat(timespec="seconds") if sip.created_at else None,
            agents=[("单位代码", unit.code, "transmitter"), *agents_exec],
        )
    stage = report.get("stage", "")
    mets.event(
        ev.DIGEST_CALCULATION,
        "success",
        detail=f"SHA-256 与 SM3 摘要计算（{len(files)} 个文件）",
        agents=[agents_exec[1]],
    )
    for entry in report.get("items") or []:
        result = str(entry.get("result", ""))
        mets.event(
            _check_event_type(entry),
            _OUTCOME_WORD.get(result, result or "unknown"),
            detail=(
                f"四性检测 {stage}-{entry.get('code', '')} "
                f"[{entry.get('property', '')}] {entry.get('name', '')}"
            ).strip(),
            outcome_note=str(entry.get("detail", ""))[:2000],
            agents=[agents_exec[1]],
        )
    passed = report.get("passed")
    mets.event(
        ev.VALIDATION,
        "pass" if passed or passed is None else "fail",
        detail=f"DA/T 70 四性检测（{stage or '归档'}环节）结论",
        outcome_note=json.dumps(report.get("summary") or {}, ensure_ascii=False)[:2000],
        agents=agents_exec,
    )
    mets.event(
        ev.PACKAGE_CREATION,
        "success",
        detail="生成档案信息包（BagIt + METS/PREMIS）",
        agents=agents_exec,
    )
    dmd = {
        "identifier": item.reference_code or "",
        "title": item.title,
        "creator": item.responsible,
        "date": item.date.isoformat() if getattr(item, "date", None) else str(item.year),
        "publisher": settings.LANTAI_ARCHIVE_NAME,
        "type": item.category.name,
        "rights": item.get_openness_display(),
    }
    mets_bytes = mets.document(files, metadata_files, dmd, ie_admid, rights)
    _write_bytes(bag / METS_PATH, mets_bytes)

    payload = [
        *((f["path"], f["size"], f["sha256"], f["sm3"]) for f in files),
        *((f["path"], f["size"], f["sha256"], f["sm3"]) for f in metadata_files),
        (METS_PATH, len(mets_bytes), hashlib.sha256(mets_bytes).hexdigest(), _sm3(mets_bytes)),
    ]
    _write_tag_files(bag, payload, item=item, sip=sip, aip_id=aip_id, created=created)
    _syncfs(bag)
    verify_bag(bag, deep=False)
    errors = validate_mets(bag / METS_PATH)
    if errors:
        raise AipError(_("METS 文档不符合 METS/PREMIS 规范：%(e)s") % {"e": "; ".join(errors[:5])})


def _sm3(data: bytes) -> str:
    h = new_sm3()
    h.update(data)
    return h.hexdigest()


def _write_tag_files(bag: Path, payload, *, item, sip, aip_id: str, created) -> None:
    total = sum(size for _p, size, _s, _m in payload)
    unit = getattr(sip, "unit", None) if sip is not None else None
    info = [
        ("Source-Organization", settings.LANTAI_ARCHIVE_NAME),
        ("Organization-Address", settings.LANTAI_ARCHIVE_CODE),
        ("External-Identifier", item.reference_code or ""),
        ("External-Description", item.title),
        ("Bagging-Date", created.date().isoformat()),
        ("Bag-Software-Agent", f"Lantai {lantai.__version__}"),
        ("Bag-Group-Identifier", item.fonds.code),
        ("Internal-Sender-Identifier", str(sip.pk) if sip is not None else ""),
        ("Internal-Sender-Description", unit.name if unit is not None else ""),
        ("AIP-Identifier", aip_id),
        ("Payload-Oxum", f"{total}.{len(payload)}"),
    ]
    tags = {
        "bagit.txt": b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        "bag-info.txt": "".join(f"{k}: {_tag_value(v)}\n" for k, v in info if v).encode(),
        "manifest-sha256.txt": "".join(
            f"{sha}  {_bag_line_path(p)}\n" for p, _size, sha, _m in payload
        ).encode(),
        "manifest-sm3.txt": "".join(
            f"{sm}  {_bag_line_path(p)}\n" for p, _size, _s, sm in payload
        ).encode(),
    }
    for name, data in tags.items():
        _write_bytes(bag / name, data)
    tagmanifest = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in tags.items()
    )
    _write_bytes(bag / "tagmanifest-sha256.txt", tagmanifest.encode())


# --- reading and verifying a bag ---


def read_manifest(path: Path) -> dict[str, str]:
    """{relative path: digest} of a BagIt manifest file."""
    entries: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        digest, _sep, name = line.partition(" ")
        entries[_unbag_line_path(name.lstrip(" *"))] = digest.lower()
    return entries


def read_bag_info(bag: Path) -> dict[str, str]:
    info: dict[str, str] = {}
    for line in (bag / "bag-info.txt").read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def verify_bag(bag: Path, *, deep: bool = True) -> dict[str, tuple[int, str]]:
    """Check a Lantai AIP bag: bagit.txt, every payload file listed and present (no extra),
    Payload-Oxum, tag manifest digests; with ``deep`` also every payload file's SHA-256.
    Returns {path: (size, sha256 from the manifest)} of the payload. Raises AipError."""
    bag = Path(bag)
    for name in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt"):
        if not (bag / name).is_file():
            raise AipError(_("信息包缺少标签文件：%(name)s") % {"name": name})
    for name, digest in read_manifest(bag / "tagmanifest-sha256.txt").items():
        target = bag / name
        if not target.is_file() or digests(target, sm3=False)[1] != digest:
            raise AipError(_("标签文件校验失败：%(name)s") % {"name": name})
    manifest = read_manifest(bag / "manifest-sha256.txt")
    present = {
        (Path(dirpath) / name).relative_to(bag).as_posix()
        for dirpath, _dirs, names in os.walk(bag / "data")
        for name in names
    }
    missing = sorted(set(manifest) - present)
    extra = sorted(present - set(manifest))
    if missing:
        raise AipError(_("信息包缺少文件：%(p)s") % {"p": "、".join(missing[:5])})
    if extra:
        raise AipError(_("信息包含有清单之外的文件：%(p)s") % {"p": "、".join(extra[:5])})
    sizes = {name: (bag / name).stat().st_size for name in manifest}
    oxum = read_bag_info(bag).get("Payload-Oxum", "")
    if oxum and oxum != f"{sum(sizes.values())}.{len(sizes)}":
        raise AipError(_("Payload-Oxum 与信息包内容不符"))
    if deep:
        for name, digest in manifest.items():
            if digests(bag / name, sm3=False)[1] != digest:
                raise AipError(_("文件校验失败：%(p)s") % {"p": name})
    return {name: (sizes[name], manifest[name]) for name in manifest}


# --- storing and registering ---


def _read_back(obj) -> bool:
    """Re-read the primary copy of a just-stored object and compare size and SHA-256."""
    copy = (
        ObjectCopy.objects.select_related("location")
        .filter(object=obj, location__role=LocationRole.PRIMARY)
        .first()
    )
    if copy is None:
        return False
    sha, size = hashlib.sha256(), 0
    with backend_for(copy.location).open(obj.key) as reader:
        while chunk := reader.read(CHUNK):
            size += len(chunk)
            sha.update(chunk)
    return size == obj.size and sha.hexdigest() == obj.sha256


def loose_max_files() -> int:
    """Above this many files an AIP is stored as one tar of its bag (see _store_packed)."""
    return int(os.environ.get("LANTAI_AIP_LOOSE_MAX_FILES", "500"))


def packed_object(aip: Aip):
    """The tar object of a packed AIP, or None when its files are stored one by one."""
    first = aip.files.select_related("object").first()
    if first is not None and first.object.key == f"{aip.key_prefix}/{PACKED_NAME}":
        return first.object
    return None


def _store_packed(bag: Path, prefix: str, payload, sm3_manifest, tag_names, tag_digests):
    """Store the whole bag as one uncompressed tar (BagIt serialization: one top-level folder,
    the bag's name). Every member is hashed while the tar is written and compared with the
    manifests; the tar is one stored object, replicated and audited like any other.

    Why: each stored object costs several fsyncs on every location; for a package of
    thousands of small files that dominates, while ``tar -xf`` still gives the plain bag back
    without Lantai."""
    tar_path = bag.parent / f".{bag.name}.tar.part"
    try:
        with (
            open(tar_path, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for rel in [*tag_names, *sorted(payload)]:
                path = bag / rel
                info = tar.gettarinfo(str(path), arcname=f"{bag.name}/{rel}")
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with open(path, "rb") as fh:
                    hashing = HashingReader(fh)
                    tar.addfile(info, hashing)
                if rel in payload:
                    size, sha = payload[rel]
                    if hashing.size != size or hashing.sha256 != sha:
                        raise AipError(_("保存后的文件与清单不符：%(p)s") % {"p": rel})
                    if rel in sm3_manifest and hashing.sm3 != sm3_manifest[rel]:
                        raise AipError(_("保存后的文件 SM3 与清单不符：%(p)s") % {"p": rel})
                elif tag_digests.get(rel) and hashing.sha256 != tag_digests[rel]:
                    raise AipError(_("保存后的标签文件与清单不符：%(p)s") % {"p": rel})
            tar.close()
            raw.flush()
            os.fsync(raw.fileno())
        return storage.put_file(tar_path, f"{prefix}/{PACKED_NAME}", purpose=PURPOSE)
    finally:
        tar_path.unlink(missing_ok=True)


def store_aip(bag_dir: Path, *, item, sip=None) -> Aip:
    """Store every file of the bag (replicated to every location), verify, and register the
    AIP with its files and events. Call inside the caller's transaction: on any failure it
    raises (AipError, StorageError, ValidationError) and the caller's rollback leaves nothing
    registered (files already written become orphans that storage.sweep_orphans removes).
    """
    bag = Path(bag_dir)
    payload = verify_bag(bag, deep=False)
    info = read_bag_info(bag)
    aip_id = info.get("AIP-Identifier") or str(uuid.uuid4())
    try:
        aip_uuid = uuid.UUID(aip_id)
    except ValueError as exc:
        raise AipError(_("信息包标识不正确：%(v)s") % {"v": aip_id}) from exc
    prefix = f"{KEY_ROOT}/{aip_uuid}"
    sm3_manifest = (
        read_manifest(bag / "manifest-sm3.txt") if (bag / "manifest-sm3.txt").exists() else {}
    )
    tag_names = sorted(p.name for p in bag.iterdir() if p.is_file() and not p.name.startswith("."))
    tag_digests = read_manifest(bag / "tagmanifest-sha256.txt")
    tagmanifest_sha = digests(bag / "tagmanifest-sha256.txt", sm3=False)[1]
    try:
        report = json.loads((bag / REPORT_PATH).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = {}
    reported = report.get("files") or {}

    packed = len(payload) + len(tag_names) > loose_max_files()
    with transaction.atomic():
        stored: list[tuple[str, Any]] = []
        if packed:
            tar_obj = _store_packed(bag, prefix, payload, sm3_manifest, tag_names, tag_digests)
            stored = [(rel, tar_obj) for rel in [*sorted(payload), *tag_names]]
            checked = [(f"{bag.name}.tar", tar_obj)]
        else:
            # The manifests' digests (SHA-256 and SM3 from the checks) go with each file, so
            # storage hashes with SHA-256 only and reads each primary copy back while copying
            # it to the replicas (see storage.put_files); a mismatch registers nothing.
            entries = []
            for rel in sorted(payload):
                size, sha = payload[rel]
                expected = (
                    {"size": size, "sha256": sha, "sm3": sm3_manifest[rel]}
                    if rel in sm3_manifest
                    else None
                )
                entries.append((bag / rel, f"{prefix}/{rel}", expected))
            entries.extend((bag / name, f"{prefix}/{name}", None) for name in tag_names)
            try:
                # The bag is ours and removed after storing: its files may become the primary
                # copies by hard link (read back and compared all the same).
                objs = storage.put_files(entries, purpose=PURPOSE, link=True)
            except storage.DigestMismatch as exc:
                raise AipError(_("保存后的文件与清单不符：%(p)s") % {"p": exc}) from exc
            for rel, obj in zip([*sorted(payload), *tag_names], objs, strict=True):
                if rel in payload:
                    size, sha = payload[rel]
                    if obj.size != size or obj.sha256 != sha:
                        raise AipError(_("保存后的文件与清单不符：%(p)s") % {"p": rel})
                    if rel in sm3_manifest and obj.sm3 != sm3_manifest[rel]:
                        raise AipError(_("保存后的文件 SM3 与清单不符：%(p)s") % {"p": rel})
                else:
                    expected_sha = (
                        tagmanifest_sha if rel == "tagmanifest-sha256.txt" else tag_digests.get(rel)
                    )
                    if expected_sha and obj.sha256 != expected_sha:
                        raise AipError(_("保存后的标签文件与清单不符：%(p)s") % {"p": rel})
                stored.append((rel, obj))
            checked = stored
        for rel, obj in checked:
            # put_files already read back the copies it wrote; others are read back here.
            if not getattr(obj, "read_back", False) and not _read_back(obj):
                raise AipError(_("保存后回读校验失败：%(p)s") % {"p": rel})
        now = timezone.now()
        aip = Aip.objects.create(
            id=aip_uuid,
            item=item,
            sip=sip,
            key_prefix=prefix,
            file_count=len(stored),
            size=sum(obj.size for _rel, obj in checked),
            tagmanifest_sha256=tagmanifest_sha,
            verified_at=now,
        )
        rows = []
        for rel, obj in stored:
            original = rel.removeprefix(OBJECTS) if rel.startswith(OBJECTS) else ""
            known = reported.get(original, {}) if original else {}
            rows.append(
                AipFile(
                    aip=aip,
                    path=rel,
                    object=obj,
                    puid=(known.get("puid") or "")[:20],
                    format_name=(known.get("format_name") or "")[:100],
                )
            )
            if original and not packed:
                storage.attach(
                    item,
                    obj,
                    role=ComponentRole.MASTER,
                    filename=PurePosixPath(original).name,
                    mime=known.get("mime") or "",
                )
        AipFile.objects.bulk_create(rows)
        locations = storage.active_locations_list()
        replicas = [loc.code for loc in locations]
        _events = [
            PreservationEvent(
                aip=aip,
                sip=sip,
                event_type=ev.INGESTION,
                event_datetime=now,
                outcome="success",
                detail=_("档案信息包已保存并登记（%(n)d 个文件）") % {"n": len(stored)},
                outcome_detail={
                    "key_prefix": prefix,
                    "tagmanifest_sha256": tagmanifest_sha,
                    "packed": packed,
                },
                agent=ev.SYSTEM_AGENT,
            ),
            PreservationEvent(
                aip=aip,
                sip=sip,
                event_type=ev.REPLICATION,
                event_datetime=now,
                outcome="success",
                detail=_("已复制到 %(n)d 个存储位置") % {"n": len(replicas)},
                outcome_detail={"locations": replicas},
                agent=ev.SYSTEM_AGENT,
            ),
            PreservationEvent(
                aip=aip,
                sip=sip,
                event_type=ev.FIXITY_CHECK,
                event_datetime=now,
                outcome="success",
                detail=_("保存后回读校验通过（SHA-256）"),
                outcome_detail={"files": len(stored)},
                agent=ev.SYSTEM_AGENT,
            ),
        ]
        PreservationEvent.objects.bulk_create(_events)
        record(
            AuditAction.CREATE,
            actor=None,
            obj=aip,
            object_repr=item.reference_code or item.title[:80],
            detail={"item": item.pk, "sip": str(sip.pk) if sip else None, "files": len(stored)},
        )
    return aip


def iter_bag_files(aip: Aip, prefixes: tuple[str, ...] = (OBJECTS,)):
    """Yield (bag path, size, stream) for the AIP's files whose path starts with one of
    ``prefixes``, read from storage and verified against the registered digests (for a packed
    AIP, the whole tar is read to its end so its digest is checked too)."""
    tar_obj = packed_object(aip)
    if tar_obj is None:
        files = aip.files.select_related("object").order_by("path")
        for entry in files:
            if entry.path.startswith(prefixes):
                with storage.open_object(entry.object) as reader:
                    yield entry.path, entry.object.size, reader
        return
    with storage.open_object(tar_obj) as reader:
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            for member in tar:
                _top, _sep, name = member.name.partition("/")
                if member.isfile() and name.startswith(prefixes):
                    yield name, member.size, tar.extractfile(member)
        while reader.read(CHUNK):
            pass
