"""Opening a submission information package 归档信息包 (SIP).

Two formats (docs/sip-format.md):

* a BagIt bag (RFC 8493) as a directory, a ZIP or a tar: the payload ``data/`` holds the
  record's files and ``data/metadata.json`` with the DA/T 46 elements;
* a DA/T 48 EEP XML package 电子文件封装包 with the documents embedded in base64.

``open_sip`` only reads structure (bag declaration, tag files, manifests, paths, sizes); the
payload's fixity is verified by the checks in one streaming pass (``checks.run_checks``), so
a large file is read once. Anything hostile (path traversal, links, devices, bombs, XML
entities) is refused with ``SipError`` naming the failing items.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tarfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from xml.parsers import expat

from django.utils.translation import gettext as _

from lantai.core.safearchive import (
    UnsafeArchiveError,
    extract_tar,
    extract_zip,
    list_folder,
    safe_relative,
)

CHUNK = 1024 * 1024
METADATA_NAME = "metadata.json"
#: Algorithms a BagIt manifest may use here (RFC 8493 names; sm3 as a Chinese extension).
ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sm3")
#: Files operating systems leave behind; listed but absent they only warrant a warning.
SYSTEM_FILES = {".ds_store", "thumbs.db", "desktop.ini"}
_VERSION = re.compile(r"^[0-9]+\.[0-9]+$")
_STRICT_DECL = re.compile(r"^(BagIt-Version|Tag-File-Character-Encoding): (.+)$")
_HEX = re.compile(r"^[0-9A-Fa-f]+$")


class SipError(ValueError):
    """A SIP that cannot be opened at all; ``items`` lists what failed (code + detail)."""

    def __init__(self, message: str, items: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.items = items or [{"code": "structure", "detail": message}]


@dataclass
class SipFile:
    """One file of the record (a component): path relative to the payload, digests declared
    by the sender (algorithm → hex, from the manifests or the metadata)."""

    path: str
    abspath: Path
    size: int
    declared: dict[str, str] = field(default_factory=dict)


@dataclass
class SipPackage:
    format: str  # "bagit" or "eep"
    root: Path
    metadata: dict[str, Any]
    files: list[SipFile]
    bag_info: dict[str, Any]
    #: The metadata document itself (fixity checked too; kept in the AIP).
    metadata_file: SipFile | None = None
    #: Files the manifest or metadata declares but the package lacks (payload path).
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    version: str = ""
    source_name: str = ""


# --- hashing -------------------------------------------------------------------------------


def new_hash(algorithm: str):
    """A hashlib object; SM3 comes from OpenSSL (``hashlib.new('sm3')``)."""
    return hashlib.new(algorithm)


def sm3_available() -> bool:
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


def hash_file(path: Path, algorithms, *, on_chunk=None) -> tuple[dict[str, str], int]:
    """Stream ``path`` once through every algorithm; returns ({algorithm: hex}, size).
    ``on_chunk(bytes)`` sees each chunk too (e.g. a format sniffer)."""
    hashers = {name: new_hash(name) for name in dict.fromkeys(algorithms)}
    size = 0
    with open(path, "rb", buffering=0) as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            for hasher in hashers.values():
                hasher.update(chunk)
            if on_chunk is not None:
                on_chunk(chunk)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}, size


# --- BagIt ---------------------------------------------------------------------------------


@dataclass
class BagInspection:
    """What reading a bag's structure found (no payload hashing)."""

    root: Path
    version: str = ""
    encoding: str = "utf-8"
    bag_info: dict[str, Any] = field(default_factory=dict)
    #: algorithm → {payload path ("data/…"): digest}
    manifests: dict[str, dict[str, str]] = field(default_factory=dict)
    payload: dict[str, Path] = field(default_factory=dict)  # "data/…" → file on disk
    missing: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, code: str, detail: str) -> None:
        self.errors.append({"code": code, "detail": detail})


