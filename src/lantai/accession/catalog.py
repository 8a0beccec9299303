"""Reading transfer catalogs 移交目录: .xlsx, .xls and .csv, their encodings and headers.

A unit's catalog (归档文件目录, 案卷目录 or 卷内目录) is read as a stream of rows, each a
``{field: text}`` dict keyed by Lantai's field names (``FIELDS``). Headers are recognised from
the common Chinese column names; a unit's own names are mapped by hand and saved per unit
(``ColumnMapping``).

Readers:

* .xlsx through python-calamine (Rust, fast) while the sheet fits comfortably in memory, and a
  streaming XML reader above ``LANTAI_CATALOG_CALAMINE_MAX_ROWS`` rows, so a million-row
  catalog goes through with bounded memory. Before either, the package itself is checked
  (entries streamed with their real sizes counted, so a zip bomb dressed as .xlsx is refused)
  and the sheet's cells holding formulas are located.
* .xls (BIFF) through python-calamine.
* .csv in UTF-8, UTF-8 with BOM, UTF-16 with BOM, or GBK/GB18030 (what Excel in China saves);
  a file mixing UTF-8 and GBK lines is refused with the first line of each.

Every cell comes out as text (numbers without a trailing ".0", dates as YYYY-MM-DD); checking
the text is ``checks``' job.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import iterparse

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

#: Largest cell accepted while reading (characters). Longer cells are cut here and reported by
#: the checks as too long; a CSV field beyond it stops the reading with a structure error.
MAX_CELL_CHARS = 32_767
#: Rows searched from the top for the header row (a title row "归档文件目录" often comes first).
HEADER_SEARCH_ROWS = 20


class CatalogError(ValueError):
    """A catalog that cannot be read at all (corrupt, empty, header only, unknown encoding);
    the message is Chinese and says what to do."""

    def __init__(self, message: str, *, row: int | None = None, column: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class FieldSpec:
    label: Any
    required: bool = False
    help: Any = ""


#: Lantai's catalog fields: field → label, whether a row needs it, and a hint for the mapping
#: screen. "Required" parts (门类, 年度, 保管期限, 件号/案卷号) may also come from the 档号.
FIELDS: dict[str, FieldSpec] = {
    "reference_code": FieldSpec(gettext_lazy("档号"), help=gettext_lazy("缺省时由各项组成")),
    "fonds": FieldSpec(gettext_lazy("全宗号"), help=gettext_lazy("缺省为批次的全宗")),
    "category": FieldSpec(gettext_lazy("门类"), True, gettext_lazy("代码或名称，可取自档号")),
    "year": FieldSpec(gettext_lazy("年度"), True, gettext_lazy("可取自档号或日期")),
    "retention": FieldSpec(gettext_lazy("保管期限"), True, gettext_lazy("可取自档号")),
    "series": FieldSpec(gettext_lazy("机构(问题)"), help=gettext_lazy("代码或名称")),
    "catalog_no": FieldSpec(gettext_lazy("目录号")),
    "volume_no": FieldSpec(gettext_lazy("案卷号"), help=gettext_lazy("案卷目录、卷内目录")),
    "volume_ref": FieldSpec(gettext_lazy("所属案卷档号"), help=gettext_lazy("卷内目录")),
    "volume_title": FieldSpec(gettext_lazy("案卷题名"), help=gettext_lazy("卷内目录新建案卷")),
    "item_no": FieldSpec(gettext_lazy("件号"), True, gettext_lazy("卷内为顺序号，可取自档号")),
    "title": FieldSpec(gettext_lazy("题名"), True),
    "responsible": FieldSpec(gettext_lazy("责任者")),
    "doc_number": FieldSpec(gettext_lazy("文号")),
    "date": FieldSpec(gettext_lazy("日期")),
    "date_start": FieldSpec(gettext_lazy("起始日期")),
    "date_end": FieldSpec(gettext_lazy("终止日期")),
    "pages": FieldSpec(gettext_lazy("页数")),
    "classification": FieldSpec(gettext_lazy("密级")),
    "carrier": FieldSpec(gettext_lazy("载体")),
    "keywords": FieldSpec(gettext_lazy("主题词")),
    "notes": FieldSpec(gettext_lazy("备注")),
    "file": FieldSpec(gettext_lazy("电子文件"), help=gettext_lazy("文件名或包内路径")),
}

#: Common Chinese (and a few English) header names → field. Keys are normalised (``_norm``).
SYNONYMS: dict[str, str] = {}
for _field, _names in {
    "reference_code": ["档号", "档案号", "档号编号", "referencecode", "refcode"],
    "fonds": ["全宗号", "全宗", "全宗代码", "全宗编号"],
    "category": ["门类", "门类代码", "档案门类", "档案类别", "类别"],
    "year": ["年度", "归档年度", "年份", "year"],
    "retention": ["保管期限", "期限", "保管年限"],
    "series": ["机构问题", "机构(问题)", "机构（问题）", "机构问题代码", "机构", "问题", "部门"],
    "catalog_no": ["目录号"],
    "volume_no": ["案卷号", "卷号"],
    "volume_ref": ["案卷档号", "所属案卷档号", "所属案卷"],
    "volume_title": ["案卷题名", "案卷标题"],
    "item_no": ["件号", "顺序号", "卷内顺序号", "卷内件号"],
    "title": ["题名", "文件题名", "标题", "题目", "文件标题", "title"],
    "responsible": ["责任者", "责任人", "发文机关", "作者", "发文单位"],
    "doc_number": ["文号", "文件编号", "发文字号", "发文号"],
    "date": ["日期", "成文日期", "形成日期", "文件日期", "发文日期", "时间", "date"],
    "date_start": ["起始日期", "起日期", "开始日期", "起始时间"],
    "date_end": ["终止日期", "止日期", "结束日期", "终止时间"],
    "pages": ["页数", "总页数", "张数", "pages"],
    "classification": ["密级"],
    "carrier": ["载体", "载体类型", "载体形式"],
    "keywords": ["主题词", "关键词", "关键字"],
    "notes": ["备注", "附注", "说明"],
    "file": ["电子文件", "电子文件名", "文件名", "文件路径", "原文", "原文文件", "电子文件路径"],
}.items():
    for _name in _names:
        SYNONYMS["".join(_name.split()).replace("（", "(").replace("）", ")").lower()] = _field
        SYNONYMS[_name.replace("(", "").replace(")", "").replace("（", "").replace("）", "")] = (
            _field
        )


def _norm(header: str) -> str:
    """Header text compared without spaces, line breaks, full-width brackets, required-field
    stars or ASCII case: "机构（问题）*" and "机构(问题)" are the same column."""
    text = "".join(str(header).split()).replace("（", "(").replace("）", ")")
    text = text.strip("*＊:：").lower()
    return text


def recognise_headers(headers: list[str]) -> dict[str, str]:
    """{header: field} for the headers recognised among ``headers``; the first column wins when
    two name the same field. Unrecognised headers are left out (ignored columns)."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        if not header:
            continue
        key = _norm(header)
        target = SYNONYMS.get(key) or SYNONYMS.get(key.replace("(", "").replace(")", ""))
        if target and target not in taken:
            mapping[header] = target
            taken.add(target)
    return mapping


