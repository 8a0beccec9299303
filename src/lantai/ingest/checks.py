"""Four-property checks 四性检测 (DA/T 70-2018): authenticity 真实性, integrity 完整性,
usability 可用性 and security 安全性, at the stages 归档 (GD), 移交与接收 (YJ) and 长期保存 (BC).

The registry ``RULES`` names every check item once (code, property, name, what it checks,
default mode) and the stages it applies to; migration 0002 and a post_migrate handler seed
them into ``CheckRule`` rows, where an archive sets each to blocking 阻断, warning 警告 or
off 不检测. ``run_checks`` runs the enabled items against an opened SIP and returns a
JSON-able report: every item with id, name, result (pass / fail / warning / not_run) and
detail, and every file's size, SHA-256, SM3 and PRONOM format.

Each file is read once for all digests (SHA-256, SM3 and whatever the manifest or metadata
declared), several files at a time; format identification (siegfried) reads only the
signature windows; content checks open the documents with their own libraries.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import struct
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from lantai.ingest import signatures
from lantai.ingest.models import CheckMode, CheckProperty, CheckStage
from lantai.ingest.sip import SipFile, SipPackage, hash_file, parse_date, sm3_available

GD, YJ, BC = CheckStage.ARCHIVING, CheckStage.TRANSFER, CheckStage.PRESERVATION
AUTH, INTEG, USAB, SECUR = (
    CheckProperty.AUTHENTICITY,
    CheckProperty.INTEGRITY,
    CheckProperty.USABILITY,
    CheckProperty.SECURITY,
)
ALL_STAGES = (GD, YJ, BC)
PASS, FAIL, WARNING, NOT_RUN = "pass", "fail", "warning", "not_run"
#: Images up to this many pixels are decoded completely by the content check (≈ 36 MB RGB).
FULL_DECODE_PIXELS = 12_000_000
#: Files larger than twice this are identified from their first and last this many bytes.
IDENTIFY_WINDOW = 8 * 1024 * 1024
#: Failures listed per item at most (the count says how many there were).
MAX_FAILURES = 200


@dataclass(frozen=True)
class RuleDef:
    """One check item 检测项 of the registry."""

    code: str
    property: str
    name: str
    description: str
    stages: tuple[str, ...] = ALL_STAGES
    mode: str = CheckMode.BLOCKING
    order: int = 100


# Names are Chinese msgids (gettext_noop): stored as seeded, translated when shown.
RULES: tuple[RuleDef, ...] = (
    RuleDef(
        "1-1",
        AUTH,
        N_("固化信息有效性"),
        N_("每个文件的校验值与清单一致（SHA-256，同时计算并记录 SM3）"),
        order=10,
    ),
    RuleDef(
        "1-2",
        AUTH,
        N_("报送摘要与签名"),
        N_("元数据中报送的文件摘要逐一核验；数字签名有验签条件时核验"),
        order=20,
    ),
    RuleDef("1-3", AUTH, N_("元数据项长度"), N_("元数据各项不超过规定长度"), (GD, YJ), order=30),
    RuleDef(
        "1-4",
        AUTH,
        N_("元数据项数据类型"),
        N_("年度、件号、页数为整数，日期为有效日期，文字项为字符串"),
        (GD, YJ),
        order=40,
    ),
    RuleDef(
        "1-5",
        AUTH,
        N_("元数据项值域"),
        N_("保管期限、密级、门类、全宗等取值在规定范围内，年度与日期合理"),
        (GD, YJ),
        order=50,
    ),
    RuleDef(
        "1-6",
        AUTH,
        N_("元数据项特殊字符"),
        N_("元数据不含控制字符等不允许的字符"),
        (GD, YJ),
        order=60,
    ),
    RuleDef(
        "1-7",
        AUTH,
        N_("档号规范性"),
        N_("档号符合档号规则且与全宗、门类、年度、保管期限、件号一致"),
        (GD, YJ),
        order=70,
    ),
    RuleDef("1-8", AUTH, N_("重复性检测"), N_("档号与文号在馆藏中不重复"), (GD, YJ), order=80),
    RuleDef(
        "1-9", AUTH, N_("元数据与内容一致"), N_("文件名、大小、格式与元数据的描述一致"), order=90
    ),
    RuleDef(
        "2-1", INTEG, N_("数量相符"), N_("元数据记录的件数、文件数与信息包实际相符"), order=110
    ),
    RuleDef("2-2", INTEG, N_("必填元数据"), N_("必填的元数据项齐全"), (GD, YJ), order=120),
    RuleDef(
        "2-3",
        INTEG,
        N_("件号连续性"),
        N_("件号与馆藏已有件号衔接，文档序号从 1 起连续"),
        (GD, YJ),
        mode=CheckMode.WARNING,
        order=130,
    ),
    RuleDef(
        "2-4",
        INTEG,
        N_("组件齐全"),
        N_("元数据与清单列出的每个文件都在信息包中，且无多余文件"),
        order=140,
    ),
    RuleDef(
        "2-5",
        INTEG,
        N_("信息包结构"),
        N_("信息包结构符合规范（BagIt 警告在此报告）"),
        mode=CheckMode.WARNING,
        order=150,
    ),
    RuleDef(
        "3-1", USAB, N_("格式识别"), N_("每个文件的格式可识别为 PRONOM 标识（PUID）"), order=210
    ),
    RuleDef("3-2", USAB, N_("归档格式"), N_("文件格式在本馆接收的归档格式目录中"), order=220),
    RuleDef(
        "3-3",
        USAB,
        N_("内容可读"),
        N_("文件能正常打开：PDF 可解析、图像可解码、OFD 包与 OFD.xml 可解析"),
        order=230,
    ),
    RuleDef(
        "4-1",
        SECUR,
        N_("病毒检测"),
        N_("经 ClamAV（clamd）扫描无病毒；未配置时报告为未检测"),
        order=310,
    ),
    RuleDef("4-2", SECUR, N_("加密与口令保护"), N_("文件未加密、未设口令保护"), order=320),
)
RULES_BY_CODE = {rule.code: rule for rule in RULES}

#: Metadata elements (docs/sip-format.md): key → (label, type, max length, required).
ELEMENTS: dict[str, dict[str, Any]] = {
    "fonds": {"label": N_("全宗号"), "type": "string", "max_length": 8, "required": True},
    "category": {"label": N_("门类代码"), "type": "string", "max_length": 8, "required": True},
    "year": {"label": N_("年度"), "type": "integer", "required": True},
    "retention": {"label": N_("保管期限"), "type": "string", "max_length": 4, "required": True},
    "series": {"label": N_("机构(问题)代码"), "type": "string", "max_length": 20},
    "item_no": {"label": N_("件号"), "type": "integer"},
    "reference_code": {"label": N_("档号"), "type": "string", "max_length": 100},
    "title": {"label": N_("题名"), "type": "string", "max_length": 500, "required": True},
    "responsible": {"label": N_("责任者"), "type": "string", "max_length": 200, "required": True},
    "doc_number": {"label": N_("文号"), "type": "string", "max_length": 100},
    "date": {"label": N_("形成日期"), "type": "date", "required": True},
    "pages": {"label": N_("页数"), "type": "integer"},
    "classification": {"label": N_("密级"), "type": "string", "max_length": 16},
    "keywords": {"label": N_("主题词"), "type": "string", "max_length": 200},
    "notes": {"label": N_("备注"), "type": "text", "max_length": 2000},
    "catalog_no": {"label": N_("目录号"), "type": "string", "max_length": 20},
    "component_count": {"label": N_("文件数"), "type": "integer"},
    "components": {"label": N_("文件"), "type": "array", "required": True},
    "extra": {"label": N_("专门字段"), "type": "object"},
}
COMPONENT_ELEMENTS: dict[str, dict[str, Any]] = {
    "name": {"label": N_("计算机文件名"), "type": "string", "max_length": 255, "required": True},
    "path": {"label": N_("路径"), "type": "string", "max_length": 1000},
    "size": {"label": N_("计算机文件大小"), "type": "integer", "required": True},
    "format": {"label": N_("格式信息"), "type": "string", "max_length": 100},
    "sequence": {"label": N_("文档序号"), "type": "integer"},
    "role": {"label": N_("稿本"), "type": "string", "max_length": 50},
    "sha256": {"label": "SHA-256", "type": "string", "max_length": 64},
    "sm3": {"label": "SM3", "type": "string", "max_length": 64},
    "md5": {"label": "MD5", "type": "string", "max_length": 32},
    "signature": {"label": N_("数字签名"), "type": "string", "max_length": 20000},
    # DA/T 46 电子签名: 证书 (PEM or base64 DER) and 签名算法标识 of a detached signature.
    "certificate": {"label": N_("证书"), "type": "text", "max_length": 20000},
    "signature_algorithm": {"label": N_("签名算法标识"), "type": "string", "max_length": 40},
}
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\ufffe\uffff]"
)
_CONTROL_SINGLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\ufffe\uffff]")

#: The accepted formats seeded into AcceptedFormat (an archive edits the list afterwards).
SEED_FORMATS: tuple[tuple[str, str, str], ...] = (
    ("fmt/95", "PDF/A-1a", "application/pdf"),
    ("fmt/354", "PDF/A-1b", "application/pdf"),
    ("fmt/476", "PDF/A-2a", "application/pdf"),
    ("fmt/477", "PDF/A-2b", "application/pdf"),
    ("fmt/478", "PDF/A-2u", "application/pdf"),
    ("fmt/479", "PDF/A-3a", "application/pdf"),
    ("fmt/480", "PDF/A-3b", "application/pdf"),
    ("fmt/481", "PDF/A-3u", "application/pdf"),
    ("fmt/14", "PDF 1.0", "application/pdf"),
    ("fmt/15", "PDF 1.1", "application/pdf"),
    ("fmt/16", "PDF 1.2", "application/pdf"),
    ("fmt/17", "PDF 1.3", "application/pdf"),
    ("fmt/18", "PDF 1.4", "application/pdf"),
    ("fmt/19", "PDF 1.5", "application/pdf"),
    ("fmt/20", "PDF 1.6", "application/pdf"),
    ("fmt/276", "PDF 1.7", "application/pdf"),
    ("fmt/1129", "PDF 2.0", "application/pdf"),
    ("local/ofd", "OFD（GB/T 33190）", "application/ofd"),
    ("fmt/353", "TIFF", "image/tiff"),
    ("fmt/42", "JPEG 1.00", "image/jpeg"),
    ("fmt/43", "JPEG 1.01", "image/jpeg"),
    ("fmt/44", "JPEG 1.02", "image/jpeg"),
    ("fmt/41", "Raw JPEG Stream", "image/jpeg"),
    ("fmt/645", "Exif JPEG", "image/jpeg"),
    ("x-fmt/398", "Exif 2.0", "image/jpeg"),
    ("x-fmt/390", "Exif 2.1", "image/jpeg"),
    ("x-fmt/391", "Exif 2.2", "image/jpeg"),
    ("x-fmt/392", "JPEG 2000 (JP2)", "image/jp2"),
    ("fmt/11", "PNG 1.0", "image/png"),
    ("fmt/12", "PNG 1.1", "image/png"),
    ("fmt/13", "PNG 1.2", "image/png"),
    ("fmt/134", "MP3", "audio/mpeg"),
    ("fmt/141", "WAV (PCMWAVEFORMAT)", "audio/x-wav"),
    ("fmt/142", "WAV (WAVEFORMATEX)", "audio/x-wav"),
    ("fmt/143", "WAV (WAVEFORMATEXTENSIBLE)", "audio/x-wav"),
    ("fmt/6", "WAV", "audio/x-wav"),
    ("fmt/199", "MPEG-4", "video/mp4"),
    ("fmt/101", "XML", "application/xml"),
    ("x-fmt/111", "Plain Text", "text/plain"),
    ("x-fmt/16", "Unicode Text File", "text/plain"),
    ("x-fmt/18", "CSV", "text/csv"),
)

Progress = Callable[..., None] | None


# --- rules configuration -------------------------------------------------------------------


def seed_rules(CheckRule, AcceptedFormat, db: str = "default") -> None:
    """Create the registry's CheckRule rows (missing ones only: an archive's modes are never
    overridden) and the seed accepted formats when that list is empty."""
    existing = set(CheckRule.objects.using(db).values_list("stage", "code"))
    new = [
        CheckRule(
            stage=stage,
            property=rule.property,
            code=rule.code,
            name=rule.name,
            description=rule.description,
            mode=rule.mode,
            sort_order=rule.order,
        )
        for rule in RULES
        for stage in rule.stages
        if (stage, rule.code) not in existing
    ]
    if new:
        CheckRule.objects.using(db).bulk_create(new)
    if not AcceptedFormat.objects.using(db).exists():
        AcceptedFormat.objects.using(db).bulk_create(
            AcceptedFormat(puid=puid, name=name, mime=mime) for puid, name, mime in SEED_FORMATS
        )


def stage_rules(stage: str) -> list[dict[str, Any]]:
    """The configured rules of a stage (registry defaults when the table has none)."""
    from lantai.ingest.models import CheckRule

    rows = list(CheckRule.objects.filter(stage=stage).order_by("sort_order", "code"))
    if rows:
        return [
            {
                "code": row.code,
                "property": row.property,
                "name": row.name,
                "description": row.description,
                "mode": row.mode,
            }
            for row in rows
            if row.code in RULES_BY_CODE
        ]
    return [
        {
            "code": rule.code,
            "property": rule.property,
            "name": rule.name,
            "description": rule.description,
            "mode": rule.mode,
        }
        for rule in RULES
        if stage in rule.stages
    ]


def accepted_formats() -> dict[str, dict[str, str]]:
    from lantai.ingest.models import AcceptedFormat

    return {
        row.puid: {"name": row.name, "mime": row.mime}
        for row in AcceptedFormat.objects.filter(accepted=True)
    }


def update_rule(actor, rule, mode: str):
    """Set one check item's mode (blocking / warning / off); audited."""
    from django.db import transaction

    from lantai.audit.models import AuditAction
    from lantai.audit.services import record
    from lantai.core.permissions import require
    from lantai.ingest.models import CheckRule

    require(actor, "ingest.manage_checks")
    if mode not in CheckMode.values:
        raise ValidationError({"mode": [_("处理方式无效")]})
    with transaction.atomic():
        current = CheckRule.objects.select_for_update().get(pk=rule.pk)
        before = current.mode
        if before == mode:
            return current
        current.mode = mode
        current.save(update_fields=["mode"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=current,
            detail={"mode": [before, mode], "stage": current.stage, "code": current.code},
        )
    return current


def set_format_accepted(actor, fmt, accepted: bool):
    """Accept or refuse one format for archiving; audited."""
    from django.db import transaction

    from lantai.audit.models import AuditAction
    from lantai.audit.services import record
    from lantai.core.permissions import require
    from lantai.ingest.models import AcceptedFormat

    require(actor, "ingest.manage_checks")
    with transaction.atomic():
        current = AcceptedFormat.objects.select_for_update().get(pk=fmt.pk)
        if current.accepted != accepted:
            current.accepted = accepted
            current.save(update_fields=["accepted"])
            record(
                AuditAction.UPDATE,
                actor=actor,
                obj=current,
                detail={"accepted": [not accepted, accepted]},
            )
    return current


def add_format(actor, data: dict) -> Any:
    """Add a format (PUID, name, MIME) to the accepted list; audited."""
    from django.db import transaction

    from lantai.audit.models import AuditAction
    from lantai.audit.services import record
    from lantai.core.permissions import require
    from lantai.ingest.models import AcceptedFormat

    require(actor, "ingest.manage_checks")
    puid = str(data.get("puid") or "").strip()
    name = str(data.get("name") or "").strip()
    mime = str(data.get("mime") or "").strip()
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(r"(x-)?fmt/[0-9]{1,5}|local/[a-z0-9-]{1,14}", puid):
        errors["puid"] = [_("PRONOM 标识格式应为 fmt/数字 或 x-fmt/数字")]
    elif AcceptedFormat.objects.filter(puid=puid).exists():
        errors["puid"] = [_("该格式已在目录中")]
    if not name or len(name) > 100 or _CONTROL_SINGLE.search(name):
        errors["name"] = [_("请填写格式名称（不超过 100 个字符）")]
    if len(mime) > 100:
        errors["mime"] = [_("MIME 类型过长")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        row = AcceptedFormat.objects.create(puid=puid, name=name, mime=mime)
        record(AuditAction.CREATE, actor=actor, obj=row, detail={"puid": puid, "name": name})
    return row


# --- the report ----------------------------------------------------------------------------


class _Item:
    """One check item's outcome while the checks run."""

    def __init__(self, stage: str, rule: dict[str, Any]) -> None:
        self.stage = stage
        self.rule = rule
        self.failures: list[dict[str, str]] = []
        self.count = 0
        self.not_run = ""
        self.notes: list[str] = []

    def fail(self, detail: str, target: str = "") -> None:
        self.count += 1
        if len(self.failures) < MAX_FAILURES:
            self.failures.append({"target": target, "detail": detail})

    def as_dict(self) -> dict[str, Any]:
        mode = self.rule["mode"]
        blocking = mode == CheckMode.BLOCKING
        if mode == CheckMode.OFF:
            result, detail = NOT_RUN, _("按本馆配置不检测")
        elif self.not_run:
            result, detail = NOT_RUN, self.not_run
        elif self.count:
            result = FAIL if blocking else WARNING
            shown = "；".join(
                (f"{f['target']}：{f['detail']}" if f["target"] else f["detail"])
                for f in self.failures[:5]
            )
            more = self.count - min(5, len(self.failures))
            detail = shown + (_("；另有 %(n)d 处") % {"n": more} if more > 0 else "")
        else:
            result = PASS
            detail = "；".join(self.notes) or _("通过")
        return {
            "id": f"{self.stage}-{self.rule['code']}",
            "code": self.rule["code"],
            "property": self.rule["property"],
            "property_name": str(CheckProperty(self.rule["property"]).label),
            "name": _(self.rule["name"]),
            "result": result,
            "detail": detail,
            "blocking": blocking,
            "mode": mode,
            "failures": self.failures if result in (FAIL, WARNING) else [],
            "failure_count": self.count if result in (FAIL, WARNING) else 0,
        }


def _label(key: str) -> str:
    spec = ELEMENTS.get(key) or COMPONENT_ELEMENTS.get(key)
    return _(spec["label"]) if spec else key


# --- per-file work -------------------------------------------------------------------------


def _identify(path: Path) -> tuple[str, str, str, str]:
    """(PUID, format name, MIME, warning) by siegfried; '' when unidentified."""
    try:
        import pygfried
    except ImportError:  # pragma: no cover - a dependency, but report honestly if absent
        return "", "", "", _("未安装格式识别工具 pygfried")
    try:
        if path.stat().st_size > 2 * IDENTIFY_WINDOW:
            result = _identify_windowed(pygfried, path)
        else:
            result = pygfried.identify(str(path), detailed=True)
        match = result["files"][0]["matches"][0]
    except Exception as exc:  # siegfried errors are reported, not raised
        return "", "", "", str(exc)[:200]
    puid = match.get("id") or ""
    if puid == "UNKNOWN":
        puid = ""
    name, mime = match.get("format", ""), match.get("mime", "")
    if puid == "x-fmt/263" and _is_ofd_zip(path):
        # PRONOM has no OFD signature yet: a ZIP whose root holds OFD.xml is an OFD.
        return "local/ofd", "OFD（GB/T 33190）", "application/ofd", ""
    return puid, name, mime, match.get("warning", "")


def _identify_windowed(pygfried, path: Path) -> dict:
    """Identify a large file from its first and last IDENTIFY_WINDOW bytes.

    Siegfried maps the whole file and may scan all of it, which for a file of several GB
    costs that much resident memory; PRONOM signatures sit at the beginning or the end (BOF /
    EOF offsets), so a copy holding both ends, under the same extension, identifies alike.
    """
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lantai-identify-") as folder:
        window = Path(folder) / f"window{path.suffix.lower()[:16]}"
        size = path.stat().st_size
        with open(path, "rb") as source, open(window, "wb") as out:
            shutil.copyfileobj(_Limited(source, IDENTIFY_WINDOW), out, 1024 * 1024)
            source.seek(size - IDENTIFY_WINDOW)
            shutil.copyfileobj(source, out, 1024 * 1024)
        return pygfried.identify(str(window), detailed=True)


class _Limited:
    """A reader that stops after ``limit`` bytes."""

    def __init__(self, fh, limit: int) -> None:
        self.fh, self.left = fh, limit

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size < 0 else min(size, self.left)
        data = self.fh.read(size)
        self.left -= len(data)
        return data


def _is_ofd_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.lstrip("/").casefold() == "ofd.xml" for n in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _safe_xml_parse(source) -> None:
    """Parse XML as a stream (elements dropped once read, so a large file needs little
    memory) without DTDs, entities or network; any DOCTYPE is refused."""
    from lxml import etree

    context = etree.iterparse(
        source,
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    )
    checked = False
    for event, element in context:
        if not checked:
            docinfo = element.getroottree().docinfo
            if docinfo.doctype or docinfo.internalDTD is not None:
                # No document we keep needs a DTD; entities are how XXE and "billion laughs"
                # work.
                raise ValueError(_("XML 含有文档类型声明（DOCTYPE），拒绝解析"))
            checked = True
        if event == "end":
            element.clear()
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]


def _content_check(path: Path, puid: str, mime: str) -> tuple[str, str, str]:
    """Open the document with the library for its kind.

    Returns (usability problem, security problem, note): '' when none. An encrypted or
    password-protected document is a security problem, never just 'unreadable'.
    """
    lower = path.name.lower()
    kind = ""
    if mime == "application/pdf" or lower.endswith(".pdf"):
        kind = "pdf"
    elif puid == "local/ofd" or lower.endswith(".ofd"):
        kind = "ofd"
    elif mime.startswith("image/") or lower.endswith(
        (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".jp2", ".gif", ".bmp")
    ):
        kind = "image"
    elif mime in ("application/xml", "text/xml") or lower.endswith(".xml"):
        kind = "xml"
    elif puid in ("fmt/494", "fmt/754") or "encrypted" in (mime or "").lower():
        return "", _("文件为加密的办公文档"), ""
    elif mime.startswith("text/") or lower.endswith(".txt"):
        kind = "text"
    elif mime in ("audio/x-wav", "audio/wav") or lower.endswith(".wav"):
        kind = "wav"
    elif mime == "video/mp4" or lower.endswith(".mp4"):
        kind = "mp4"
    elif mime == "audio/mpeg" or lower.endswith(".mp3"):
        kind = "mp3"
    elif mime == "application/zip" or lower.endswith(".zip"):
        kind = "zip"
    if not kind:
        return "", "", _("无对应的打开检查")
    try:
        if kind == "pdf":
            import pikepdf

            try:
                with pikepdf.open(path) as pdf:
                    if pdf.is_encrypted:
                        return "", _("PDF 已加密（设有权限口令）"), ""
                    if len(pdf.pages) == 0:
                        return _("PDF 没有页面"), "", ""
            except pikepdf.PasswordError:
                return "", _("PDF 设有打开口令"), ""
        elif kind == "ofd":
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if info.flag_bits & 0x1:
                        return "", _("OFD 包中的文件已加密"), ""
                names = {n.lstrip("/").casefold(): n for n in archive.namelist()}
                if "ofd.xml" not in names:
                    return _("OFD 包中缺少 OFD.xml"), "", ""
                if any(n.endswith("encryptions.xml") for n in names):
                    return "", _("OFD 文档已加密（含 Encryptions.xml）"), ""
                with archive.open(names["ofd.xml"]) as fh:
                    _safe_xml_parse(fh)
                archive.testzip()
        elif kind == "image":
            from PIL import Image

            Image.MAX_IMAGE_PIXELS = 400_000_000
            with Image.open(path) as image:
                image.verify()
            with Image.open(path) as image:
                # Decode fully only what fits the memory budget (several files are checked
                # at once); a larger image is verified structurally and its first tile read.
                if image.width * image.height <= FULL_DECODE_PIXELS:
                    image.load()
                else:
                    image.crop((0, 0, min(image.width, 256), min(image.height, 256))).load()
        elif kind == "xml":
            with open(path, "rb") as fh:
                _safe_xml_parse(fh)
        elif kind == "text":
            with open(path, "rb") as fh:
                head = fh.read(1024 * 1024)
            for encoding in ("utf-8", "gb18030", "utf-16"):
                try:
                    head.decode(encoding)
                    break
                except UnicodeDecodeError as exc:
                    # a multi-byte character cut at the 1 MB boundary is fine
                    if encoding == "utf-8" and exc.start >= len(head) - 4:
                        break
            else:
                return _("文本文件的编码无法识别"), "", ""
        elif kind == "wav":
            with open(path, "rb") as fh:
                head = fh.read(12)
            if head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
                return _("不是有效的 WAV 文件"), "", ""
        elif kind == "mp4":
            with open(path, "rb") as fh:
                head = fh.read(12)
            if len(head) < 8 or head[4:8] != b"ftyp":
                return _("不是有效的 MP4 文件（缺少 ftyp）"), "", ""
            (size,) = struct.unpack(">I", head[:4])
            if size < 8:
                return _("MP4 文件头损坏"), "", ""
        elif kind == "mp3":
            with open(path, "rb") as fh:
                head = fh.read(3)
            if head != b"ID3" and not (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0):
                return _("不是有效的 MP3 文件"), "", ""
        elif kind == "zip":
            with zipfile.ZipFile(path) as archive:
                if any(info.flag_bits & 0x1 for info in archive.infolist()):
                    return "", _("压缩文件设有口令"), ""
    except Exception as exc:
        return _("无法打开：%(e)s") % {"e": str(exc)[:200] or type(exc).__name__}, "", ""
    return "", "", ""


def _clamd_address() -> tuple[str, Any] | None:
    sock = getattr(settings, "LANTAI_CLAMD_SOCKET", "") or os.environ.get("LANTAI_CLAMD_SOCKET")
    host = getattr(settings, "LANTAI_CLAMD_HOST", "") or os.environ.get("LANTAI_CLAMD_HOST")
    if sock:
        return ("unix", sock)
    if host:
        name, _sep, port = host.partition(":")
        return ("tcp", (name, int(port or 3310)))
    return None


def clamd_scan(path: Path, address: tuple[str, Any]) -> str:
    """Stream a file to clamd (INSTREAM); returns '' when clean, else the finding. Raises
    OSError when clamd cannot be reached."""
    kind, where = address
    family = socket.AF_UNIX if kind == "unix" else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as conn:
        conn.settimeout(120)
        conn.connect(where)
        conn.sendall(b"zINSTREAM\0")
        with open(path, "rb") as fh:
            while chunk := fh.read(64 * 1024):
                conn.sendall(struct.pack(">I", len(chunk)) + chunk)
        conn.sendall(struct.pack(">I", 0))
        reply = b""
        while not reply.endswith(b"\0"):
            part = conn.recv(4096)
            if not part:
                break
            reply += part
    text = reply.rstrip(b"\0").decode("utf-8", "replace")
    if text.endswith("OK") and "FOUND" not in text:
        return ""
    if "FOUND" in text:
        return text.split(":", 1)[-1].replace("FOUND", "").strip()
    raise OSError(text or "clamd")


def _digests_wanted(file: SipFile, component: dict[str, Any] | None) -> list[str]:
    wanted = ["sha256"]
    if sm3_available():
        wanted.append("sm3")
    wanted.extend(file.declared)
    if component:
        wanted.extend(k for k in ("sha256", "sm3", "md5") if component.get(k))
    return [name for name in dict.fromkeys(wanted) if name != "sm3" or sm3_available()]


def _process_file(file: SipFile, component: dict[str, Any] | None, content: bool) -> dict:
    digests, size = hash_file(file.abspath, _digests_wanted(file, component))
    puid, name, mime, warning = _identify(file.abspath)
    usability = security = note = ""
    if content:
        usability, security, note = _content_check(file.abspath, puid, mime)
    return {
        "size": size,
        "digests": digests,
        "puid": puid,
        "format_name": name,
        "mime": mime,
        "id_warning": warning,
        "usability": usability,
        "security": security,
        "note": note,
    }


# --- metadata checks -----------------------------------------------------------------------


def _components(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    value = metadata.get("components")
    return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []


def _component_path(component: dict[str, Any]) -> str:
    return str(component.get("path") or component.get("name") or "").removeprefix("./")


def _check_types_lengths_chars(metadata, items) -> None:
    length, types, chars = items.get("1-3"), items.get("1-4"), items.get("1-6")

    def check_value(key: str, value: Any, spec: dict[str, Any], where: str) -> None:
        if value is None:
            return
        label = f"{where}{_(spec['label'])}"
        kind = spec["type"]
        if kind in ("string", "text"):
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                if types:
                    types.fail(_("应为文字"), label)
                return
            if length and spec.get("max_length") and len(value) > spec["max_length"]:
                length.fail(
                    _("超过 %(max)d 个字符（%(n)d 个）")
                    % {"max": spec["max_length"], "n": len(value)},
                    label,
                )
            pattern = _CONTROL if kind == "text" else _CONTROL_SINGLE
            found = pattern.search(value)
            if chars and found:
                chars.fail(_("含不允许的字符 U+%(cp)04X") % {"cp": ord(found.group())}, label)
        elif kind == "integer":
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, str) and value.strip().isdigit()
            )
            if types and not ok:
                types.fail(_("应为整数"), label)
        elif kind == "date":
            if types and parse_date(value) is None:
                types.fail(
                    _("不是有效日期（应为 YYYY-MM-DD）：%(v)s") % {"v": str(value)[:40]}, label
                )
        elif kind == "array":
            if types and not isinstance(value, list):
                types.fail(_("应为列表"), label)
        elif kind == "object":
            if types and not isinstance(value, dict):
                types.fail(_("应为键值对"), label)
            elif isinstance(value, dict):
                for sub_key, sub_value in value.items():
                    if isinstance(sub_value, str):
                        check_value(sub_key, sub_value, {"label": sub_key, "type": "text"}, where)

    for key, spec in ELEMENTS.items():
        check_value(key, metadata.get(key), spec, "")
    for index, component in enumerate(_components(metadata), 1):
        where = _("文件%(n)d的") % {"n": index}
        for key, value in component.items():
            spec = COMPONENT_ELEMENTS.get(key)
            if spec is not None:
                check_value(key, value, spec, where)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _check_ranges(metadata, items, fonds_obj, category_obj, fonds_arg) -> None:
    from lantai.holdings import validators
    from lantai.holdings.models import Classification, Retention

    item = items.get("1-5")
    if item is None:
        return
    retention = metadata.get("retention")
    if retention not in (None, "") and retention not in Retention.values:
        item.fail(
            _("不在规定值（%(v)s）中：%(got)s")
            % {"v": "、".join(Retention.values), "got": str(retention)[:20]},
            _("保管期限"),
        )
    classification = metadata.get("classification")
    if classification not in (None, "") and classification not in Classification.values:
        item.fail(
            _("不在规定值（%(v)s）中：%(got)s")
            % {"v": "、".join(Classification.values), "got": str(classification)[:20]},
            _("密级"),
        )
    year = _as_int(metadata.get("year"))
    if year is not None and not (validators.min_year() <= year <= validators.max_year()):
        item.fail(
            _("应在 %(a)d 至 %(b)d 之间：%(y)d")
            % {"a": validators.min_year(), "b": validators.max_year(), "y": year},
            _("年度"),
        )
    date = parse_date(metadata.get("date"))
    if date is not None and year is not None and date.year != year:
        item.fail(_("形成日期 %(d)s 不在年度 %(y)d 内") % {"d": date, "y": year}, _("形成日期"))
    pages = _as_int(metadata.get("pages"))
    if pages is not None and pages < 0:
        item.fail(_("不能为负数"), _("页数"))
    if metadata.get("fonds") not in (None, "") and fonds_obj is None:
        item.fail(_("馆内没有该全宗：%(v)s") % {"v": str(metadata.get("fonds"))[:20]}, _("全宗号"))
    if fonds_arg is not None and fonds_obj is not None and fonds_obj.pk != fonds_arg.pk:
        item.fail(
            _("元数据的全宗 %(a)s 与提交的全宗 %(b)s 不一致")
            % {"a": fonds_obj.code, "b": fonds_arg.code},
            _("全宗号"),
        )
    if metadata.get("category") not in (None, "") and category_obj is None:
        item.fail(
            _("馆内没有该门类：%(v)s") % {"v": str(metadata.get("category"))[:20]}, _("门类代码")
        )


