"""The catalog check 目录检测: every problem of a transfer catalog at once.

``check_upload`` reads an upload's catalog as a stream and checks every row — required fields,
dates that cannot exist, 档号 that is malformed or disagrees with its row, duplicates within
the batch and against holdings, gaps in 件号, unknown codes, values, lengths, control
characters, formulas — and the files that came with it (referenced files missing, files no row
references, empty or unreadable files). Each finding becomes a ``BatchIssue`` with row, column,
value and reason.

The same engine (``Engine``) drives the import (``importer.accept_upload``): it yields the
cleaned rows chunk by chunk, so an acceptance checks everything again inside its transaction
and the rules cannot drift apart. The per-field rules are holdings' own
(``holdings.validators``, ``holdings.refcode``), applied to preloaded code tables instead of
one query per row, and duplicates are looked up in holdings with one ``IN`` query per chunk.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Max
from django.utils.translation import gettext as _

from lantai.accession.catalog import Catalog, CatalogError, batch_dir, read_catalog, unit_mapping
from lantai.accession.models import BatchIssue, CatalogUpload, IssueKind, Severity
from lantai.holdings import refcode
from lantai.holdings import validators as check
from lantai.holdings.models import (
    Carrier,
    Category,
    Classification,
    Item,
    Retention,
    Series,
    Volume,
)

#: Rows per chunk: cleaned rows are checked against holdings and inserted this many at a time.
CHUNK = 5_000


def max_issues() -> int:
    """Issues stored per upload at most (the summary still counts all of them)."""
    return int(getattr(settings, "LANTAI_CATALOG_MAX_ISSUES", 100_000))


Progress = Callable[..., None] | None

# Single-line fields: line breaks and tabs typed inside a cell (Alt+Enter) become spaces;
# any other control character is an error. 备注 keeps its line breaks.
_LINEBREAKS = re.compile(r"[\t\r\n]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DIGITS = re.compile(r"[0-9]+")
_CATALOG_NO = re.compile(r"[A-Za-z0-9]{1,20}")
_DATE_FORMS = (
    re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})"),
    re.compile(r"(?P<y>[0-9]{4})[-/.](?P<m>[0-9]{1,2})[-/.](?P<d>[0-9]{1,2})(?:[ T].*)?"),
    re.compile(r"(?P<y>[0-9]{4})年(?P<m>[0-9]{1,2})月(?P<d>[0-9]{1,2})日?"),
)
_PARTIAL_DATE = re.compile(r"(?P<y>[0-9]{4})(?:(?P<m>[0-9]{2})00|0000)|(?P<y2>[0-9]{4})年?")

#: Labels and common spellings accepted for the choice fields (besides codes and labels).
_RETENTION_WORDS = {
    "永久": Retention.PERMANENT,
    "y": Retention.PERMANENT,
    "定期30年": Retention.D30,
    "30年": Retention.D30,
    "30": Retention.D30,
    "d30": Retention.D30,
    "定期10年": Retention.D10,
    "10年": Retention.D10,
    "10": Retention.D10,
    "d10": Retention.D10,
    "长期": Retention.LONG,
    "c": Retention.LONG,
    "短期": Retention.SHORT,
    "d": Retention.SHORT,
}
_CLASSIFICATION_WORDS = {"无": Classification.PUBLIC, "非密": Classification.PUBLIC}
_CARRIER_WORDS = {"纸": Carrier.PAPER, "电子文件": Carrier.ELECTRONIC}
_CLASSIFIED = {Classification.SECRET, Classification.CONFIDENTIAL, Classification.TOP_SECRET}
_MAX_LENGTH = {
    "title": 500,
    "volume_title": 500,
    "responsible": 200,
    "doc_number": 100,
    "keywords": 200,
    "file": 500,
    "notes": 5000,
    "reference_code": 100,
}
#: No length limit is below this: shorter cells skip the length checks.
_SHORT = min(_MAX_LENGTH.values())
#: Files that come with archives made on desktops and mean nothing.
_JUNK = {"thumbs.db", "desktop.ini", ".ds_store"}
_MAGIC = {
    ".pdf": (b"%PDF-",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
    ".ofd": (b"PK\x03\x04",),
    ".zip": (b"PK\x03\x04",),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
}


def _choice_map(choices, words: dict[str, str]) -> dict[str, str]:
    mapping = {}
    for code, label in choices.choices:
        mapping[code.lower()] = code
        mapping[str(label).lower()] = code
    mapping.update({k.lower(): v for k, v in words.items()})
    return mapping


# --- issues -----------------------------------------------------------------------------------


class IssueSink:
    """Collects findings: counts every one, stores them in bulk (``upload`` given) up to
    ``max_issues()``, and remembers the first few for exceptions."""

    def __init__(self, upload: CatalogUpload | None = None, limit: int | None = None) -> None:
        self.upload = upload
        self.limit = max_issues() if limit is None else limit
        self.errors = 0
        self.warnings = 0
        self.by_kind: dict[str, int] = defaultdict(int)
        self.stored = 0
        self.first: list[str] = []
        self._pending: list[BatchIssue] = []

    def add(
        self,
        row: int | None,
        column: str,
        value: Any,
        kind: str,
        message: str,
        severity: str = Severity.ERROR,
    ) -> None:
        if severity == Severity.ERROR:
            self.errors += 1
        else:
            self.warnings += 1
        self.by_kind[kind] += 1
        if len(self.first) < 20 and severity == Severity.ERROR:
            where = _("第%(n)d行") % {"n": row} if row else ""
            self.first.append(f"{where}{'“' + column + '”' if column else ''}：{message}")
        if self.upload is None or self.stored >= self.limit:
            return
        self.stored += 1
        text = "" if value is None else str(value)
        self._pending.append(
            BatchIssue(
                upload=self.upload,
                row=row,
                column=str(column)[:100],
                value=_CONTROL.sub("\ufffd", text[:200]),
                kind=kind,
                severity=severity,
                message=str(message)[:300],
            )
        )
        if len(self._pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            BatchIssue.objects.bulk_create(self._pending, batch_size=1000)
            self._pending = []

    def finish(self) -> None:
        dropped = self.errors + self.warnings - self.stored
        if self.upload is not None and dropped > 0:
            # Past the limit only the counts are kept; say so once.
            self._pending.append(
                BatchIssue(
                    upload=self.upload,
                    row=None,
                    kind=IssueKind.STRUCTURE,
                    severity=Severity.WARNING,
                    message=_("问题过多：仅列出前 %(n)d 条，另有 %(m)d 条未列出（汇总中已计入）")
                    % {"n": self.stored, "m": dropped},
                )
            )
        self.flush()

    def summary_counts(self) -> dict[str, Any]:
        return {"errors": self.errors, "warnings": self.warnings, "by_kind": dict(self.by_kind)}


# --- files -------------------------------------------------------------------------------------


@dataclass
class FileEntry:
    rel: str
    path: Path
    size: int = 0
    problem: str = ""
    used: bool = False
    #: The first catalog row that references the file (for the four-property findings).
    row: int | None = None


class FileIndex:
    """The files that came with a catalog, found by 档号: a file whose name (without
    extension) is the 档号, or any file in a folder named by the 档号, or the path a row's
    "电子文件" cell names."""

    def __init__(self, root: Path, paths: list[Path]) -> None:
        self.root = root
        self.entries: list[FileEntry] = []
        self.by_stem: dict[str, list[FileEntry]] = defaultdict(list)
        self.by_dir: dict[str, list[FileEntry]] = defaultdict(list)
        self.by_path: dict[str, FileEntry] = {}
        for path in sorted(paths):
            rel = path.relative_to(root).as_posix()
            parts = rel.split("/")
            if parts[-1].lower() in _JUNK or parts[-1].startswith(("._", "~$")):
                continue
            if any(p.startswith(".") or p == "__MACOSX" for p in parts):
                continue
            entry = FileEntry(rel=rel, path=path)
            entry.problem = self._inspect(entry)
            self.entries.append(entry)
            self.by_stem[Path(parts[-1]).stem].append(entry)
            for folder in parts[:-1]:
                self.by_dir[folder].append(entry)
            self.by_path[rel] = entry
            self.by_path.setdefault(parts[-1], entry)

    @staticmethod
    def _inspect(entry: FileEntry) -> str:
        try:
            entry.size = entry.path.stat().st_size
            with entry.path.open("rb") as handle:
                head = handle.read(16)
        except OSError as exc:
            return _("文件无法读取：%(e)s") % {"e": exc.strerror or exc}
        if entry.size == 0:
            return _("文件为空（0字节）")
        magic = _MAGIC.get(entry.path.suffix.lower())
        if magic and not head.startswith(magic):
            return _("文件内容与扩展名%(ext)s不符，可能已损坏") % {"ext": entry.path.suffix}
        return ""

    def for_code(self, code: str) -> list[FileEntry]:
        found = list(self.by_stem.get(code, ()))
        for entry in self.by_dir.get(code, ()):
            if entry not in found:
                found.append(entry)
        return found

    def named(self, name: str) -> FileEntry | None:
        name = name.replace("\\", "/").strip().lstrip("./")
        return self.by_path.get(name) or self.by_path.get(name.rsplit("/", 1)[-1])


def files_root(upload: CatalogUpload) -> Path:
    return batch_dir(upload.batch) / f"files-{upload.pk}"


def prepare_files(upload: CatalogUpload, *, reuse: bool = False) -> FileIndex | None:
    """Unpack the upload's ZIP (safely, into the batch's own folder) or list its folder.
    Raises CatalogError with the reason for an unsafe or broken archive."""
    if not upload.files_path:
        return None
    from lantai.core import safearchive

    source = Path(upload.files_path)
    try:
        if source.is_dir():
            return FileIndex(source, safearchive.list_folder(source))
        if not source.is_file():
            raise CatalogError(_("电子文件包不存在：%(n)s") % {"n": upload.files_name})
        dest = files_root(upload)
        if reuse and dest.is_dir():
            return FileIndex(dest, safearchive.list_folder(dest))
        if dest.exists():
            shutil.rmtree(dest)
        paths = safearchive.extract_zip(source, dest)
        return FileIndex(dest, paths)
    except safearchive.UnsafeArchiveError as exc:
        raise CatalogError(
            _("电子文件包“%(n)s”被拒绝：%(e)s") % {"n": upload.files_name, "e": exc}
        ) from exc
    except OSError as exc:
        raise CatalogError(
            _("电子文件包“%(n)s”无法读取：%(e)s") % {"n": upload.files_name, "e": exc}
        ) from exc


# --- rows --------------------------------------------------------------------------------------


@dataclass
class Row:
    """A checked row: its number, model field values, 档号 and files."""

    number: int
    values: dict[str, Any]
    code: str
    volume_code: str = ""
    volume_title: str = ""
    volume_no: int | None = None
    files: list[FileEntry] = field(default_factory=list)


class Engine:
    """Checks a catalog's rows for one batch. ``rows()`` yields lists of valid ``Row`` chunks
    (already checked against holdings); the sink receives every issue. After the rows,
    ``finish()`` runs the whole-batch checks (gaps, unreferenced files)."""

    def __init__(
        self,
        batch,
        catalog: Catalog,
        sink: IssueSink,
        files: FileIndex | None = None,
        *,
        progress: Progress = None,
    ) -> None:
        self.batch = batch
        self.fonds = batch.fonds
        self.catalog = catalog
        self.sink = sink
        self.files = files
        self.progress = progress
        self.kind = catalog.kind
        self.columns = {target: catalog.column_of(target) for target in _all_fields()}
        self.categories: dict[str, Category] = {}
        for category in Category.objects.all():
            self.categories[category.code.lower()] = category
            self.categories.setdefault(category.name.lower(), category)
        self.series: dict[str, Series] = {}
        for series in Series.objects.filter(fonds=self.fonds):
            self.series[series.code.lower()] = series
            self.series.setdefault(series.name.lower(), series)
        self.retentions = _choice_map(Retention, _RETENTION_WORDS)
        self.classifications = _choice_map(Classification, _CLASSIFICATION_WORDS)
        self.carriers = _choice_map(Carrier, _CARRIER_WORDS)
        self.codes: dict[str, int] = {}
        self.volume_codes: dict[str, int] = {}
        # Numbers per numbering scope, for the gap check: scope → (numbers, rows).
        self.numbers: dict[tuple, tuple[array, array]] = {}
        self.scope_labels: dict[tuple, str] = {}
        self.rows_seen = 0
        self.valid_rows = 0
        self.new_volumes: dict[str, int] = {}
        self.existing_volumes: dict[str, int] = {}
        self.volume_max: dict[int, int] = {}
        self.file_count = 0
        if self.kind == "volume" and files is not None:
            # Files belong to items (件); a 案卷目录 has none to attach them to.
            sink.add(
                None,
                str(_field_label("file")),
                "",
                IssueKind.STRUCTURE,
                _("案卷目录不能附带电子文件：请随卷内目录上传电子文件"),
            )
            self.files = None
        self._holdings_max: dict[tuple, int] | None = None
        self._min_year, self._max_year = check.min_year(), check.max_year()
        self._schemes: dict[int, Any] = {}
        self._used: dict[str, frozenset[str]] = {}
        self._code_templates: list[str] | None = None
        self._row_uncertain = False
        # Numbers of rows whose numbering scope is uncertain (a part disagrees or is unknown),
        # per category: not counted as missing when looking for gaps.
        self.loose_numbers: dict[int | None, set[int]] = defaultdict(set)

    # -- helpers ------------------------------------------------------------------------------

    def issue(self, row, target, value, kind, message, severity=Severity.ERROR) -> None:
        if kind == IssueKind.MISMATCH or kind == IssueKind.UNKNOWN_CODE:
            self._row_uncertain = True
        self.sink.add(row, self.columns.get(target, target), value, kind, message, severity)

    def scheme(self, category: Category):
        scheme = self._schemes.get(category.id)
        if scheme is None:
            scheme = self._schemes[category.id] = refcode.scheme_for(self.fonds.id, category.id)
        return scheme

    def used(self, template: str) -> frozenset[str]:
        used = self._used.get(template)
        if used is None:
            used = self._used[template] = frozenset(refcode.placeholders(template))
        return used

    def template(self, scheme) -> str:
        if self.kind == "volume":
            return scheme.volume_template
        if self.kind == "volume_items":
            return scheme.volume_item_template
        return scheme.item_template

    # -- the pass -----------------------------------------------------------------------------

    def rows(self) -> Iterator[list[Row]]:
        """Chunks of valid rows, in catalog order."""
        chunk: list[Row] = []
        started = time.monotonic()
        last = 0.0
        for number, raw in self.catalog.iter_rows():
            self.rows_seen += 1
            row = self.clean(number, raw)
            if row is not None:
                chunk.append(row)
            if len(chunk) >= CHUNK:
                yield self._against_holdings(chunk)
                chunk = []
            if self.progress is not None and time.monotonic() - last >= 0.5:
                last = time.monotonic()
                self.progress(
                    self.rows_seen,
                    None,
                    _("已检测 %(n)d 行（%(s).0f 秒）") % {"n": self.rows_seen, "s": last - started},
                )
        if chunk:
            yield self._against_holdings(chunk)

    def clean(self, number: int, raw: dict[str, str]) -> Row | None:
        """Check one row; issues go to the sink. Returns the row if it has no error."""
        errors_before = self.sink.errors
        self._row_uncertain = False
        flags = self.catalog.cell_flags
        text: dict[str, str] = {}
        for target, value in raw.items():
            # Most cells are short plain text: only those that may break a rule take the
            # slow path (no limit is below _SHORT characters).
            if flags or len(value) > _SHORT or _ANY_CONTROL.search(value) is not None:
                value = self._cell(number, target, value, flags)
            else:
                value = value.strip()
            text[target] = value

        values: dict[str, Any] = {}
        get = text.get

        # 全宗
        fonds_text = get("fonds", "")
        if fonds_text and fonds_text != self.fonds.code:
            self.issue(
                number,
                "fonds",
                fonds_text,
                IssueKind.MISMATCH,
                _("全宗号 %(v)s 与批次的全宗 %(f)s 不一致")
                % {"v": fonds_text, "f": self.fonds.code},
            )

        # 门类
        category = None
        category_text = get("category", "")
        if category_text:
            category = self.categories.get(category_text.lower())
            if category is None:
                self.issue(
                    number,
                    "category",
                    category_text,
                    IssueKind.UNKNOWN_CODE,
                    _("未知的门类：%(v)s") % {"v": category_text},
                )

        # 年度
        year = None
        if get("year"):
            try:
                year = self._year(get("year"))
            except ValidationError as exc:
                self.issue(number, "year", get("year"), IssueKind.VALUE, exc.messages[0])

        retention = self._choice(number, "retention", get("retention", ""), self.retentions)
        classification = self._choice(
            number, "classification", get("classification", ""), self.classifications
        )
        carrier = self._choice(number, "carrier", get("carrier", ""), self.carriers)
        if classification in _CLASSIFIED:
            self.issue(
                number,
                "classification",
                get("classification"),
                IssueKind.VALUE,
                _("涉密档案（%(v)s）不应进入联网的档案系统，请核实密级")
                % {"v": get("classification")},
                Severity.WARNING,
            )

        # 机构(问题)
        series = None
        series_text = get("series", "")
        if series_text:
            series = self.series.get(series_text.lower())
            if series is None:
                self.issue(
                    number,
                    "series",
                    series_text,
                    IssueKind.UNKNOWN_CODE,
                    _("全宗 %(f)s 中没有机构(问题)“%(v)s”")
                    % {"f": self.fonds.code, "v": series_text},
                )

        catalog_no = get("catalog_no", "")
        if catalog_no and not _CATALOG_NO.fullmatch(catalog_no):
            self.issue(
                number,
                "catalog_no",
                catalog_no,
                IssueKind.VALUE,
                _("目录号只能由字母或数字组成（最多20位）"),
            )
        item_no = self._number(number, "item_no", get("item_no", ""))
        volume_no = self._number(number, "volume_no", get("volume_no", ""))
        pages = None
        if get("pages"):
            if _DIGITS.fullmatch(get("pages")) and len(get("pages")) < 10:
                pages = int(get("pages"))
            else:
                self.issue(
                    number,
                    "pages",
                    get("pages"),
                    IssueKind.VALUE,
                    _("页数应为不小于0的整数"),
                )

        date = self._date(number, "date", get("date", ""))
        date_start = self._date(number, "date_start", get("date_start", ""))
        date_end = self._date(number, "date_end", get("date_end", ""))

        # 档号: parse it and take the parts the row leaves out; the parts it gives must agree.
        given_code = get("reference_code", "")
        volume_ref = get("volume_ref", "")
        template = scheme = None
        if given_code and category is None and not category_text:
            category = self._category_from_code(given_code)
        if category is not None:
            scheme = self.scheme(category)
            template = self.template(scheme)
        parsed = None
        if given_code and template is not None:
            try:
                parsed = refcode.parse(
                    template,
                    given_code,
                    item_width=scheme.item_width,
                    volume_width=scheme.volume_width,
                )
            except refcode.ReferenceCodeError as exc:
                self.issue(number, "reference_code", given_code, IssueKind.REFCODE, exc.message)
        elif given_code and template is None and not category_text:
            self.issue(
                number,
                "reference_code",
                given_code,
                IssueKind.REFCODE,
                _("无法从档号“%(c)s”中识别门类，请检查档号或填写门类") % {"c": given_code},
            )
        if self.kind == "volume_items" and volume_ref and scheme is not None:
            try:
                vparts = refcode.parse(
                    scheme.volume_template,
                    volume_ref,
                    item_width=scheme.item_width,
                    volume_width=scheme.volume_width,
                )
            except refcode.ReferenceCodeError as exc:
                self.issue(number, "volume_ref", volume_ref, IssueKind.REFCODE, exc.message)
            else:
                volume_no = self._agree(
                    number,
                    "volume_ref",
                    volume_ref,
                    "volume",
                    vparts.volume,
                    volume_no,
                    "volume_no",
                )
                year = self._agree(
                    number, "volume_ref", volume_ref, "year", vparts.year, year, "year"
                )
                retention = self._agree(
                    number,
                    "volume_ref",
                    volume_ref,
                    "retention",
                    vparts.retention,
                    retention,
                    "retention",
                )
        if parsed is not None:
            used = self.used(template)
            if "category" in used and parsed.category != category.code:
                self._mismatch(number, given_code, "category", parsed.category, category.code)
            if "fonds" in used and parsed.fonds != self.fonds.code:
                self.issue(
                    number,
                    "reference_code",
                    given_code,
                    IssueKind.MISMATCH,
                    _("档号中的全宗号“%(got)s”与批次的全宗“%(want)s”不一致")
                    % {"got": parsed.fonds, "want": self.fonds.code},
                )
            year = self._agree(
                number, "reference_code", given_code, "year", parsed.year, year, "year"
            )
            retention = self._agree(
                number,
                "reference_code",
                given_code,
                "retention",
                parsed.retention,
                retention,
                "retention",
            )
            if "series" in used:
                got = parsed.series
                want = series.code if series is not None else ""
                if series is None and got and not series_text:
                    series = self.series.get(got.lower())
                    if series is None:
                        self.issue(
                            number,
                            "reference_code",
                            given_code,
                            IssueKind.UNKNOWN_CODE,
                            _("档号中的机构(问题)代码 %(v)s 在全宗 %(f)s 中不存在")
                            % {"v": got, "f": self.fonds.code},
                        )
                elif series is not None and got != want:
                    self._mismatch(number, given_code, "series", got, want)
                elif series is None and series_text and got:
                    pass  # unknown series already reported
                elif series is None and not got and series_text:
                    self._mismatch(number, given_code, "series", got, series_text)
            if "catalog" in used:
                if catalog_no and parsed.catalog != catalog_no:
                    self._mismatch(number, given_code, "catalog", parsed.catalog, catalog_no)
                catalog_no = catalog_no or parsed.catalog
            if "volume" in used:
                volume_no = self._agree(
                    number,
                    "reference_code",
                    given_code,
                    "volume",
                    parsed.volume,
                    volume_no,
                    "volume_no",
                )
            if "item" in used:
                item_no = self._agree(
                    number, "reference_code", given_code, "item", parsed.item, item_no, "item_no"
                )

        if year is None and not get("year"):
            formed = date if self.kind != "volume" else date_start
            if formed is not None:
                year = formed.year
        if date is not None and year is not None and date.year != year:
            self.issue(
                number,
                "date",
                get("date"),
                IssueKind.DATE,
                _("形成日期 %(d)s 不在年度 %(y)d 内") % {"d": date.isoformat(), "y": year},
            )
        if date_start and date_end and date_end < date_start:
            self.issue(
                number,
                "date_end",
                get("date_end"),
                IssueKind.DATE,
                _("终止日期 %(end)s 早于起始日期 %(start)s")
                % {"end": date_end.isoformat(), "start": date_start.isoformat()},
            )

        # Required fields, after the 档号 had its chance to supply them. A part whose cell
        # held an invalid value was reported already.
        title = get("title", "")
        needed: list[tuple[str, Any]] = [
            ("title", title),
            ("category", category),
            ("year", year),
            ("retention", retention),
        ]
        if self.kind in ("volume", "volume_items"):
            needed.append(("volume_no", volume_no))
        if self.kind != "volume":
            needed.append(("item_no", item_no))
        for target, value in needed:
            if value not in (None, "") or (target != "title" and get(target)):
                continue
            label = str(_field_label(target))
            if target == "title":
                message = _("%(label)s不能为空") % {"label": label}
            else:
                message = _("%(label)s不能为空（可在该列填写，或由档号给出）") % {"label": label}
            self.issue(number, target, "", IssueKind.REQUIRED, message)

        number_value = volume_no if self.kind == "volume" else item_no
        if number_value is not None:
            if category is None:
                self.loose_numbers[None].add(number_value)
            elif self._row_uncertain or (series is None and series_text):
                self.loose_numbers[category.id].add(number_value)
            elif year is not None and retention is not None and scheme is not None:
                self._track_number(
                    number,
                    template,
                    scheme,
                    category,
                    year,
                    retention,
                    series,
                    catalog_no,
                    volume_no,
                    number_value,
                )

        if self.sink.errors != errors_before:
            return None

        # Compose the canonical 档号 and check it is unique within the batch.
        parts = refcode.RefParts(
            fonds=self.fonds.code,
            category=category.code,
            year=year,
            retention=retention,
            series=series.code if series is not None else "",
            catalog=catalog_no,
            volume=volume_no,
            item=item_no,
        )
        try:
            if parsed is not None:
                # The given 档号 parsed and every part agreed with the row (else the row had
                # an error above): compose() would return the same text.
                code = given_code
            else:
                code = refcode.compose(
                    template,
                    parts,
                    item_width=scheme.item_width,
                    volume_width=scheme.volume_width,
                )
        except refcode.ReferenceCodeError as exc:
            target = {"item": "item_no", "volume": "volume_no"}.get(exc.part, "reference_code")
            self.issue(number, target, get(target, given_code), IssueKind.REFCODE, exc.message)
            return None
        first = self.codes.get(code)
        if first is not None:
            self.issue(
                number,
                "reference_code",
                code,
                IssueKind.DUPLICATE_BATCH,
                _("档号 %(c)s 与第%(n)d行重复") % {"c": code, "n": first},
            )
            return None
        self.codes[code] = number

        volume_code = ""
        if self.kind == "volume_items":
            volume_code = refcode.compose(
                scheme.volume_template,
                parts,
                item_width=scheme.item_width,
                volume_width=scheme.volume_width,
            )
        values.update(
            fonds_id=self.fonds.id,
            category_id=category.id,
            series_id=series.id if series is not None else None,
            unit_id=self.batch.unit_id,
            catalog_no=catalog_no,
            year=year,
            retention=retention,
            reference_code=code,
            title=title,
            responsible=get("responsible", ""),
            pages=pages,
            classification=classification or Classification.PUBLIC,
            carrier=carrier or Carrier.PAPER,
            keywords=get("keywords", ""),
            notes=get("notes", ""),
        )
        if self.kind == "volume":
            values.update(volume_no=volume_no, date_start=date_start, date_end=date_end)
        else:
            values.update(
                item_no=item_no,
                doc_number=get("doc_number", ""),
                date=date,
                date_start=date_start,
                date_end=date_end,
            )
        row = Row(number, values, code, volume_code, get("volume_title", ""), volume_no)
        if self.files is not None:
            self._match_files(row, get("file", ""))
        elif get("file"):
            self.issue(
                number,
                "file",
                get("file"),
                IssueKind.FILE_MISSING,
                _("目录引用了电子文件“%(f)s”，但没有上传电子文件包") % {"f": get("file")},
            )
            return None
        if self.sink.errors != errors_before:
            return None
        self.valid_rows += 1
        return row

    # -- field helpers ------------------------------------------------------------------------

    def _cell(self, number: int, target: str, value: str, flags: dict) -> str:
        """A cell's text after the cell-level checks: formula, size, control characters and
        length (each reported)."""
        column = self.columns[target]
        flag = flags.pop((number, column), None) if flags else None
        if flag == "formula":
            self.issue(
                number,
                target,
                value,
                IssueKind.FORMULA,
                _("单元格含公式，请将公式转为数值（选择性粘贴→数值）后重新上传"),
            )
        elif flag == "too_long":
            self.issue(
                number,
                target,
                value[:50],
                IssueKind.TOO_LONG,
                _("单元格内容过长（超过32767个字符），已截断检测"),
            )
        if target != "notes":
            value = _LINEBREAKS.sub(" ", value)
        found = _CONTROL.search(value)
        if found:
            self.issue(
                number,
                target,
                value,
                IssueKind.CONTROL_CHARS,
                _("含有不允许的控制字符（U+%(cp)04X）") % {"cp": ord(found.group())},
            )
            value = _CONTROL.sub("", value)
        value = value.strip()
        limit = _MAX_LENGTH.get(target)
        if limit is not None and len(value) > limit:
            self.issue(
                number,
                target,
                value[:50],
                IssueKind.TOO_LONG,
                _("%(label)s不能超过%(max)d个字符（现有%(n)d个）")
                % {"label": column, "max": limit, "n": len(value)},
            )
            value = value[:limit]
        return value

    def _choice(self, number, target, value, mapping) -> str | None:
        if not value:
            return None
        found = mapping.get(value.lower())
        if found is None:
            choices = {
                "retention": Retention,
                "classification": Classification,
                "carrier": Carrier,
            }[target]
            self.issue(
                number,
                target,
                value,
                IssueKind.VALUE,
                _("%(label)s“%(v)s”无效，可选：%(all)s")
                % {
                    "label": self.columns[target],
                    "v": value[:40],
                    "all": "、".join(str(label) for _code, label in choices.choices),
                },
            )
        return found

    def _number(self, number, target, value) -> int | None:
        if not value:
            return None
        if _DIGITS.fullmatch(value) and len(value) < 10 and int(value) >= 1:
            return int(value)
        self.issue(
            number,
            target,
            value,
            IssueKind.VALUE,
            _("%(label)s应为正整数") % {"label": self.columns[target]},
        )
        return None

    def _year(self, value: str) -> int:
        """holdings.validators.year, with a fast path for a plain year in range."""
        if len(value) == 4 and value.isdigit() and self._min_year <= int(value) <= self._max_year:
            return int(value)
        return check.year(value, self.columns["year"])

    def _date(self, number, target, value):
        if not value:
            return None
        for form in _DATE_FORMS:
            match = form.fullmatch(value)
            if match:
                y, m, d = match.group("y"), match.group("m"), match.group("d")
                if m in ("0", "00") or d in ("0", "00"):
                    break
                try:
                    # Fast path for the common case; holdings' rule gives the message.
                    day = dt.date(int(y), int(m), int(d))
                    if self._min_year <= day.year <= self._max_year:
                        return day
                except ValueError:
                    pass
                try:
                    return check.date(f"{y}-{m}-{d}", self.columns[target])
                except ValidationError as exc:
                    self.issue(number, target, value, IssueKind.DATE, exc.messages[0])
                    return None
        partial = _PARTIAL_DATE.fullmatch(value)
        if partial:
            self.issue(
                number,
                target,
                value,
                IssueKind.DATE,
                _("日期“%(v)s”不完整，未填入日期字段（年度照常使用）") % {"v": value},
                Severity.WARNING,
            )
            return None
        self.issue(
            number,
            target,
            value,
            IssueKind.DATE,
            _("%(label)s格式不正确，应为 20170228 或 2017-02-28（现为“%(v)s”）")
            % {"label": self.columns[target], "v": value[:40]},
        )
        return None

    def _mismatch(self, number, code, part, got, want) -> None:
        self.issue(
            number,
            "reference_code",
            code,
            IssueKind.MISMATCH,
            _("档号中的%(label)s“%(got)s”与著录的%(label)s“%(want)s”不一致")
            % {"label": refcode.part_label(part), "got": got, "want": want},
        )

    def _agree(self, number, target, code, part, got, have, field_name):
        """The row's value for a part, taken from the 档号 when the row leaves it out;
        a disagreement is reported."""
        if got in (None, "", 0):
            return have
        if have in (None, ""):
            return got
        if got != have:
            self.issue(
                number,
                target,
                code,
                IssueKind.MISMATCH,
                _("%(what)s中的%(label)s“%(got)s”与著录的%(label)s“%(want)s”不一致")
                % {
                    "what": self.columns[target],
                    "label": refcode.part_label(part),
                    "got": got,
                    "want": have,
                },
            )
        return have

    def _category_from_code(self, code: str) -> Category | None:
        """The category a 档号 names, read with the fonds' (or default) templates; the template
        that matched last is tried first (a catalog's rows share one)."""
        if self._code_templates is None:
            scheme = self._default_scheme = refcode.scheme_for(self.fonds.pk, None)
            self._code_templates = [
                scheme.item_template,
                scheme.volume_item_template,
                scheme.volume_template,
            ]
        scheme = self._default_scheme
        for index, template in enumerate(self._code_templates):
            try:
                loose = refcode._regex(template, scheme.item_width, scheme.volume_width, True)
            except refcode.ReferenceCodeError:
                continue
            match = loose.fullmatch(code)
            if match and "category" in match.groupdict():
                found = self.categories.get((match.group("category") or "").lower())
                if found is not None:
                    if index:
                        self._code_templates.insert(0, self._code_templates.pop(index))
                    return found
        return None

    # -- numbering and gaps ---------------------------------------------------------------------

    def _track_number(
        self,
        row_number,
        template,
        scheme,
        category,
        year,
        retention,
        series,
        catalog_no,
        volume_no,
        number,
    ) -> None:
        """Remember ``number`` in its numbering scope (the parts the template shows; inside a
        volume, the volume) for the gap check."""
        series_code = series.code if series is not None else ""
        if self.kind == "volume_items":
            try:
                volume_code = refcode.compose(
                    scheme.volume_template,
                    refcode.RefParts(
                        self.fonds.code,
                        category.code,
                        year,
                        retention,
                        series_code,
                        catalog_no,
                        volume_no,
                    ),
                    item_width=scheme.item_width,
                    volume_width=scheme.volume_width,
                )
            except refcode.ReferenceCodeError:
                return
            key: tuple = ("v", volume_code)
            label = volume_code
        else:
            used = self.used(template)
            last = catalog_no if self.kind == "volume" else (series.id if series else None)
            last_part = "catalog" if self.kind == "volume" else "series"
            key = (
                "vol" if self.kind == "volume" else "item",
                category.id,
                year if "year" in used else None,
                retention if "retention" in used else None,
                last if last_part in used else None,
            )
            label = None
        slot = self.numbers.get(key)
        if slot is None:
            slot = self.numbers[key] = (array("l"), array("l"))
            if label is None:
                shown = [self.fonds.code, category.code, str(year), retention]
                if self.kind != "volume" and series_code:
                    shown.append(series_code)
                if self.kind == "volume" and catalog_no:
                    shown.append(catalog_no)
                label = "·".join(shown)
            self.scope_labels[key] = (label, category.id)
        slot[0].append(number)
        slot[1].append(row_number)

    def _load_holdings_max(self) -> dict[tuple, int]:
        """Highest number already used in holdings per scope key (before any insert)."""
        if self._holdings_max is not None:
            return self._holdings_max
        result: dict[tuple, int] = {}
        if self.kind == "item":
            rows = (
                Item.objects.filter(fonds=self.fonds, volume__isnull=True)
                .order_by()
                .values_list("category_id", "year", "retention", "series_id")
                .annotate(m=Max("item_no"))
            )
            for category_id, year, retention, series_id, highest in rows:
                scheme = refcode.scheme_for(self.fonds.pk, category_id)
                used = refcode.placeholders(scheme.item_template)
                key = (
                    "item",
                    category_id,
                    year if "year" in used else None,
                    retention if "retention" in used else None,
                    series_id if "series" in used else None,
                )
                result[key] = max(result.get(key, 0), highest or 0)
        elif self.kind == "volume":
            rows = (
                Volume.objects.filter(fonds=self.fonds)
                .order_by()
                .values_list("category_id", "year", "retention", "catalog_no")
                .annotate(m=Max("volume_no"))
            )
            for category_id, year, retention, catalog_no, highest in rows:
                scheme = refcode.scheme_for(self.fonds.pk, category_id)
                used = refcode.placeholders(scheme.volume_template)
                key = (
                    "vol",
                    category_id,
                    year if "year" in used else None,
                    retention if "retention" in used else None,
                    catalog_no if "catalog" in used else None,
                )
                result[key] = max(result.get(key, 0), highest or 0)
        self._holdings_max = result
        return result

    def _gaps(self) -> None:
        holdings_max = self._load_holdings_max()
        label_number = _("件号") if self.kind != "volume" else _("案卷号")
        target = "item_no" if self.kind != "volume" else "volume_no"
        for key, (numbers, rows) in self.numbers.items():
            if key[0] == "v":
                start = self.volume_max.get(self.existing_volumes.get(key[1], 0), 0) + 1
            else:
                start = holdings_max.get(key, 0) + 1
            order = sorted(range(len(numbers)), key=numbers.__getitem__)
            expected = start
            scope, category_id = self.scope_labels[key]
            loose = self.loose_numbers.get(category_id, set()) | self.loose_numbers.get(None, set())
            for index in order:
                value = numbers[index]
                while expected < value and expected in loose:
                    expected += 1  # a row with this number exists, in doubt about its scope
                if value > expected:
                    missing = str(expected) if value - 1 == expected else f"{expected}–{value - 1}"
                    if expected == start and start > 1:
                        reason = _("馆藏中该范围已有%(label)s至%(h)d") % {
                            "label": label_number,
                            "h": start - 1,
                        }
                    elif expected == 1:
                        reason = _("应从1开始编号")
                    else:
                        reason = ""
                    message = _("%(label)s不连续：%(scope)s 缺少 %(missing)s") % {
                        "label": label_number,
                        "scope": scope,
                        "missing": missing,
                    }
                    if reason:
                        message = f"{message}（{reason}）"
                    self.issue(rows[index], target, value, IssueKind.GAP, message)
                expected = max(expected, value + 1)

    # -- holdings -----------------------------------------------------------------------------

    def _against_holdings(self, chunk: list[Row]) -> list[Row]:
        """Drop (and report) rows whose 档号 is already in holdings; resolve volumes."""
        codes = [row.code for row in chunk]
        taken: dict[str, str] = {}
        for code in codes_in(Item, codes):
            taken[code] = _("件")
        for code in codes_in(Volume, codes):
            taken[code] = _("案卷")
        if self.kind == "volume_items":
            self._resolve_volumes(chunk)
        kept = []
        for row in chunk:
            what = taken.get(row.code)
            if what is not None:
                self.issue(
                    row.number,
                    "reference_code",
                    row.code,
                    IssueKind.DUPLICATE_HOLDINGS,
                    _("档号 %(c)s 已在馆藏中（%(what)s），不能重复接收")
                    % {"c": row.code, "what": what},
                )
                self.valid_rows -= 1
                continue
            if (
                self.kind == "volume_items"
                and row.volume_code not in self.existing_volumes
                and row.volume_code not in self.new_volumes
            ):
                if not row.volume_title:
                    self.issue(
                        row.number,
                        "volume_no",
                        row.volume_code,
                        IssueKind.UNKNOWN_CODE,
                        _("案卷 %(v)s 不在馆藏中，目录中也没有给出案卷题名以新建该案卷")
                        % {"v": row.volume_code},
                    )
                    self.valid_rows -= 1
                    continue
                self.new_volumes[row.volume_code] = row.number
            kept.append(row)
        return kept

    def _resolve_volumes(self, chunk: list[Row]) -> None:
        unknown = {
            row.volume_code
            for row in chunk
            if row.volume_code not in self.existing_volumes
            and row.volume_code not in self.new_volumes
        }
        if not unknown:
            return
        found = dict(
            Volume.objects.filter(reference_code__in=list(unknown), fonds=self.fonds).values_list(
                "reference_code", "pk"
            )
        )
        if not found:
            return
        self.existing_volumes.update(found)
        maxima = (
            Item.objects.filter(volume_id__in=list(found.values()))
            .order_by()
            .values_list("volume_id")
            .annotate(m=Max("item_no"))
        )
        for volume_id, highest in maxima:
            self.volume_max[volume_id] = highest or 0

    # -- files --------------------------------------------------------------------------------

    def _match_files(self, row: Row, named: str) -> None:
        files = self.files
        found: list[FileEntry] = []
        if named:
            for name in re.split(r"[;；|]", named):
                name = name.strip()
                if not name:
                    continue
                entry = files.named(name)
                if entry is None:
                    self.issue(
                        row.number,
                        "file",
                        name,
                        IssueKind.FILE_MISSING,
                        _("引用的电子文件“%(f)s”不在上传的文件包中") % {"f": name},
                    )
                elif entry not in found:
                    found.append(entry)
        for entry in files.for_code(row.code):
            if entry not in found:
                found.append(entry)
        for entry in found:
            if entry.problem:
                self.issue(
                    row.number,
                    "file",
                    entry.rel,
                    IssueKind.FILE_UNREADABLE,
                    _("电子文件“%(f)s”：%(p)s") % {"f": entry.rel, "p": entry.problem},
                )
            entry.used = True
            if entry.row is None:
                entry.row = row.number
        if not found and not named:
            electronic = row.values.get("carrier") in (Carrier.ELECTRONIC, Carrier.HYBRID)
            self.issue(
                row.number,
                "file",
                row.code,
                IssueKind.FILE_MISSING,
                _("没有找到档号 %(c)s 对应的电子文件（应以档号命名文件或文件夹）")
                % {"c": row.code},
                Severity.ERROR if electronic else Severity.WARNING,
            )
        row.files = found
        self.file_count += len(found)

    def _unreferenced(self) -> None:
        if self.files is None:
            return
        for entry in self.files.entries:
            if not entry.used:
                self.sink.add(
                    None,
                    str(_field_label("file")),
                    entry.rel,
                    IssueKind.FILE_UNREFERENCED,
                    _("文件“%(f)s”没有被目录中的任何条目引用") % {"f": entry.rel},
                )

    def finish(self) -> None:
        self._gaps()
        self._unreferenced()

    def summary(self) -> dict[str, Any]:
        volumes = len(self.new_volumes) if self.kind == "volume_items" else 0
        items = 0
        if self.kind == "volume":
            volumes = self.valid_rows
        else:
            items = self.valid_rows
        return {
            "rows": self.rows_seen,
            "kind": self.kind,
            "volumes": volumes,
            "items": items,
            "files": self.file_count,
            **self.sink.summary_counts(),
        }


def codes_in(model, codes: list[str]) -> dict[str, int]:
    """{档号: pk} of the ``codes`` that ``model`` already holds: one indexed ``IN`` query per
    chunk, built directly (the ORM's per-parameter work is the cost at this size)."""
    found: dict[str, int] = {}
    if not codes:
        return found
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    for start in range(0, len(codes), CHUNK):
        part = codes[start : start + CHUNK]
        marks = ", ".join(["%s"] * len(part))
        # Identifiers from the model's metadata; the codes are parameters.
        sql = f"SELECT reference_code, id FROM {table} WHERE reference_code IN ({marks})"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, part)
            found.update(cursor.fetchall())
    return found