def clean_mapping(mapping: dict) -> dict[str, str]:
    """Check a hand-made mapping {header: field or ""}: known fields, each field once.
    Raises ValidationError({"mapping": [...]})."""
    if not isinstance(mapping, dict):
        raise ValidationError({"mapping": [_("列对应关系格式不正确")]})
    cleaned: dict[str, str] = {}
    errors: list[str] = []
    seen: dict[str, str] = {}
    for header, target in mapping.items():
        header = str(header)
        target = "" if target is None else str(target).strip()
        if target and target not in FIELDS:
            errors.append(_("列“%(h)s”对应的字段“%(f)s”不存在") % {"h": header, "f": target})
            continue
        if target and target in seen:
            errors.append(
                _("列“%(a)s”和“%(b)s”都对应到“%(f)s”")
                % {"a": seen[target], "b": header, "f": FIELDS[target].label}
            )
            continue
        if target:
            seen[target] = header
        cleaned[header] = target
    if errors:
        raise ValidationError({"mapping": errors})
    return cleaned


def detect_kind(fields: set[str]) -> str:
    """ "item" (归档文件目录), "volume" (案卷目录) or "volume_items" (卷内目录)."""
    has_item = "item_no" in fields
    has_volume = bool(fields & {"volume_no", "volume_ref"})
    if has_item and has_volume:
        return "volume_items"
    if has_volume:
        return "volume"
    if "reference_code" in fields or has_item:
        return "item"
    if "volume_title" in fields:
        return "volume"
    return "item"


# --- cell values ----------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as text: whole numbers without ".0", dates as YYYY-MM-DD, None as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


# --- the catalog ----------------------------------------------------------------------------