def _resolve_codes(metadata, fonds_arg):
    from lantai.holdings.models import Category, Fonds, Series

    fonds_obj = category_obj = series_obj = None
    code = metadata.get("fonds")
    if isinstance(code, str) and code.strip():
        fonds_obj = Fonds.objects.filter(code=code.strip()).first()
    elif fonds_arg is not None:
        fonds_obj = fonds_arg
    code = metadata.get("category")
    if isinstance(code, str) and code.strip():
        category_obj = Category.objects.filter(code=code.strip()).first()
    code = metadata.get("series")
    if isinstance(code, str) and code.strip() and fonds_obj is not None:
        series_obj = Series.objects.filter(fonds=fonds_obj, code=code.strip()).first()
    return fonds_obj, category_obj, series_obj


def _check_reference_code(metadata, items, fonds_obj, category_obj, series_obj) -> None:
    from lantai.holdings import refcode
    from lantai.holdings.models import Item

    ref_item, dup_item, cont_item = items.get("1-7"), items.get("1-8"), items.get("2-3")
    code = metadata.get("reference_code")
    year = _as_int(metadata.get("year"))
    item_no = _as_int(metadata.get("item_no"))
    retention = metadata.get("retention")
    series_code = metadata.get("series")
    if ref_item and series_code not in (None, "") and fonds_obj is not None and not series_obj:
        ref_item.fail(
            _("全宗内没有该机构(问题)代码：%(v)s") % {"v": str(metadata.get("series"))[:20]},
            _("机构(问题)代码"),
        )
    if ref_item and isinstance(code, str) and code.strip():
        if fonds_obj is None or category_obj is None:
            ref_item.fail(_("全宗或门类无效，无法核对档号"), _("档号"))
        else:
            scheme = refcode.scheme_for(fonds_obj, category_obj)
            try:
                parts = refcode.parse(
                    scheme.item_template,
                    code.strip(),
                    item_width=scheme.item_width,
                    volume_width=scheme.volume_width,
                )
            except refcode.ReferenceCodeError as exc:
                ref_item.fail(str(exc), _("档号"))
            else:
                expected = {
                    "fonds": fonds_obj.code,
                    "category": category_obj.code,
                    "year": year,
                    "retention": retention,
                    "series": series_obj.code if series_obj else "",
                    "item": item_no,
                }
                for part, want in expected.items():
                    got = getattr(parts, part, None)
                    if want in (None, "") or got in (None, ""):
                        continue
                    if str(got) != str(want) and not (
                        part in ("year", "item") and _as_int(got) == _as_int(want)
                    ):
                        ref_item.fail(
                            _("档号中的%(part)s为 %(got)s，元数据为 %(want)s")
                            % {"part": refcode.part_label(part), "got": got, "want": want},
                            _("档号"),
                        )
    if dup_item and fonds_obj is not None:
        code_text = code.strip() if isinstance(code, str) else ""
        if code_text and Item.objects.filter(reference_code=code_text).exists():
            dup_item.fail(_("馆藏中已有该档号：%(c)s") % {"c": code.strip()}, _("档号"))
        doc_number = metadata.get("doc_number")
        if isinstance(doc_number, str) and doc_number.strip() and year is not None:
            same = Item.objects.filter(
                fonds=fonds_obj, year=year, doc_number=doc_number.strip()
            ).exclude(doc_number="")
            if category_obj is not None:
                same = same.filter(category=category_obj)
            found = same.first()
            if found is not None:
                dup_item.fail(
                    _("馆藏中已有同一文号的件：%(d)s（%(c)s）")
                    % {"d": doc_number.strip(), "c": found.reference_code or found.pk},
                    _("文号"),
                )
        if item_no is not None and category_obj is not None and year is not None and retention:
            taken = Item.objects.filter(
                fonds=fonds_obj,
                category=category_obj,
                year=year,
                retention=retention,
                series=series_obj,
                volume=None,
                item_no=item_no,
            ).exists()
            if taken:
                dup_item.fail(_("馆藏中该件号已被占用：%(n)d") % {"n": item_no}, _("件号"))
    if cont_item:
        if (
            item_no is not None
            and fonds_obj is not None
            and category_obj is not None
            and year is not None
            and retention
        ):
            from django.db.models import Max

            last = (
                Item.objects.filter(
                    fonds=fonds_obj,
                    category=category_obj,
                    year=year,
                    retention=retention,
                    series=series_obj,
                    volume=None,
                ).aggregate(m=Max("item_no"))["m"]
                or 0
            )
            if item_no > last + 1:
                cont_item.fail(
                    _("件号 %(n)d 与馆藏已有最大件号 %(last)d 之间不连续")
                    % {"n": item_no, "last": last},
                    _("件号"),
                )
        sequences = [_as_int(c.get("sequence")) for c in _components(metadata)]
        numbers = [s for s in sequences if s is not None]
        if numbers and sorted(numbers) != list(range(1, len(numbers) + 1)):
            cont_item.fail(
                _("文档序号应从 1 起连续：%(s)s")
                % {"s": "、".join(map(str, sorted(numbers)))[:100]},
                _("文档序号"),
            )