def _all_fields() -> list[str]:
    from lantai.accession.catalog import FIELDS

    return list(FIELDS)


def _field_label(target: str):
    from lantai.accession.catalog import FIELDS

    spec = FIELDS.get(target)
    return spec.label if spec else target


# --- four-property checks 四性检测 (移交与接收) ------------------------------------------------


def transfer_issues(
    transfer: dict[str, Any], files: FileIndex, sink: IssueSink, *, column: str = ""
) -> None:
    """Turn the transfer-stage four-property findings (``lantai.ingest.services.
    transfer_checks``) into batch issues, one per failing file and check item: an ERROR when the
    item is blocking 阻断 (so the batch cannot be accepted), a WARNING when it is set to warn
    警告; items switched off never report. The row is the catalog row that references the file
    (none for a file no row references)."""
    column = column or str(_field_label("file"))
    for item in transfer.get("items") or []:
        if item.get("result") == "fail" and item.get("blocking"):
            severity = Severity.ERROR
        elif item.get("result") in ("fail", "warning"):
            severity = Severity.WARNING
        else:
            continue
        check = f"{item.get('id', '')} {item.get('name', '')}".strip()
        failures = item.get("failures") or []
        for failure in failures:
            target = failure.get("target", "")
            entry = files.by_path.get(target)
            sink.add(
                entry.row if entry else None,
                column,
                target,
                IssueKind.FOUR_PROPERTY,
                _("四性检测 %(c)s：%(d)s") % {"c": check, "d": failure.get("detail", "")},
                severity,
            )
        hidden = int(item.get("count") or 0) - len(failures)
        if hidden > 0:
            # The checks keep the first failures of an item only; say how many more there are.
            sink.add(
                None,
                column,
                "",
                IssueKind.FOUR_PROPERTY,
                _("四性检测 %(c)s：另有 %(n)d 个文件未通过，未逐一列出")
                % {"c": check, "n": hidden},
                severity,
            )