@dataclass
class Catalog:
    """A readable catalog: where its header row is, how headers map to fields, and its rows.

    ``iter_rows()`` yields ``(row_number, {field: text})`` for every non-empty data row
    (row numbers as the spreadsheet shows them, 1-based). Cells with formulas and cells cut at
    ``MAX_CELL_CHARS`` are reported through ``cell_flags`` while iterating.
    """

    path: Path
    format: str
    headers: list[str]
    mapping: dict[str, str]
    encoding: str = ""
    header_row: int = 1
    kind: str = "item"
    sheet: str = ""
    #: {(row, header): "formula" | "too_long"} found so far while iterating.
    cell_flags: dict[tuple[int, str], str] = field(default_factory=dict)
    _reader: Any = None

    @property
    def fields(self) -> set[str]:
        return {f for f in self.mapping.values() if f}

    def column_of(self, target: str) -> str:
        """The header mapped to ``target`` (for messages), else the field's label."""
        for header, mapped in self.mapping.items():
            if mapped == target:
                return header
        spec = FIELDS.get(target)
        return str(spec.label) if spec else target

    def iter_raw(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells as text) of every data row below the header, empty ones
        skipped."""
        for number, cells in self._reader(self):
            if number <= self.header_row:
                continue
            if not any(cell.strip() for cell in cells):
                continue
            yield number, cells

    def iter_rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        positions = [
            (index, self.mapping.get(header, ""))
            for index, header in enumerate(self.headers)
            if self.mapping.get(header)
        ]
        for number, cells in self.iter_raw():
            width = len(cells)
            yield (
                number,
                {target: cells[index] if index < width else "" for index, target in positions},
            )


def _check_size(path: Path) -> int:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CatalogError(_("目录文件无法读取：%(e)s") % {"e": exc.strerror or exc}) from exc
    if size == 0:
        raise CatalogError(_("目录文件是空文件（0字节），请检查后重新上传"))
    limit = int(getattr(settings, "LANTAI_CATALOG_MAX_BYTES", 1 << 30))
    if size > limit:
        raise CatalogError(
            _("目录文件过大（%(n)d MB），上限为 %(max)d MB") % {"n": size >> 20, "max": limit >> 20}
        )
    return size


def read_catalog(path: Path, *, mapping: dict | None = None) -> Catalog:
    """Open a catalog and find its header row. ``mapping`` ({header: field or ""}) overrides
    the recognised names header by header. Raises CatalogError for an unreadable, corrupt or
    empty file, one without recognisable headers, or a header row with no rows below it."""
    path = Path(path)
    _check_size(path)
    with path.open("rb") as handle:
        magic = handle.read(8)
    suffix = path.suffix.lower()
    if magic.startswith(b"PK\x03\x04") or (suffix in (".xlsx", ".xlsm") and magic[:2] == b"PK"):
        catalog = _open_xlsx(path, mapping=mapping)
    elif magic.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        catalog = _open_xls(path, mapping=mapping)
    elif suffix in (".xlsx", ".xlsm", ".xls"):
        raise CatalogError(
            _("文件“%(n)s”不是有效的 Excel 工作簿（文件已损坏或扩展名不对）") % {"n": path.name}
        )
    else:
        catalog = _open_csv(path)
    _find_header(catalog, mapping)
    return catalog


def peek_headers(path: Path, *, mapping: dict | None = None) -> list[str]:
    """The headers of a catalog for the mapping editor: the header row ``read_catalog`` would
    choose, or — when no column name is recognised, which is exactly when a unit needs a
    mapping — the first non-empty row. Reads only the first rows (a large .xlsx is streamed,
    never loaded whole), so the editor answers at once. Raises CatalogError for a file that
    cannot be read at all."""
    path = Path(path)
    _check_size(path)
    with path.open("rb") as handle:
        magic = handle.read(8)
    suffix = path.suffix.lower()
    if magic.startswith(b"PK\x03\x04") or (suffix in (".xlsx", ".xlsm") and magic[:2] == b"PK"):
        catalog = _open_xlsx(path, stream=True, mapping=mapping)
    elif magic.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        catalog = _open_xls(path, mapping=mapping)
    elif suffix in (".xlsx", ".xlsm", ".xls"):
        raise CatalogError(
            _("文件“%(n)s”不是有效的 Excel 工作簿（文件已损坏或扩展名不对）") % {"n": path.name}
        )
    else:
        catalog = _open_csv(path)
    given = clean_mapping(mapping) if mapping else {}
    first: list[str] | None = None
    best: tuple[int, list[str]] | None = None
    seen = 0
    rows = catalog._reader(catalog)
    try:
        for _number, cells in rows:
            if not any(cell.strip() for cell in cells):
                continue
            headers = [cell.strip()[:100] for cell in cells]
            while headers and not headers[-1]:
                headers.pop()
            if first is None:
                first = headers
            score = len(recognise_headers(headers)) + sum(1 for h in headers if given.get(h))
            if score >= 2 and (best is None or score > best[0]):
                best = (score, headers)
            seen += 1
            if seen >= HEADER_SEARCH_ROWS or (best is not None and best[0] >= 4):
                break
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    chosen = best[1] if best is not None else (first or [])
    unique: list[str] = []
    for header in chosen:
        if header and header not in unique:
            unique.append(header)
    return unique


def _find_header(catalog: Catalog, mapping: dict | None) -> None:
    given = clean_mapping(mapping) if mapping else {}
    first_rows: list[tuple[int, list[str]]] = []
    best: tuple[int, int, list[str]] | None = None
    for number, cells in catalog._reader(catalog):
        if not any(cell.strip() for cell in cells):
            continue
        first_rows.append((number, cells))
        headers = [cell.strip() for cell in cells]
        score = len(recognise_headers(headers)) + sum(1 for h in headers if given.get(h))
        if score >= 2 and (best is None or score > best[0]):
            best = (score, number, headers)
            if score >= 4:
                break
        if len(first_rows) >= HEADER_SEARCH_ROWS:
            break
    if not first_rows:
        raise CatalogError(_("目录中没有任何内容（空表）"))
    if best is None:
        found = "、".join(h for h in first_rows[0][1] if h.strip())[:200]
        raise CatalogError(
            _(
                "找不到表头：前%(n)d行中没有可识别的列名（如 档号、题名、年度、保管期限、件号）。"
                "首行为：%(found)s。请检查表头或设置列对应关系。"
            )
            % {"n": HEADER_SEARCH_ROWS, "found": found or _("（空）")}
        )
    _score, header_row, headers = best
    # Blank headers get a name so their cells can still be shown in messages and the report.
    headers = [h or _("第%(n)d列") % {"n": i + 1} for i, h in enumerate(headers)]
    seen: dict[str, int] = {}
    for index, header in enumerate(headers):
        if header in seen:
            seen[header] += 1
            headers[index] = f"{header}({seen[header]})"
        else:
            seen[header] = 1
    recognised = recognise_headers(headers)
    effective = {h: f for h, f in recognised.items() if h not in given}
    for header, target in given.items():
        if header in headers and target:
            effective = {h: f for h, f in effective.items() if f != target}
            effective[header] = target
    effective = clean_mapping(effective)
    catalog.headers = headers
    catalog.header_row = header_row
    catalog.mapping = {h: effective.get(h, "") for h in headers}
    if "title" not in catalog.fields and "volume_title" in catalog.fields:
        # 案卷目录: the volume's title is the row's title.
        for header, target in catalog.mapping.items():
            if target == "volume_title":
                catalog.mapping[header] = "title"
    catalog.kind = detect_kind(catalog.fields)
    if not any(True for _row in catalog.iter_raw()):
        raise CatalogError(_("目录只有表头，没有任何条目"), row=header_row)


# --- .xlsx ----------------------------------------------------------------------------------

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL_REF = re.compile(r"([A-Z]+)([0-9]+)")
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+[0-9]+:?[A-Z]*([0-9]*)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")
_CELL = re.compile(rb"<(?:\w+:)?c[ >/]")


def _xml_events(source, events=("end",)):
    """ElementTree's iterparse over untrusted workbook XML. Safe here: ElementTree never
    fetches external entities, and expat ≥ 2.4 (Python 3.11 ships 2.5) stops entity-expansion
    bombs; the package's real unpacked sizes are capped before any parse."""
    return iterparse(source, events=events)  # noqa: S314