def _check_required(metadata, items, fonds_arg) -> None:
    item = items.get("2-2")
    if item is None:
        return
    for key, spec in ELEMENTS.items():
        if not spec.get("required"):
            continue
        if key == "fonds" and fonds_arg is not None:
            continue
        value = metadata.get(key)
        if value is None or (isinstance(value, str) and not value.strip()) or value == []:
            item.fail(_("缺少必填元数据"), _(spec["label"]))
    for index, component in enumerate(_components(metadata), 1):
        for key, spec in COMPONENT_ELEMENTS.items():
            if spec.get("required") and component.get(key) in (None, ""):
                item.fail(
                    _("缺少必填元数据"), _("文件%(n)d的%(l)s") % {"n": index, "l": _(spec["label"])}
                )


# --- the run -------------------------------------------------------------------------------


def run_checks(
    package: SipPackage,
    *,
    stage: str,
    unit=None,
    fonds=None,
    progress: Progress = None,
) -> dict[str, Any]:
    """Run the stage's enabled check items on ``package``; returns the JSON-able report
    ({"passed", "stage", "items", "files", "summary"}). ``passed`` is False when a blocking
    item fails. ``progress(done, total, message=…)`` is called as files are processed."""
    started = time.monotonic()
    if stage not in CheckStage.values:
        raise ValueError(f"unknown stage {stage!r}")
    rules = stage_rules(stage)
    items: dict[str, _Item] = {}
    for rule in rules:
        items[rule["code"]] = _Item(stage, rule)
    active = {code: item for code, item in items.items() if item.rule["mode"] != CheckMode.OFF}

    metadata = package.metadata or {}
    components = _components(metadata)
    by_path: dict[str, dict[str, Any]] = {}
    for component in components:
        path = _component_path(component)
        if path:
            by_path.setdefault(path, component)

    # 1. One pass over every file: digests, format, content (in a few threads: hashlib and
    # siegfried release the GIL, so a big SIP uses the cores it has).
    files = list(package.files)
    all_files = files + ([package.metadata_file] if package.metadata_file else [])
    content = "3-3" in active or "4-2" in active
    results: dict[str, dict] = {}
    total = len(all_files)
    workers = max(1, min(4, os.cpu_count() or 1, total))

    def work(file: SipFile):
        is_meta = file is package.metadata_file
        return file, _process_file(file, by_path.get(file.path), content and not is_meta)

    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for file, outcome in pool.map(work, all_files):
            results[file.path] = outcome
            done += 1
            if progress is not None:
                progress(done, total, message=file.path)
    metadata_path = package.metadata_file.path if package.metadata_file else None

    # 真实性: fixity against the manifest / declared digests.
    fixity = active.get("1-1")
    if fixity:
        if not sm3_available():
            fixity.notes.append(_("本机的 OpenSSL 不支持 SM3，未计算 SM3"))
        for file in all_files:
            outcome = results[file.path]
            if not file.declared and package.format == "bagit":
                fixity.fail(_("清单中没有该文件的校验值"), file.path)
            for algorithm, digest in file.declared.items():
                actual = outcome["digests"].get(algorithm)
                if actual is not None and actual != digest.lower():
                    fixity.fail(
                        _("%(a)s 校验值不符（清单 %(d)s…，实际 %(x)s…）")
                        % {"a": algorithm.upper(), "d": digest[:12], "x": actual[:12]},
                        file.path,
                    )
        if package.format == "eep":
            fixity.notes.append(_("封装包无清单：已计算并记录 SHA-256 与 SM3"))
    supplied = active.get("1-2")
    if supplied:
        verified = 0
        for file in files:
            component = by_path.get(file.path)
            if not component:
                continue
            for algorithm in ("sha256", "sm3", "md5"):
                want = component.get(algorithm)
                if not isinstance(want, str) or not want:
                    continue
                got = results[file.path]["digests"].get(algorithm)
                if got is None:
                    supplied.notes.append(_("无法计算 %(a)s，未核验") % {"a": algorithm.upper()})
                    continue
                verified += 1
                if got != want.strip().lower():
                    supplied.fail(
                        _("报送的 %(a)s 摘要与文件不符") % {"a": algorithm.upper()}, file.path
                    )
        # Electronic signatures (PDF-embedded and detached in the metadata): see signatures.py.
        signed = signatures.verify_package(files, by_path, results)
        for outcome in signed.failures:
            supplied.fail(signatures.describe_failure(outcome), outcome.target)
        if signed.result == signatures.NOT_RUN:
            if not supplied.count:
                supplied.not_run = signed.detail
            else:
                supplied.notes.append(signed.detail)
        elif signed.result == signatures.PASS:
            supplied.notes.append(signed.detail)
            if verified:
                supplied.notes.append(_("已核验 %(n)d 个报送摘要") % {"n": verified})
        elif not verified and not supplied.count:
            supplied.notes.append(_("元数据未报送文件摘要或签名"))
        else:
            supplied.notes.append(_("已核验 %(n)d 个报送摘要") % {"n": verified})

    fonds_obj, category_obj, series_obj = _resolve_codes(metadata, fonds)
    _check_types_lengths_chars(metadata, active)
    _check_ranges(metadata, active, fonds_obj, category_obj, fonds)
    scope = active.get("1-5")
    if scope and unit is not None and fonds_obj is not None and fonds_obj.unit_id != unit.pk:
        scope.fail(
            _("全宗 %(f)s 不属于提交单位 %(u)s") % {"f": fonds_obj.code, "u": unit.name},
            _("全宗号"),
        )
    _check_reference_code(metadata, active, fonds_obj, category_obj, series_obj)
    _check_required(metadata, active, fonds)

    # 1-9 file name, size and format agree with the metadata.
    agree = active.get("1-9")
    if agree:
        for path, component in by_path.items():
            outcome = results.get(path)
            if outcome is None:
                continue
            name = component.get("name")
            if isinstance(name, str) and name and name != path.rsplit("/", 1)[-1]:
                agree.fail(_("文件名与元数据不一致：%(n)s") % {"n": name}, path)
            size = _as_int(component.get("size"))
            if size is not None and size != outcome["size"]:
                agree.fail(
                    _("大小与元数据不一致（元数据 %(a)d 字节，实际 %(b)d 字节）")
                    % {"a": size, "b": outcome["size"]},
                    path,
                )
            declared_format = str(component.get("format") or "").strip()
            if declared_format and not _format_agrees(declared_format, path, outcome):
                agree.fail(
                    _("格式与元数据不一致（元数据 %(a)s，识别为 %(b)s）")
                    % {"a": declared_format, "b": outcome["format_name"] or outcome["puid"] or "?"},
                    path,
                )
    # 2-1 counts.
    counts = active.get("2-1")
    if counts:
        count = _as_int(metadata.get("component_count"))
        actual = len(files) + len(package.missing)
        if count is not None and count != len(files):
            counts.fail(
                _("元数据记录 %(a)d 个文件，信息包中有 %(b)d 个") % {"a": count, "b": len(files)}
            )
        if components and len(components) != actual:
            counts.fail(
                _("元数据列出 %(a)d 个文件，信息包中有 %(b)d 个")
                % {"a": len(components), "b": actual}
            )
    # 2-4 components present, nothing unexplained.
    present = active.get("2-4")
    if present:
        for missing in package.missing:
            present.fail(_("文件缺失"), missing)
        paths = {file.path for file in files}
        for path in by_path:
            if path not in paths and path not in package.missing:
                present.fail(_("元数据列出的文件不在信息包中"), path)
        if components:
            for file in files:
                if file.path not in by_path:
                    present.fail(_("信息包中有元数据未列出的文件"), file.path)
        if not files:
            present.fail(_("信息包中没有任何文件"))
        if package.format == "bagit" and package.metadata_file is None:
            present.fail(_("缺少元数据文件 data/metadata.json"))
    structure = active.get("2-5")
    if structure:
        for warning in package.warnings:
            structure.fail(warning)
        if package.format == "bagit":
            structure.notes.append(_("BagIt %(v)s 包结构有效") % {"v": package.version})
    # 3-1 / 3-2 formats.
    identified, accepted_item = active.get("3-1"), active.get("3-2")
    accepted = accepted_formats() if accepted_item else {}
    for file in files:
        outcome = results[file.path]
        if identified and not outcome["puid"]:
            identified.fail(_("无法识别格式"), file.path)
        if accepted_item and outcome["puid"] and outcome["puid"] not in accepted:
            accepted_item.fail(
                _("格式 %(n)s（%(p)s）不在本馆归档格式目录中")
                % {"n": outcome["format_name"] or "?", "p": outcome["puid"]},
                file.path,
            )
    # 3-3 content opens; 4-2 encryption.
    readable, encrypted = active.get("3-3"), active.get("4-2")
    for file in files:
        outcome = results[file.path]
        if readable and outcome["usability"]:
            readable.fail(outcome["usability"], file.path)
        if encrypted and outcome["security"]:
            encrypted.fail(outcome["security"], file.path)
        if readable and outcome["security"] and not outcome["usability"]:
            readable.fail(_("加密文件无法检查内容"), file.path)
    # 4-1 virus scan.
    virus = active.get("4-1")
    if virus:
        address = _clamd_address()
        if address is None:
            virus.not_run = _(
                "未配置 ClamAV（LANTAI_CLAMD_SOCKET 或 LANTAI_CLAMD_HOST），未进行病毒检测"
            )
        else:
            try:
                for file in all_files:
                    finding = clamd_scan(file.abspath, address)
                    if finding:
                        virus.fail(_("发现病毒：%(v)s") % {"v": finding}, file.path)
            except OSError as exc:
                virus.not_run = _("无法连接 ClamAV：%(e)s") % {"e": str(exc)[:120]}
                virus.failures.clear()
                virus.count = 0

    report_items = [items[rule["code"]].as_dict() for rule in rules]
    passed = not any(item["result"] == FAIL and item["blocking"] for item in report_items)
    files_report = {}
    for file in all_files:
        outcome = results[file.path]
        files_report[file.path] = {
            "size": outcome["size"],
            "sha256": outcome["digests"].get("sha256", ""),
            "sm3": outcome["digests"].get("sm3", ""),
            "puid": outcome["puid"],
            "format_name": outcome["format_name"],
            "mime": outcome["mime"],
            "metadata": file.path == metadata_path,
        }
    tally = dict.fromkeys((PASS, FAIL, WARNING, NOT_RUN), 0)
    for item in report_items:
        tally[item["result"]] += 1
    summary = {
        **tally,
        "stage_name": str(CheckStage(stage).label),
        "format": package.format,
        "file_count": len(files),
        "total_size": sum(results[file.path]["size"] for file in files),
        "title": str(metadata.get("title") or "")[:500],
        "reference_code": str(metadata.get("reference_code") or "")[:100],
        "checked_at": _now(),
        "seconds": round(time.monotonic() - started, 3),
        "sm3": sm3_available(),
    }
    return {
        "passed": passed,
        "stage": stage,
        "items": report_items,
        "files": files_report,
        "summary": summary,
    }


