"""统计年报 services: the year's figures for people allowed to read them, chart data, and the
.xlsx and PDF exports (audited). Figures come from ``registry.collect``; nothing is stored."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.core.permissions import require
from lantai.statistics import registry
from lantai.statistics.registry import Figure

VIEW = "statistics.view_statistics"
FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def parse_year(value: Any, *, default: int | None = None, field: str = "year") -> int:
    """A statistics year from a query string; a clear Chinese error otherwise."""
    if value in (None, ""):
        return default if default is not None else timezone.localdate().year
    try:
        year = int(str(value).strip())
    except ValueError:
        raise ValidationError({field: [_("年度须为四位数字，例如 2024。")]}) from None
    if not 1900 <= year <= 2200:
        raise ValidationError({field: [_("年度须在 1900 到 2200 之间。")]})
    return year


def annual_report(actor, year: int, *, baseline_year: int | None = None) -> dict[str, Any]:
    """The year's figures grouped by section, with chart data."""
    require(actor, VIEW)
    if baseline_year is not None and baseline_year >= year:
        raise ValidationError({"baseline": [_("基准年度须早于统计年度。")]})
    figures = registry.collect(year, baseline_year=baseline_year)
    keyed = registry.by_key(figures)
    return {
        "year": year,
        "baseline_year": baseline_year
        if baseline_year is not None
        else int(getattr(settings, "LANTAI_BASELINE_YEAR", 2015)),
        "figures": figures,
        "sections": registry.sections(figures),
        "charts": chart_data(keyed),
    }


def _number(value: Any) -> float | int:
    return float(value) if isinstance(value, Decimal | float) else int(value)


def chart_data(keyed: dict[str, Figure]) -> dict[str, Any]:
    """Series for the page's charts: holdings and receipts by category (bar), visitors by month
    (line, when the outreach app reports them) and agencies by grade (pie)."""
    data: dict[str, Any] = {}
    holdings = keyed.get("holdings.total")
    received = keyed.get("accession.received")
    categories = list(
        dict.fromkeys(
            list(holdings.breakdown if holdings else {})
            + list(received.breakdown if received else {})
        )
    )
    data["categories"] = {
        "labels": categories,
        "holdings": [_number(holdings.breakdown.get(c, 0)) if holdings else 0 for c in categories],
        "received": [_number(received.breakdown.get(c, 0)) if received else 0 for c in categories],
        "holdings_label": holdings.label if holdings else "",
        "received_label": received.label if received else "",
    }
    visitors = keyed.get("outreach.visitors")
    if visitors and visitors.breakdown:
        data["visitors"] = {
            "label": visitors.label,
            "months": list(visitors.breakdown),
            "values": [_number(v) for v in visitors.breakdown.values()],
        }
    grades = keyed.get("supervision.evaluated")
    if grades and grades.breakdown:
        data["grades"] = {
            "label": grades.label,
            "items": [{"name": k, "value": _number(v)} for k, v in grades.breakdown.items()],
        }
    return data


def _display(value: Any) -> str:
    if isinstance(value, Decimal):
        value = value.normalize()
        return f"{value:f}"
    if isinstance(value, float):
        return f"{value:g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _safe(value: Any) -> Any:
    # Labels come from code, but names (categories, units) come from records: never a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_xlsx(actor, year: int, dest: Path | BinaryIO, *, baseline_year: int | None = None):
    """The year's figures as .xlsx: a summary sheet (section, figure, value, unit) and one sheet
    of breakdowns; audited."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    report = annual_report(actor, year, baseline_year=baseline_year)
    book = Workbook()
    sheet = book.active
    sheet.title = _("统计年报")
    bold = Font(bold=True)
    sheet.append([_("%(y)d年统计年报") % {"y": year}])
    sheet["A1"].font = bold
    sheet.append([_("分类"), _("指标"), _("数值"), _("单位"), _("代码")])
    for cell in sheet[2]:
        cell.font = bold
    for section, figures in report["sections"]:
        for f in figures:
            sheet.append([_safe(section), _safe(f.label), _number(f.value), f.unit, f.key])
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 36
    parts = book.create_sheet(_("分项"))
    parts.append([_("指标"), _("分项"), _("数值"), _("代码")])
    for cell in parts[1]:
        cell.font = bold
    for f in report["figures"]:
        for name, value in f.breakdown.items():
            parts.append([_safe(f.label), _safe(name), _number(value), f.key])
    parts.column_dimensions["A"].width = 36
    parts.column_dimensions["B"].width = 24
    book.save(dest)
    _audit(actor, year, "xlsx", report)
    return report


def _audit(actor, year: int, fmt: str, report: dict[str, Any]) -> None:
    record(
        AuditAction.EXPORT,
        actor=actor,
        object_type="statistics.annualreport",
        object_id=str(year),
        object_repr=_("%(y)d年统计年报") % {"y": year},
        detail={
            "format": fmt,
            "figures": len(report["figures"]),
            "baseline": report["baseline_year"],
        },
    )


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics

    name = "WQY-ZenHei"
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    try:
        from reportlab.pdfbase.ttfonts import TTFont

        pdfmetrics.registerFont(TTFont(name, str(FONT_PATH), subfontIndex=0))
        return name
    except Exception:
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        return "STSong-Light"


def export_pdf(actor, year: int, dest: BinaryIO, *, baseline_year: int | None = None):
    """The year's figures as a printable PDF (A4, one table per section); audited."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    report = annual_report(actor, year, baseline_year=baseline_year)
    font = _font()
    title = ParagraphStyle("t", fontName=font, fontSize=18, leading=24, spaceAfter=6)
    head = ParagraphStyle("h", fontName=font, fontSize=13, leading=18, spaceBefore=8)
    body = ParagraphStyle("b", fontName=font, fontSize=9.5, leading=13)
    small = ParagraphStyle("s", fontName=font, fontSize=8, leading=11, textColor=colors.grey)
    archive = getattr(settings, "LANTAI_ARCHIVE_NAME", "")
    story: list[Any] = [
        Paragraph(_("%(a)s %(y)d年统计年报") % {"a": archive, "y": year}, title),
        Paragraph(
            _("生成时间：%(t)s；各项数字均由系统记录实时统计。")
            % {"t": timezone.localtime().strftime("%Y-%m-%d %H:%M")},
            small,
        ),
    ]
    for section, figures in report["sections"]:
        story.append(Paragraph(section, head))
        rows = [
            [Paragraph(_("指标"), body), Paragraph(_("数值"), body), Paragraph(_("分项"), body)]
        ]
        for f in figures:
            parts = "；".join(f"{k} {_display(v)}" for k, v in f.breakdown.items())
            rows.append(
                [
                    Paragraph(f.label, body),
                    Paragraph(f"{_display(f.value)} {f.unit}", body),
                    Paragraph(parts, body),
                ]
            )
        table = Table(rows, colWidths=[60 * mm, 35 * mm, 80 * mm], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f1e9e0")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(table)
        story.append(Spacer(1, 4 * mm))
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer, pagesize=A4, title=_("%(y)d年统计年报") % {"y": year}, leftMargin=15 * mm,
        rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
    ).build(story)  # fmt: skip
    dest.write(buffer.getvalue())
    _audit(actor, year, "pdf", report)
    return report