def _col_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def _limits() -> tuple[int, int]:
    # Spreadsheet XML compresses far better than scanned files (repeated tags), hence limits
    # of its own; a sheet past LANTAI_CATALOG_CALAMINE_MAX_BYTES is read as a stream anyway.
    total = int(getattr(settings, "LANTAI_CATALOG_MAX_UNPACKED", 2 << 30))
    ratio = int(getattr(settings, "LANTAI_CATALOG_MAX_RATIO", 1000))
    return total, ratio


@dataclass
class _SheetInfo:
    """One worksheet of an .xlsx package, as the scan found it."""

    member: str
    name: str
    rows: int = 0
    size: int = 0
    has_cells: bool = False
    has_formula: bool = False


def _sheet_members(archive: zipfile.ZipFile) -> list[_SheetInfo]:
    """The workbook's worksheets in their order (member name and sheet name)."""
    sheets: list[_SheetInfo] = []
    try:
        with archive.open("xl/workbook.xml") as handle:
            workbook = handle.read(4 << 20)
        rels = {}
        with contextlib.suppress(KeyError), archive.open("xl/_rels/workbook.xml.rels") as handle:
            for _event, el in _xml_events(handle):
                if el.tag == _PKG_REL_NS + "Relationship":
                    target = el.get("Target", "")
                    target = target.lstrip("/")
                    if not target.startswith("xl/"):
                        target = "xl/" + target
                    rels[el.get("Id")] = target
        for _event, el in _xml_events(io.BytesIO(workbook)):
            if el.tag == _NS + "sheet":
                rid = el.get(_REL_NS + "id")
                member = rels.get(rid, "xl/worksheets/sheet1.xml" if not sheets else "")
                # Chart sheets and dialog sheets hold no rows.
                if member and "chartsheets/" not in member and "dialogsheets/" not in member:
                    sheets.append(_SheetInfo(member=member, name=el.get("name", "")))
    except (KeyError, zipfile.BadZipFile, OSError, SyntaxError) as exc:
        raise CatalogError(_("Excel 工作簿已损坏：缺少工作簿结构（%(e)s）") % {"e": exc}) from exc
    if not sheets:
        raise CatalogError(_("Excel 工作簿中没有工作表"))
    return sheets