def _read_tag(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    if len(raw) > 16 * 1024 * 1024:
        raise SipError(_("标签文件过大：%(name)s") % {"name": path.name})
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SipError(
            _("标签文件“%(name)s”无法按 %(enc)s 解码") % {"name": path.name, "enc": encoding}
        ) from exc
    return text.lstrip("\ufeff")


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _parse_info(text: str) -> dict[str, Any]:
    """bag-info.txt: "Label: value" with continuation lines; repeated labels become lists."""
    info: dict[str, Any] = {}
    last = None
    for line in _lines(text):
        if not line.strip():
            continue
        if line[0] in " \t" and last is not None:
            value = info[last]
            if isinstance(value, list):
                value[-1] = f"{value[-1]} {line.strip()}"
            else:
                info[last] = f"{value} {line.strip()}"
            continue
        if ":" not in line:
            raise SipError(_("bag-info.txt 中有无法识别的行：%(line)s") % {"line": line[:80]})
        label, value = line.split(":", 1)
        label, value = label.strip(), value.strip()
        if label in info:
            previous = info[label]
            info[label] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            info[label] = value
        last = label
    return info


def _unsafe_manifest_path(name: str) -> str | None:
    """Why a manifest/fetch path is out of scope, or None. Host-independent: Windows forms
    (drive letters, UNC, backslashes, %VAR%) are refused on every host."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return _("绝对路径")
    if name.startswith("~") or ("%" in name.split("/")[0] and re.search(r"%[A-Za-z]+%", name)):
        return _("指向用户目录或环境变量的路径")
    if "\\" in name:
        return _("含反斜杠的路径")
    parts = name.split("/")
    if ".." in parts:
        return _("含“..”的路径（路径穿越）")
    return None


def _manifest_entries(inspection: BagInspection, path: Path, *, tag: bool) -> dict[str, str]:
    entries: dict[str, str] = {}
    folded: dict[str, str] = {}
    for number, line in enumerate(_lines(_read_tag(path, inspection.encoding)), 1):
        if not line.strip():
            continue
        parts = line.strip().split(None, 1) if not line.startswith(" ") else []
        if len(parts) != 2 or not _HEX.match(parts[0]):
            inspection.error(
                "manifest",
                _("清单“%(file)s”第 %(n)d 行格式错误") % {"file": path.name, "n": number},
            )
            continue
        digest, name = parts[0].lower(), parts[1]
        if name.startswith("*"):
            # md5sum's binary-mode marker: tolerated, with a warning.
            name = name[1:]
            inspection.warnings.append(
                _("清单“%(file)s”使用了 md5sum 的二进制标记“*”") % {"file": path.name}
            )
        # RFC 8493 percent-encodes only CR, LF and '%' itself; older bags did not encode.
        if inspection.version and inspection.version >= "1.0":
            name = name.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        why = _unsafe_manifest_path(name)
        if why:
            inspection.error(
                "path",
                _("清单“%(file)s”中的路径超出包的范围（%(why)s）：%(name)s")
                % {"file": path.name, "why": why, "name": name},
            )
            continue
        while name.startswith("./"):
            name = name[2:]
        if not tag and not name.startswith("data/"):
            inspection.error(
                "path",
                _("清单“%(file)s”列出了数据目录之外的文件：%(name)s")
                % {"file": path.name, "name": name},
            )
            continue
        normal = unicodedata.normalize("NFC", name)
        if name in entries:
            if entries[name] != digest or (inspection.version or "0") >= "1.0":
                inspection.error(
                    "manifest",
                    _("清单“%(file)s”重复列出同一文件：%(name)s")
                    % {"file": path.name, "name": name},
                )
            else:
                inspection.warnings.append(
                    _("清单“%(file)s”重复列出同一文件（校验值相同）：%(name)s")
                    % {"file": path.name, "name": name}
                )
            continue
        if normal in folded and folded[normal] != name:
            inspection.warnings.append(
                _("清单“%(file)s”以不同的 Unicode 规范化形式重复列出：%(name)s")
                % {"file": path.name, "name": normal}
            )
        folded.setdefault(normal, name)
        entries[name] = digest
    return entries


def inspect_bag(root: Path) -> BagInspection:
    """Read a bag's declaration, tag files and manifests; list its payload. Never hashes the
    payload. Problems are collected in ``errors`` (invalid) and ``warnings`` (valid)."""
    root = Path(root)
    inspection = BagInspection(root=root)
    declaration = root / "bagit.txt"
    if not declaration.is_file():
        inspection.error("bagit.txt", _("缺少 BagIt 声明文件 bagit.txt"))
        return inspection
    raw = declaration.read_bytes()[:4096]
    if raw.startswith(codecs.BOM_UTF8):
        inspection.error("bagit.txt", _("bagit.txt 不得以字节顺序标记（BOM）开头"))
        return inspection
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        inspection.error("bagit.txt", _("bagit.txt 不是 UTF-8 编码"))
        return inspection
    values: dict[str, str] = {}
    strict = True
    for line in _lines(text):
        if not line.strip():
            continue
        if not _STRICT_DECL.match(line):
            strict = False
        if ":" in line:
            key, value = line.split(":", 1)
            values[key.strip()] = value.strip()
    version = values.get("BagIt-Version", "")
    if not _VERSION.match(version):
        inspection.error(
            "bagit.txt", _("bagit.txt 中的 BagIt-Version 无效：%(v)s") % {"v": version}
        )
        return inspection
    inspection.version = version
    if version >= "1.0" and not strict:
        inspection.error("bagit.txt", _("bagit.txt 的格式不符合 RFC 8493（冒号前不得有空格）"))
    encoding = values.get("Tag-File-Character-Encoding", "")
    if not encoding:
        inspection.error("bagit.txt", _("bagit.txt 缺少 Tag-File-Character-Encoding"))
        return inspection
    try:
        codecs.lookup(encoding)
    except LookupError:
        inspection.error("bagit.txt", _("未知的标签文件编码：%(e)s") % {"e": encoding})
        return inspection
    inspection.encoding = encoding

    try:
        files = list_folder(root)
    except UnsafeArchiveError as exc:
        inspection.error("path", str(exc))
        return inspection
    data_dir = root / "data"
    if not data_dir.is_dir():
        inspection.error("payload", _("缺少数据目录 data/"))
    for path in files:
        relative = path.relative_to(root).as_posix()
        if relative.startswith("data/"):
            inspection.payload[relative] = path

    try:
        for info_name in ("bag-info.txt", "package-info.txt"):
            info_path = root / info_name
            if info_path.is_file():
                inspection.bag_info = _parse_info(_read_tag(info_path, encoding))
                break
        manifests = sorted(root.glob("manifest-*.txt"))
        if not manifests:
            inspection.error("manifest", _("缺少载荷清单 manifest-<算法>.txt"))
        for manifest in manifests:
            algorithm = manifest.name[len("manifest-") : -len(".txt")].lower()
            if algorithm not in ALGORITHMS:
                inspection.error("manifest", _("不支持的校验算法：%(a)s") % {"a": algorithm})
                continue
            inspection.manifests[algorithm] = _manifest_entries(inspection, manifest, tag=False)
        for tagmanifest in sorted(root.glob("tagmanifest-*.txt")):
            algorithm = tagmanifest.name[len("tagmanifest-") : -len(".txt")].lower()
            if algorithm not in ALGORITHMS:
                inspection.error("manifest", _("不支持的校验算法：%(a)s") % {"a": algorithm})
                continue
            for name, digest in _manifest_entries(inspection, tagmanifest, tag=True).items():
                target = root / name
                if not target.is_file() or target.is_symlink():
                    inspection.error(
                        "tagmanifest",
                        _("标签清单列出的文件不存在：%(name)s") % {"name": name},
                    )
                    continue
                actual, _size = hash_file(target, [algorithm])
                if actual[algorithm] != digest:
                    inspection.error(
                        "tagmanifest",
                        _("标签文件校验值不符：%(name)s") % {"name": name},
                    )
        fetch = root / "fetch.txt"
        fetched: set[str] = set()
        if fetch.is_file():
            for line in _lines(_read_tag(fetch, encoding)):
                if not line.strip():
                    continue
                parts = line.strip().split(None, 2)
                if len(parts) != 3:
                    inspection.error("fetch", _("fetch.txt 中有格式错误的行"))
                    continue
                why = _unsafe_manifest_path(parts[2])
                if why or not parts[2].lstrip("./").startswith("data/"):
                    inspection.error(
                        "path",
                        _("fetch.txt 中的路径超出包的范围（%(why)s）：%(name)s")
                        % {"why": why or _("不在 data/ 之下"), "name": parts[2]},
                    )
                    continue
                fetched.add(parts[2].removeprefix("./"))
    except SipError as exc:
        inspection.error("tagfile", exc.message)
        return inspection

    # Every payload file in every manifest; every manifest entry present (or to be fetched).
    present = set(inspection.payload)
    present_folded = {name.casefold() for name in present}
    present_nfc = {unicodedata.normalize("NFC", name) for name in present}
    absent_system: set[str] = set()
    for algorithm, entries in inspection.manifests.items():
        for name in sorted(present - set(entries)):
            if unicodedata.normalize("NFC", name) in {
                unicodedata.normalize("NFC", n) for n in entries
            }:
                continue
            inspection.error(
                "manifest",
                _("载荷文件未列入清单 manifest-%(a)s.txt：%(name)s")
                % {"a": algorithm, "name": name},
            )
        for name in sorted(set(entries) - present):
            if unicodedata.normalize("NFC", name) in present_nfc:
                continue
            if name in fetched:
                if name not in inspection.missing:
                    inspection.missing.append(name)
                continue
            base = name.rsplit("/", 1)[-1].casefold()
            if base in SYSTEM_FILES:
                absent_system.add(name)
                inspection.warnings.append(
                    _("清单列出的系统文件不在包中：%(name)s") % {"name": name}
                )
                continue
            if name.casefold() in present_folded:
                inspection.warnings.append(
                    _("清单列出了仅大小写不同的同名文件：%(name)s") % {"name": name}
                )
                continue
            inspection.error("missing", _("清单列出的文件不在包中：%(name)s") % {"name": name})
            if name not in inspection.missing:
                inspection.missing.append(name)

    oxum = inspection.bag_info.get("Payload-Oxum")
    if isinstance(oxum, str) and oxum and not inspection.missing:
        match = re.match(r"^([0-9]+)\.([0-9]+)$", oxum)
        if not match:
            inspection.error("oxum", _("Payload-Oxum 格式错误：%(v)s") % {"v": oxum})
        else:
            octets = sum(path.stat().st_size for path in inspection.payload.values())
            declared_oxum = (int(match.group(1)), int(match.group(2)))
            if absent_system and declared_oxum == (
                octets,
                len(inspection.payload) + len(absent_system),
            ):
                inspection.warnings.append(_("Payload-Oxum 计入了不在包中的系统文件"))
            elif declared_oxum != (octets, len(inspection.payload)):
                inspection.error(
                    "oxum",
                    _("Payload-Oxum 与载荷不符：声明 %(d)s，实际 %(o)d.%(n)d")
                    % {"d": oxum, "o": octets, "n": len(inspection.payload)},
                )
    return inspection


def validate_bag(root: Path) -> BagInspection:
    """Full RFC 8493 validation: structure, then every payload file's digests (streamed)."""
    inspection = inspect_bag(root)
    if inspection.errors:
        return inspection
    for name, path in sorted(inspection.payload.items()):
        wanted = {
            algorithm: entries[name]
            for algorithm, entries in inspection.manifests.items()
            if name in entries
        }
        if not wanted:
            continue
        actual, _size = hash_file(path, list(wanted))
        for algorithm, digest in wanted.items():
            if actual[algorithm] != digest:
                inspection.error(
                    "fixity",
                    _("文件校验值不符（%(a)s）：%(name)s") % {"a": algorithm, "name": name},
                )
    return inspection


def _find_bag_root(folder: Path) -> Path:
    if (folder / "bagit.txt").exists():
        return folder
    # Archivers' leftovers (macOS resource forks, Finder and Explorer files) are not the bag.
    children = [
        child
        for child in folder.iterdir()
        if not child.name.startswith(".extract-")
        and child.name not in ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")
    ]
    if len(children) == 1 and children[0].is_dir() and not children[0].is_symlink():
        return _find_bag_root(children[0]) if (children[0] / "bagit.txt").exists() else children[0]
    return folder


def _load_metadata(path: Path) -> dict[str, Any]:
    if path.stat().st_size > 8 * 1024 * 1024:
        raise SipError(_("元数据文件过大（超过 8 MB）"), [{"code": "metadata", "detail": ""}])
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SipError(
            _("元数据文件 metadata.json 不是有效的 UTF-8 JSON：%(e)s") % {"e": exc},
            [{"code": "metadata", "detail": str(exc)[:200]}],
        ) from exc
    if not isinstance(data, dict):
        raise SipError(_("元数据文件 metadata.json 应为 JSON 对象"))
    return normalise_metadata(data)


def _open_bag(root: Path) -> SipPackage:
    inspection = inspect_bag(root)
    if inspection.errors:
        raise SipError(
            _("BagIt 包结构无效：%(first)s") % {"first": inspection.errors[0]["detail"]},
            inspection.errors,
        )
    declared: dict[str, dict[str, str]] = {}
    for algorithm, entries in inspection.manifests.items():
        for name, digest in entries.items():
            declared.setdefault(name, {})[algorithm] = digest
    metadata_key = f"data/{METADATA_NAME}"
    metadata: dict[str, Any] = {}
    metadata_file = None
    if metadata_key in inspection.payload:
        path = inspection.payload[metadata_key]
        metadata = _load_metadata(path)
        metadata_file = SipFile(
            METADATA_NAME, path, path.stat().st_size, declared.get(metadata_key, {})
        )
    files = [
        SipFile(name[len("data/") :], path, path.stat().st_size, declared.get(name, {}))
        for name, path in sorted(inspection.payload.items())
        if name != metadata_key
    ]
    return SipPackage(
        format="bagit",
        root=root,
        metadata=metadata,
        files=files,
        bag_info=inspection.bag_info,
        metadata_file=metadata_file,
        missing=[name[len("data/") :] for name in inspection.missing],
        warnings=inspection.warnings,
        version=inspection.version,
    )


# --- metadata ------------------------------------------------------------------------------

#: Chinese element names (DA/T 46) accepted as aliases of the JSON keys.
ALIASES = {
    "全宗号": "fonds",
    "门类代码": "category",
    "门类": "category",
    "年度": "year",
    "保管期限": "retention",
    "机构问题代码": "series",
    "机构(问题)": "series",
    "机构或问题": "series",
    "件号": "item_no",
    "档号": "reference_code",
    "题名": "title",
    "责任者": "responsible",
    "文件编号": "doc_number",
    "文号": "doc_number",
    "日期": "date",
    "形成日期": "date",
    "页数": "pages",
    "密级": "classification",
    "主题词": "keywords",
    "关键词": "keywords",
    "附注": "notes",
    "备注": "notes",
    "件数": "component_count",
    "文件": "components",
    "组件": "components",
}
COMPONENT_ALIASES = {
    "计算机文件名": "name",
    "文件名": "name",
    "路径": "path",
    "计算机文件大小": "size",
    "大小": "size",
    "格式信息": "format",
    "格式": "format",
    "序号": "sequence",
    "文档序号": "sequence",
    "稿本": "role",
    "类型": "role",
}


RETENTION_WORDS = {
    "永久": "Y",
    "定期30年": "D30",
    "30年": "D30",
    "定期10年": "D10",
    "10年": "D10",
    "长期": "C",
    "短期": "D",
}
CLASSIFICATION_WORDS = {
    "公开": "public",
    "无": "public",
    "内部": "internal",
    "秘密": "secret",
    "机密": "confidential",
    "绝密": "top_secret",
}


def normalise_metadata(data: dict[str, Any]) -> dict[str, Any]:
    """Map Chinese element names to the JSON keys of docs/sip-format.md (English keys win)."""
    result: dict[str, Any] = {}
    for key, value in data.items():
        name = ALIASES.get(key, key)
        if name in result and key != name:
            continue
        result[name] = value
    # DA/T 46 writes values as words; the codes are what holdings keep.
    for key, words in (("retention", RETENTION_WORDS), ("classification", CLASSIFICATION_WORDS)):
        value = result.get(key)
        if isinstance(value, str) and value.strip() in words:
            result[key] = words[value.strip()]
    components = result.get("components")
    if isinstance(components, list):
        result["components"] = [
            {COMPONENT_ALIASES.get(k, k): v for k, v in c.items()} if isinstance(c, dict) else c
            for c in components
        ]
    return result


def metadata_to_item_data(metadata: dict[str, Any], *, fonds, category) -> dict[str, Any]:
    """Keys for ``holdings.services.create_item`` from SIP metadata. ``fonds`` and
    ``category`` (instances or codes) override the metadata's; the item is electronic."""
    data: dict[str, Any] = {
        "fonds": fonds if fonds is not None else metadata.get("fonds"),
        "category": category if category is not None else metadata.get("category"),
        "carrier": "electronic",
    }
    for key in (
        "year",
        "retention",
        "series",
        "item_no",
        "reference_code",
        "title",
        "responsible",
        "doc_number",
        "date",
        "pages",
        "classification",
        "keywords",
        "notes",
        "catalog_no",
    ):
        value = metadata.get(key)
        if value not in (None, ""):
            data[key] = value
    extra = metadata.get("extra")
    if isinstance(extra, dict) and extra:
        data["extra"] = extra
    return data


# --- DA/T 48 EEP ---------------------------------------------------------------------------

#: EEP element (local name) → metadata key. Namespaces are ignored (DA/T 48 versions differ).
EEP_FIELDS = {
    "全宗号": "fonds",
    "门类代码": "category",
    "年度": "year",
    "保管期限": "retention",
    "机构或问题": "series",
    "件号": "item_no",
    "档号": "reference_code",
    "题名": "title",
    "责任者": "responsible",
    "文件编号": "doc_number",
    "日期": "date",
    "页数": "pages",
    "密级": "classification",
    "主题词": "keywords",
    "附注": "notes",
    "件数": "component_count",
}
#: Elements that carry a document's properties inside 文档.
EEP_DOC_FIELDS = {
    "计算机文件名": "name",
    "计算机文件大小": "size",
    "格式信息": "format",
    "文档序号": "sequence",
    "文档标识符": "identifier",
    "稿本": "role",
}


class _EepReader:
    """Streaming EEP parser (expat): DOCTYPE and entities refused; base64 data decoded
    chunk by chunk straight to files, so a large embedded document never sits in memory."""

    def __init__(self, out_dir: Path, max_total: int, max_files: int = 200_000) -> None:
        self.out_dir = out_dir
        self.max_total = max_total
        self.max_files = max_files
        self.total = 0
        self.stack: list[str] = []
        self.text: list[str] = []
        self.metadata: dict[str, Any] = {}
        self.components: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None
        self.sink = None
        self.sink_path: Path | None = None
        self.pending = ""
        self.decoded = 0
        self.count = 0

    # expat callbacks
    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1].rsplit(":", 1)[-1]
        self.stack.append(local)
        self.text = []
        if local == "文档":
            self.current = {}
        elif local == "编码数据":
            self.count += 1
            if self.count > self.max_files:
                raise SipError(
                    _("封装包中的文档超过上限 %(max)d 个") % {"max": self.max_files},
                    [{"code": "eep.documents", "detail": str(self.count)}],
                )
            if self.current is None:
                self.current = {}
            self.sink_path = self.out_dir / f".doc-{self.count:05d}"
            self.sink = open(self.sink_path, "xb")  # noqa: SIM115 (closed in end())
            self.pending = ""
            self.decoded = 0

    def data(self, text: str) -> None:
        if self.sink is not None:
            self._decode(text)
        else:
            self.text.append(text)
            if sum(len(t) for t in self.text) > 1024 * 1024:
                raise SipError(_("封装包中的元数据元素过长"))

    def _decode(self, text: str, final: bool = False) -> None:
        buffer = self.pending + "".join(text.split())
        usable = len(buffer) if final else len(buffer) - len(buffer) % 4
        chunk, self.pending = buffer[:usable], buffer[usable:]
        if not chunk:
            return
        try:
            raw = base64.b64decode(chunk, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SipError(
                _("封装包中的编码数据不是有效的 base64"),
                [{"code": "eep.base64", "detail": str(exc)[:200]}],
            ) from exc
        self.total += len(raw)
        self.decoded += len(raw)
        if self.total > self.max_total:
            raise SipError(_("封装包中的文档总大小超过上限"))
        self.sink.write(raw)

    def end(self, name: str) -> None:
        local = self.stack.pop() if self.stack else ""
        value = "".join(self.text).strip()
        if local == "编码数据" and self.sink is not None:
            self._decode("", final=True)
            self.sink.close()
            self.sink = None
            assert self.current is not None
            self.current["_data"] = self.sink_path
        elif local == "文档" and self.current is not None:
            self.components.append(self.current)
            self.current = None
        elif self.current is not None and local in EEP_DOC_FIELDS:
            self.current[EEP_DOC_FIELDS[local]] = value
        elif local in EEP_FIELDS and value and EEP_FIELDS[local] not in self.metadata:
            self.metadata[EEP_FIELDS[local]] = value
        self.text = []


def _refuse_doctype(*_args) -> None:
    raise SipError(
        _("封装包含有文档类型声明（DOCTYPE），为防止外部实体与实体膨胀攻击而拒绝"),
        [{"code": "eep.doctype", "detail": "DOCTYPE"}],
    )


def _refuse_entity(*_args) -> None:
    raise SipError(
        _("封装包含有实体声明，为防止外部实体与实体膨胀攻击而拒绝"),
        [{"code": "eep.entity", "detail": "ENTITY"}],
    )


def _open_eep(path: Path, workdir: Path, *, max_total: int, max_files: int) -> SipPackage:
    root = workdir / "eep"
    try:
        return _read_eep(path, root, max_total=max_total, max_files=max_files)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)  # nothing half-decoded is left behind
        raise