def _now() -> str:
    from django.utils import timezone

    return timezone.now().isoformat(timespec="seconds")


_FORMAT_WORDS = {
    "pdf": ("application/pdf",),
    "ofd": ("application/ofd",),
    "jpg": ("image/jpeg",),
    "jpeg": ("image/jpeg",),
    "tif": ("image/tiff",),
    "tiff": ("image/tiff",),
    "png": ("image/png",),
    "jp2": ("image/jp2",),
    "mp3": ("audio/mpeg",),
    "wav": ("audio/x-wav", "audio/wav"),
    "mp4": ("video/mp4",),
    "xml": ("application/xml", "text/xml"),
    "txt": ("text/plain",),
}


def _format_agrees(declared: str, path: str, outcome: dict) -> bool:
    """A declared format (a PUID, a MIME type or a word such as 'PDF' / 'PDF/A') agrees with
    what siegfried found."""
    word = declared.strip().lower()
    if outcome["puid"] and word == outcome["puid"].lower():
        return True
    if outcome["mime"] and word == outcome["mime"].lower():
        return True
    base = re.split(r"[/\s\-_]", word.removeprefix("."))[0]
    mimes = _FORMAT_WORDS.get(base)
    if mimes is None:
        return True  # a description we cannot map: not held against the sender
    return (outcome["mime"] or "").lower() in mimes