def _scan_xlsx(path: Path) -> list[_SheetInfo]:
    """Check the package and describe its worksheets: declared rows, unpacked size, whether
    they hold any cell and any formula.

    Every entry is decompressed as a stream with its real size counted against the limits
    (a zip bomb stops here, before any reader inflates it).
    """
    max_total, max_ratio = _limits()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise CatalogError(
            _("文件“%(n)s”不是有效的 Excel 工作簿（压缩结构已损坏）") % {"n": path.name}
        ) from exc
    with archive:
        sheets = _sheet_members(archive)
        by_member = {sheet.member: sheet for sheet in sheets}
        total = 0
        for info in archive.infolist():
            if info.flag_bits & 0x1:
                raise CatalogError(_("Excel 工作簿已加密，请取消密码后重新上传"))
            sheet = by_member.get(info.filename)
            seen = 0
            head = b""
            tail = b""
            try:
                with archive.open(info) as handle:
                    while chunk := handle.read(1 << 20):
                        seen += len(chunk)
                        total += len(chunk)
                        if total > max_total or seen > max(info.compress_size, 1) * max_ratio + (
                            1 << 20
                        ):
                            raise CatalogError(
                                _(
                                    "Excel 工作簿解压后过大（条目 %(e)s 压缩比异常），"
                                    "疑似压缩炸弹，已拒绝"
                                )
                                % {"e": info.filename[:80]}
                            )
                        if sheet is not None:
                            if not head:
                                head = chunk[:8192]
                            joined = tail + chunk
                            if not sheet.has_cells:
                                sheet.has_cells = bool(_CELL.search(joined))
                            # "<f" is rare in sheet XML: a plain substring test first.
                            if not sheet.has_formula and (b"<f" in joined or b":f" in joined):
                                sheet.has_formula = bool(_FORMULA.search(joined))
                            tail = chunk[-16:]
            except CatalogError:
                raise
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise CatalogError(
                    _("Excel 工作簿已损坏：条目 %(e)s 无法解压（%(r)s）")
                    % {"e": info.filename[:80], "r": exc}
                ) from exc
            if sheet is not None:
                sheet.size = seen
                match = _DIMENSION.search(head)
                if match and match.group(1):
                    sheet.rows = int(match.group(1))
        if not any(sheet.size for sheet in sheets):
            raise CatalogError(_("Excel 工作簿中没有工作表内容"))
    return sheets


def _formula_cells(path: Path, member: str) -> set[tuple[int, int]]:
    """{(row, column index)} of the sheet's cells that hold a formula."""
    formulas: set[tuple[int, int]] = set()
    with zipfile.ZipFile(path) as archive, archive.open(member) as handle:
        for _event, el in _xml_events(handle):
            if el.tag == _NS + "c":
                if el.find(_NS + "f") is not None:
                    match = _CELL_REF.match(el.get("r", ""))
                    if match:
                        formulas.add((int(match.group(2)), _col_index(match.group(1))))
                el.clear()
            elif el.tag == _NS + "row":
                el.clear()
    return formulas


def _header_score(rows: Iterator[tuple[int, list[str]]], given: dict[str, str]) -> int:
    """The best header score among the first non-empty rows (how many columns are named)."""
    best = seen = 0
    try:
        for _number, cells in rows:
            if not any(cell.strip() for cell in cells):
                continue
            headers = [cell.strip() for cell in cells]
            score = len(recognise_headers(headers)) + sum(1 for h in headers if given.get(h))
            best = max(best, score)
            seen += 1
            if seen >= HEADER_SEARCH_ROWS or best >= 4:
                break
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    return best