def _read_eep(path: Path, root: Path, *, max_total: int, max_files: int) -> SipPackage:
    payload = root / "data"
    payload.mkdir(parents=True)
    reader = _EepReader(payload, max_total, max_files)
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_entity
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.data
    parser.buffer_text = True
    parser.buffer_size = CHUNK
    try:
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(CHUNK)
                parser.Parse(chunk, not chunk)
                if not chunk:
                    break
    except expat.ExpatError as exc:
        raise SipError(
            _("封装包不是格式良好的 XML：%(e)s") % {"e": exc},
            [{"code": "eep.xml", "detail": str(exc)}],
        ) from exc
    finally:
        if reader.sink is not None:
            reader.sink.close()
    if not reader.components:
        raise SipError(
            _("封装包中没有找到任何文档（文档/编码数据）"),
            [{"code": "eep.documents", "detail": ""}],
        )
    files: list[SipFile] = []
    components: list[dict[str, Any]] = []
    used: set[str] = set()
    for index, doc in enumerate(reader.components, 1):
        name = str(doc.get("name") or f"document-{index}")
        try:
            relative = safe_relative(name, what=name).name  # flat: a file name, no folders
        except UnsafeArchiveError as exc:
            raise SipError(str(exc), [{"code": "eep.name", "detail": name}]) from exc
        if relative.casefold() in used:
            raise SipError(
                _("封装包中有重名的文档：%(name)s") % {"name": relative},
                [{"code": "eep.name", "detail": relative}],
            )
        used.add(relative.casefold())
        component = {k: v for k, v in doc.items() if not k.startswith("_")}
        component["name"] = relative
        component["path"] = relative
        components.append(component)
        data_path = doc.get("_data")
        if data_path is None:
            continue  # declared but without data: reported by the checks as missing
        target = payload / relative
        os.rename(data_path, target)
        files.append(SipFile(relative, target, target.stat().st_size, {}))
    metadata = normalise_metadata(dict(reader.metadata))
    metadata["components"] = components
    missing = [c["path"] for c in components if not (payload / c["path"]).exists()]
    return SipPackage(
        format="eep",
        root=root,
        metadata=metadata,
        files=files,
        bag_info={},
        missing=missing,
        source_name=path.name,
    )