# --- front-end control ---------------------------------------------------------------------


def rules_document() -> dict[str, Any]:
    """What a unit's system needs to check a SIP before sending it (前端控制): the metadata
    elements (required, types, lengths, codes), the 档号 templates, the accepted formats and
    the configured check rules of every stage."""
    from lantai.holdings.models import (
        Category,
        Classification,
        ReferenceScheme,
        Retention,
    )

    schemes = [
        {
            "fonds": scheme.fonds.code if scheme.fonds_id else None,
            "category": scheme.category.code if scheme.category_id else None,
            "item_template": scheme.item_template,
            "item_width": scheme.item_width,
        }
        for scheme in ReferenceScheme.objects.select_related("fonds", "category")
    ]
    return {
        "version": 1,
        "metadata_file": "data/metadata.json",
        "elements": {key: {**spec, "label": _(spec["label"])} for key, spec in ELEMENTS.items()},
        "component_elements": {
            key: {**spec, "label": _(spec["label"])} for key, spec in COMPONENT_ELEMENTS.items()
        },
        "required": [key for key, spec in ELEMENTS.items() if spec.get("required")],
        "codes": {
            "retention": {value: str(label) for value, label in Retention.choices},
            "classification": {value: str(label) for value, label in Classification.choices},
            "category": {c.code: c.name for c in Category.objects.order_by("sort_order")},
        },
        "reference_code": {
            "schemes": schemes,
            "note": _("最具体的规则优先：全宗+门类，其次全宗，其次门类，最后默认规则"),
        },
        "accepted_formats": [
            {"puid": puid, **info} for puid, info in sorted(accepted_formats().items())
        ],
        "checks": {stage: stage_rules(stage) for stage in CheckStage.values},
        "digests": ["sha256", "sm3"] if sm3_available() else ["sha256"],
        "schema": load_schema(),
    }


def load_schema() -> dict[str, Any]:
    import json

    path = Path(__file__).with_name("schemas") / "sip-metadata.schema.json"
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_text(encoding="utf-8"))
    return {}