def _choose_sheet(path: Path, sheets: list[_SheetInfo], mapping: dict | None) -> _SheetInfo:
    """The sheet that holds the catalog: of the sheets with any cell, the first whose first
    rows have a recognisable header (a "填写说明" sheet often comes first), else the first of
    them. A workbook with a single such sheet is not looked into here."""
    candidates = [sheet for sheet in sheets if sheet.has_cells] or [
        next((sheet for sheet in sheets if sheet.size), sheets[0])
    ]
    if len(candidates) == 1:
        return candidates[0]
    given = clean_mapping(mapping) if mapping else {}
    cache: dict = {}
    for sheet in candidates:
        if _header_score(_stream_xlsx(path, sheet.member, cache), given) >= 2:
            return sheet
    return candidates[0]


def _use_streaming(rows: int, sheet_bytes: int) -> bool:
    max_rows = int(getattr(settings, "LANTAI_CATALOG_CALAMINE_MAX_ROWS", 400_000))
    max_bytes = int(getattr(settings, "LANTAI_CATALOG_CALAMINE_MAX_BYTES", 300 << 20))
    return rows > max_rows or sheet_bytes > max_bytes


def _open_xlsx(path: Path, *, stream: bool = False, mapping: dict | None = None) -> Catalog:
    """The workbook's catalog sheet (``_choose_sheet``) as a Catalog; ``stream`` forces the
    streaming reader (for a look at the first rows only)."""
    sheets = _scan_xlsx(path)
    chosen = _choose_sheet(path, sheets, mapping)
    member = chosen.member
    formulas = _formula_cells(path, member) if chosen.has_formula else set()
    catalog = Catalog(path=path, format="xlsx", headers=[], mapping={}, sheet=chosen.name)
    if stream or _use_streaming(chosen.rows, chosen.size):
        cache: dict = {}

        def reader(cat: Catalog) -> Iterator[tuple[int, list[str]]]:
            yield from _flagged(cat, _stream_xlsx(path, member, cache), formulas)

    else:
        sheet = _calamine_sheet(path, name=chosen.name)

        def reader(cat: Catalog) -> Iterator[tuple[int, list[str]]]:
            yield from _flagged(cat, _calamine_rows(sheet), formulas)

    catalog._reader = reader
    return catalog


def _flagged(catalog: Catalog, rows, formulas: set[tuple[int, int]]):
    """Cut over-long cells and record them and formula cells in ``catalog.cell_flags``."""
    for number, cells in rows:
        if not formulas and (not cells or max(map(len, cells)) <= MAX_CELL_CHARS):
            yield number, cells
            continue
        for index, cell in enumerate(cells):
            if len(cell) > MAX_CELL_CHARS:
                cells[index] = cell[:MAX_CELL_CHARS]
                if number > catalog.header_row and index < len(catalog.headers):
                    catalog.cell_flags[(number, catalog.headers[index])] = "too_long"
            if (
                formulas
                and (number, index) in formulas
                and number > catalog.header_row
                and index < len(catalog.headers)
            ):
                catalog.cell_flags[(number, catalog.headers[index])] = "formula"
        yield number, cells


def _calamine_sheet(path: Path, *, name: str | None = None, mapping: dict | None = None):
    """A sheet loaded once (calamine reads a sheet whole) and kept for the header search and
    the rows that follow: the sheet ``name`` when given (and present), else — as for .xls —
    the first non-empty sheet whose first rows have a recognisable header, else the first
    non-empty sheet."""
    from python_calamine import CalamineWorkbook

    try:
        with CalamineWorkbook.from_path(str(path)) as workbook:
            names = list(workbook.sheet_names)
            if not names:
                raise CatalogError(_("Excel 工作簿中没有工作表"))
            if name and name in names:
                return workbook.get_sheet_by_name(name)
            given = clean_mapping(mapping) if mapping else {}
            first = None
            for index in range(len(names)):
                sheet = workbook.get_sheet_by_index(index)
                if not sheet.height:
                    continue
                if first is None:
                    first = sheet
                if _header_score(_calamine_rows(sheet), given) >= 2:
                    return sheet
            return first
    except CatalogError:
        raise
    except Exception as exc:  # calamine raises its own error types for every corruption
        raise CatalogError(
            _("Excel 工作簿已损坏，无法读取（%(e)s）") % {"e": str(exc)[:200]}
        ) from exc