# --- entry point ---------------------------------------------------------------------------


def _sniff(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return "xml"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except OSError:
        pass
    return ""


def open_sip(path: Path, workdir: Path) -> SipPackage:
    """Open a SIP at ``path`` (bag directory, bag ZIP/tar, or EEP XML), unpacking below
    ``workdir`` when needed. Raises SipError (Chinese message + failing items) for input
    that cannot be used at all; everything else is left to ``checks.run_checks``."""
    from django.conf import settings

    path, workdir = Path(path), Path(workdir)
    if path.is_symlink():
        raise SipError(_("拒绝符号链接：%(name)s") % {"name": path.name})
    if path.is_dir():
        package = _open_bag(_find_bag_root(path))
        package.source_name = path.name
        return package
    if not path.is_file():
        raise SipError(_("找不到归档信息包：%(name)s") % {"name": path.name})
    kind = _sniff(path)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if kind == "zip":
            target = workdir / "bag"
            extract_zip(path, target)
        elif kind == "tar":
            target = workdir / "bag"
            extract_tar(path, target)
        elif kind == "xml":
            return _open_eep(
                path,
                workdir,
                max_total=settings.LANTAI_ZIP_MAX_BYTES,
                max_files=settings.LANTAI_ZIP_MAX_FILES,
            )
        else:
            raise SipError(
                _("无法识别的归档信息包格式（应为 BagIt 包或 DA/T 48 封装包）"),
                [{"code": "format", "detail": path.name}],
            )
    except UnsafeArchiveError as exc:
        shutil.rmtree(workdir / "bag", ignore_errors=True)
        raise SipError(str(exc), [{"code": "archive", "detail": str(exc)}]) from exc
    package = _open_bag(_find_bag_root(target))
    package.source_name = path.name
    return package


def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    for pattern in ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


__all__ = [
    "PurePosixPath",
    "SipError",
    "SipFile",
    "SipPackage",
    "hash_file",
    "inspect_bag",
    "metadata_to_item_data",
    "open_sip",
    "validate_bag",
]