# --- entry points -----------------------------------------------------------------------------


def open_upload(upload: CatalogUpload) -> Catalog:
    """The upload's catalog with its mapping (the upload's own, else the unit's saved one)."""
    mapping = upload.mapping or unit_mapping(upload.batch.unit) or None
    path = Path(upload.catalog_path)
    if not path.is_absolute():
        path = Path(settings.DATA_DIR) / path
    return read_catalog(path, mapping=mapping)


def check_upload(upload: CatalogUpload, *, progress: Progress = None) -> dict:
    """Check an upload's catalog (and files) and store every issue, replacing the previous
    ones of this upload. Returns and stores the summary {"rows", "volumes", "items", "files",
    "errors", "warnings", "by_kind", "kind"}. Bad data never raises: an unreadable catalog or
    archive becomes a STRUCTURE issue."""
    upload = CatalogUpload.objects.select_related("batch", "batch__fonds", "batch__unit").get(
        pk=upload.pk
    )
    BatchIssue.objects.filter(upload=upload).delete()
    sink = IssueSink(upload)
    summary: dict[str, Any]
    started = time.monotonic()
    try:
        catalog = open_upload(upload)
        files = prepare_files(upload)
        engine = Engine(upload.batch, catalog, sink, files, progress=progress)
        for _chunk in engine.rows():
            sink.flush()
        engine.finish()
        # 移交与接收 stage of the four-property checks on the files (lantai.ingest).
        from lantai.ingest.services import transfer_checks

        transfer = transfer_checks(upload.batch, files, progress=progress)
        if transfer:
            transfer_issues(transfer, files, sink, column=engine.columns.get("file", ""))
            sink.flush()
        summary = engine.summary()
        if transfer:
            summary["transfer_checks"] = transfer
        upload.encoding = catalog.encoding or catalog.format
        upload.mapping = {h: f for h, f in catalog.mapping.items() if f}
    except CatalogError as exc:
        sink.add(exc.row, exc.column, "", IssueKind.STRUCTURE, exc.message)
        summary = {
            "rows": 0,
            "kind": "",
            "volumes": 0,
            "items": 0,
            "files": 0,
            **sink.summary_counts(),
        }
    sink.finish()
    summary.update(sink.summary_counts())
    summary["seconds"] = round(time.monotonic() - started, 2)
    upload.summary = summary
    upload.save(update_fields=["summary", "encoding", "mapping"])
    if progress is not None:
        progress(
            summary["rows"],
            summary["rows"],
            _("检测完成：%(r)d 行，%(e)d 个错误，%(w)d 个警告")
            % {"r": summary["rows"], "e": summary["errors"], "w": summary["warnings"]},
        )
    return summary


def issues_by_row(upload: CatalogUpload) -> Iterator[tuple[int | None, list[BatchIssue]]]:
    """The upload's issues grouped by row, in row order (rows without a number last)."""
    current: int | None = -1
    group: list[BatchIssue] = []
    issues = BatchIssue.objects.filter(upload=upload).order_by(F("row").asc(nulls_last=True), "id")
    for issue in issues.iterator(chunk_size=2000):
        if issue.row != current and group:
            yield current, group
            group = []
        current = issue.row
        group.append(issue)
    if group:
        yield current, group


__all__ = [
    "CHUNK",
    "Engine",
    "FileIndex",
    "IssueSink",
    "Row",
    "check_upload",
    "issues_by_row",
    "open_upload",
    "prepare_files",
    "transfer_issues",
]