def _calamine_rows(sheet) -> Iterator[tuple[int, list[str]]]:
    if sheet is None:
        return
    start = sheet.start or (0, 0)
    first_row, first_col = start[0], start[1]
    pad = [""] * first_col
    for offset, values in enumerate(sheet.iter_rows()):
        cells = [v if v.__class__ is str else cell_text(v) for v in values]
        yield first_row + offset + 1, [*pad, *cells] if pad else cells


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    strings: list[str] = []
    try:
        handle = archive.open("xl/sharedStrings.xml")
    except KeyError:
        return strings
    with handle:
        for _event, el in _xml_events(handle):
            if el.tag == _NS + "si":
                strings.append("".join(t.text or "" for t in el.iter(_NS + "t")))
                el.clear()
    return strings


_DATE_BUILTIN = {14, 15, 16, 17, 22, 27, 28, 29, 30, 31, 34, 35, 36, 50, 51, 52, 53, 54, 55}
_DATE_FORMAT = re.compile(r"(?<!\\)[ymdYMD]")


def _date_styles(archive: zipfile.ZipFile) -> set[int]:
    """Indexes of cell styles that show a number as a date."""
    try:
        handle = archive.open("xl/styles.xml")
    except KeyError:
        return set()
    custom: dict[int, str] = {}
    styles: list[int] = []
    in_xfs = False
    with handle:
        for event, el in _xml_events(handle, events=("start", "end")):
            if el.tag == _NS + "cellXfs":
                in_xfs = event == "start"
            elif event == "end" and el.tag == _NS + "numFmt":
                custom[int(el.get("numFmtId", "0"))] = el.get("formatCode", "")
            elif event == "end" and el.tag == _NS + "xf" and in_xfs:
                styles.append(int(el.get("numFmtId", "0")))
    dates = set()
    for index, fmt in enumerate(styles):
        code = re.sub(r'"[^"]*"|\[[^\]]*\]', "", custom.get(fmt, ""))
        if fmt in _DATE_BUILTIN or (fmt in custom and _DATE_FORMAT.search(code)):
            dates.add(index)
    return dates


_EPOCH = dt.datetime(1899, 12, 30)


