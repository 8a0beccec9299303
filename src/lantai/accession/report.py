"""The check report 检测报告 as .xlsx, for the unit to correct its catalog.

Three sheets:

* 目录（含检测结果） — every row of the catalog as uploaded, with its row number and a column
  "检测结果" listing that row's problems (empty when the row is fine), so the unit corrects
  the rows in place and uploads the file again; above ``LANTAI_REPORT_FULL_ROWS`` rows
  (50,000) only the rows with findings are listed, with their original row numbers;
* 问题清单 — every issue: row, column, value, kind, severity, reason;
* 汇总 — counts per kind.

Written as a stream (xlsxwriter's constant-memory mode): a catalog of a million rows does not
need a million rows in memory. Every cell is written as text, and text that a spreadsheet
would read as a formula (starting with = + - @, a tab or a carriage return) is neutralised
with a leading apostrophe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.accession.catalog import CatalogError
from lantai.accession.checks import issues_by_row, open_upload
from lantai.accession.models import CatalogUpload, IssueKind, Severity

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
#: Excel's limit for one cell.
_CELL_LIMIT = 32_767


def neutralise(value: Any) -> str:
    """Text safe to open in a spreadsheet: never read as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(_DANGEROUS):
        text = "'" + text
    return text[:_CELL_LIMIT]


def full_catalog(upload: CatalogUpload) -> bool:
    """Whether the catalog sheet shows every row (else only rows with findings): a year's
    intake of 260,000 rows would make a report too slow to write and to open."""
    limit = int(getattr(settings, "LANTAI_REPORT_FULL_ROWS", 50_000))
    return int((upload.summary or {}).get("rows") or 0) <= limit


def write_report_xlsx(upload: CatalogUpload, dest: Path) -> Path:
    """Write the report of ``upload``'s last check to ``dest`` (see the module docstring)."""
    import xlsxwriter

    upload = CatalogUpload.objects.select_related("batch", "batch__fonds", "batch__unit").get(
        pk=upload.pk
    )
    dest = Path(dest)
    workbook = xlsxwriter.Workbook(
        str(dest),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = workbook.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
    bad = workbook.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE", "text_wrap": True})
    warn = workbook.add_format({"font_color": "#7F6000", "bg_color": "#FFEB9C", "text_wrap": True})
    try:
        _catalog_sheet(workbook, upload, bold, bad, warn)
        _issues_sheet(workbook, upload, bold)
        _summary_sheet(workbook, upload, bold)
    finally:
        workbook.close()
    return dest


def _catalog_sheet(workbook, upload, bold, bad, warn) -> None:
    sheet = workbook.add_worksheet(_("目录（含检测结果）"))
    try:
        catalog = open_upload(upload)
    except CatalogError as exc:
        sheet.write_string(0, 0, _("检测结果"), bold)
        sheet.write_string(1, 0, neutralise(exc.message), bad)
        return
    headers = [_("行号"), _("检测结果"), *catalog.headers]
    for col, header in enumerate(headers):
        sheet.write_string(0, col, neutralise(header), bold)
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, 1, 60)
    sheet.freeze_panes(1, 2)
    full = full_catalog(upload)
    grouped = issues_by_row(upload)
    pending = next(grouped, None)
    out = 1
    for number, cells in catalog.iter_raw():
        while pending is not None and pending[0] is not None and pending[0] < number:
            pending = next(grouped, None)
        if not full and (pending is None or pending[0] != number):
            continue
        text, style = "", None
        if pending is not None and pending[0] == number:
            issues = pending[1]
            text = "；".join(
                f"{issue.column}：{issue.message}" if issue.column else issue.message
                for issue in issues
            )
            has_error = any(issue.severity == Severity.ERROR for issue in issues)
            style = bad if has_error else warn
        sheet.write_number(out, 0, number)
        sheet.write_string(out, 1, neutralise(text), style)
        for col, cell in enumerate(cells[: len(catalog.headers)], start=2):
            if cell != "":
                sheet.write_string(out, col, neutralise(cell))
        out += 1


def _issues_sheet(workbook, upload, bold) -> None:
    sheet = workbook.add_worksheet(_("问题清单"))
    headers = [_("行号"), _("列"), _("值"), _("类型"), _("级别"), _("说明")]
    for col, header in enumerate(headers):
        sheet.write_string(0, col, header, bold)
    sheet.set_column(0, 0, 8)
    sheet.set_column(1, 4, 16)
    sheet.set_column(5, 5, 70)
    sheet.freeze_panes(1, 0)
    kinds = dict(IssueKind.choices)
    severities = dict(Severity.choices)
    out = 1
    for _row, issues in issues_by_row(upload):
        for issue in issues:
            if issue.row is not None:
                sheet.write_number(out, 0, issue.row)
            sheet.write_string(out, 1, neutralise(issue.column))
            sheet.write_string(out, 2, neutralise(issue.value))
            sheet.write_string(out, 3, str(kinds.get(issue.kind, issue.kind)))
            sheet.write_string(out, 4, str(severities.get(issue.severity, issue.severity)))
            sheet.write_string(out, 5, neutralise(issue.message))
            out += 1


def _summary_sheet(workbook, upload, bold) -> None:
    sheet = workbook.add_worksheet(_("汇总"))
    summary = upload.summary or {}
    batch = upload.batch
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 50)
    lines = [
        (_("批次号"), batch.number),
        (_("移交单位"), str(batch.unit) if batch.unit_id else ""),
        (_("全宗"), str(batch.fonds)),
        (_("目录文件"), upload.catalog_name),
        (_("检测时间"), timezone.localtime().strftime("%Y-%m-%d %H:%M")),
        (_("条目行数"), summary.get("rows", 0)),
        (_("错误"), summary.get("errors", 0)),
        (_("警告"), summary.get("warnings", 0)),
    ]
    for row, (label, value) in enumerate(lines):
        sheet.write_string(row, 0, label, bold)
        sheet.write_string(row, 1, neutralise(value))
    row = len(lines)
    if not full_catalog(upload):
        sheet.write_string(row, 0, _("说明"), bold)
        sheet.write_string(
            row,
            1,
            _("目录超过 %(n)d 行，“目录（含检测结果）”只列出有问题的行（保留原行号）")
            % {"n": int(getattr(settings, "LANTAI_REPORT_FULL_ROWS", 50_000))},
        )
        row += 1
    row += 1
    sheet.write_string(row, 0, _("问题类型"), bold)
    sheet.write_string(row, 1, _("数量"), bold)
    kinds = dict(IssueKind.choices)
    for kind, count in sorted((summary.get("by_kind") or {}).items(), key=lambda kv: -kv[1]):
        row += 1
        sheet.write_string(row, 0, str(kinds.get(kind, kind)))
        sheet.write_number(row, 1, int(count))


__all__ = ["neutralise", "write_report_xlsx"]