def _stream_xlsx(
    path: Path, member: str, cache: dict | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Rows of a large sheet, parsed as a stream (memory does not grow with the rows)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise CatalogError(_("Excel 工作簿已损坏（%(e)s）") % {"e": exc}) from exc
    with archive:
        if cache is None:
            cache = {}
        if "strings" not in cache:
            cache["strings"] = _shared_strings(archive)
            cache["dates"] = _date_styles(archive)
        strings, dates = cache["strings"], cache["dates"]
        c_tag, v_tag, is_tag, t_tag, row_tag = (
            _NS + "c",
            _NS + "v",
            _NS + "is",
            _NS + "t",
            _NS + "row",
        )
        next_row = 1
        try:
            with archive.open(member) as handle:
                for _event, el in _xml_events(handle):
                    if el.tag != row_tag:
                        continue
                    number = int(el.get("r") or next_row)
                    next_row = number + 1
                    cells: list[str] = []
                    for col, c in enumerate(el.iter(c_tag)):
                        ref = c.get("r")
                        index = col
                        if ref:
                            match = _CELL_REF.match(ref)
                            if match:
                                index = _col_index(match.group(1))
                        while len(cells) < index:
                            cells.append("")
                        kind = c.get("t", "n")
                        if kind == "inlineStr":
                            node = c.find(is_tag)
                            text = (
                                ""
                                if node is None
                                else "".join(t.text or "" for t in node.iter(t_tag))
                            )
                        else:
                            v = c.find(v_tag)
                            raw = "" if v is None or v.text is None else v.text
                            if kind == "s" and raw:
                                position = int(raw)
                                text = strings[position] if position < len(strings) else ""
                            elif kind == "b":
                                text = "是" if raw == "1" else "否"
                            elif kind in ("n", "") and raw:
                                number_value = float(raw)
                                style = int(c.get("s", "0"))
                                if style in dates:
                                    value = _EPOCH + dt.timedelta(days=number_value)
                                    text = cell_text(value)
                                else:
                                    text = cell_text(number_value)
                            else:
                                text = raw
                        cells.append(text)
                    el.clear()
                    yield number, cells
        except SyntaxError as exc:
            raise CatalogError(
                _("Excel 工作表的 XML 已损坏（%(e)s）") % {"e": str(exc)[:200]}
            ) from exc


# --- .xls -----------------------------------------------------------------------------------


def _open_xls(path: Path, *, mapping: dict | None = None) -> Catalog:
    sheet = _calamine_sheet(path, mapping=mapping)
    catalog = Catalog(path=path, format="xls", headers=[], mapping={})

    def reader(cat: Catalog) -> Iterator[tuple[int, list[str]]]:
        yield from _flagged(cat, _calamine_rows(sheet), set())

    catalog._reader = reader
    return catalog


# --- .csv -----------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """utf-8-sig, utf-16, utf-8 or gb18030 (a superset of GBK). A file whose lines are partly
    UTF-8 and partly GBK is refused, naming a line of each."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        else:
            encoding = "utf-8"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            pass
        # Not UTF-8 throughout: GBK/GB18030, unless some lines are UTF-8 (mixed).
        handle.seek(0)
        first_utf8 = first_other = None
        for number, line in enumerate(handle, 1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                if first_utf8 is None:
                    first_utf8 = number
            except UnicodeDecodeError:
                if first_other is None:
                    first_other = number
                try:
                    line.decode("gb18030")
                except UnicodeDecodeError as exc:
                    raise CatalogError(
                        _("第%(n)d行的编码无法识别（既不是 UTF-8 也不是 GBK/GB18030）")
                        % {"n": number},
                        row=number,
                    ) from exc
            if first_utf8 is not None and first_other is not None:
                raise CatalogError(
                    _(
                        "文件混用了多种编码：第%(a)d行是 UTF-8，第%(b)d行是 GBK。"
                        "请用同一种编码（建议 UTF-8）另存后重新上传"
                    )
                    % {"a": first_utf8, "b": first_other},
                    row=max(first_utf8, first_other),
                )
    return "gb18030"


def _sniff_delimiter(sample: str) -> str:
    first = sample.splitlines()[0] if sample else ""
    counts = {d: first.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _open_csv(path: Path) -> Catalog:
    encoding = detect_encoding(path)
    with path.open("r", encoding=encoding, newline="") as handle:
        sample = handle.read(64 * 1024)
    if not sample.strip():
        raise CatalogError(_("目录中没有任何内容（空表）"))
    if "\x00" in sample:
        raise CatalogError(_("文件含有空字符，不是文本格式的 CSV 目录（可能是损坏的文件）"))
    delimiter = _sniff_delimiter(sample)
    catalog = Catalog(path=path, format="csv", headers=[], mapping={}, encoding=encoding)

    def reader(cat: Catalog) -> Iterator[tuple[int, list[str]]]:
        csv.field_size_limit(MAX_CELL_CHARS * 4)
        with path.open("r", encoding=encoding, newline="") as handle:
            rows = csv.reader(handle, delimiter=delimiter)
            number = 0
            while True:
                try:
                    cells = next(rows)
                except StopIteration:
                    return
                except csv.Error as exc:
                    line = rows.line_num
                    raise CatalogError(
                        _("第%(n)d行无法解析：%(e)s（单元格过大或引号不成对）")
                        % {"n": line, "e": exc},
                        row=line,
                    ) from exc
                number += 1
                if "\x00" in "".join(cells):
                    raise CatalogError(
                        _("第%(n)d行含有空字符，文件可能已损坏") % {"n": number}, row=number
                    )
                for index, cell in enumerate(cells):
                    if index < len(cat.headers) and number > cat.header_row:
                        if len(cell) > MAX_CELL_CHARS:
                            cells[index] = cell[:MAX_CELL_CHARS]
                            cat.cell_flags[(number, cat.headers[index])] = "too_long"
                        elif cell[:1] == "=":
                            cat.cell_flags[(number, cat.headers[index])] = "formula"
                yield number, cells

    catalog._reader = reader
    return catalog


# --- saved mappings and batch folders ---------------------------------------------------------


def batch_dir(batch) -> Path:
    """The batch's own folder (``DATA_DIR/accession/<batch id>``): uploads, extracted files and
    reports of this batch are written below it and nowhere else."""
    base = Path(settings.DATA_DIR) / "accession"
    path = base / f"batch-{int(batch.pk)}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def unit_mapping(unit) -> dict[str, str]:
    """The unit's saved column mappings merged (the most recently saved wins per header)."""
    from lantai.accession.models import ColumnMapping

    merged: dict[str, str] = {}
    if unit is None:
        return merged
    for saved in ColumnMapping.objects.filter(unit=unit).order_by("updated_at", "pk"):
        if isinstance(saved.mapping, dict):
            merged.update({str(k): str(v or "") for k, v in saved.mapping.items()})
    return merged


__all__ = [
    "FIELDS",
    "Catalog",
    "CatalogError",
    "batch_dir",
    "cell_text",
    "clean_mapping",
    "detect_encoding",
    "peek_headers",
    "read_catalog",
    "recognise_headers",
    "unit_mapping",
]
