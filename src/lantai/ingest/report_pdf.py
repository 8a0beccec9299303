"""The printable check report 检测报告 (DA/T 70): a PDF of a ``run_checks`` report.

Layout: title, the package's particulars (stage, format, files, size, time, conclusion), a
table of every check item grouped by property with its result and detail, the files with
their format and digests, and lines for the checker's and reviewer's signatures. Written to a
temporary name beside ``dest``, fsynced, then renamed: a reader never sees half a report.
"""

from __future__ import annotations

import logging
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

logger = logging.getLogger(__name__)

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
#: Files listed in the printed report at most (the JSON report lists all).
MAX_FILE_ROWS = 500
RESULT_LABELS = {
    "pass": N_("通过"),
    "fail": N_("不通过"),
    "warning": N_("警告"),
    "not_run": N_("未检测"),
}
RESULT_COLOURS = {"pass": "#1a7f37", "fail": "#c62828", "warning": "#b26a00", "not_run": "#666666"}
PROPERTY_ORDER = ("authenticity", "integrity", "usability", "security")
PROPERTY_LABELS = {
    "authenticity": N_("真实性"),
    "integrity": N_("完整性"),
    "usability": N_("可用性"),
    "security": N_("安全性"),
}


@cache
def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        pdfmetrics.registerFont(TTFont("WQY-ZenHei", str(FONT_PATH), subfontIndex=0))
        return "WQY-ZenHei"
    except Exception:  # the font package is missing: a built-in CJK font still prints Chinese
        logger.warning("%s not found; the check report uses STSong-Light", FONT_PATH)
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        return "STSong-Light"


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _clip(text: Any, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_report_pdf(report: dict[str, Any], dest: Path, *, title: str) -> Path:
    """Write the 检测报告 of ``report`` (a ``checks.run_checks`` result) to ``dest``."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        LongTable,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    font = _font()
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5)
    heading = ParagraphStyle("heading", parent=base, fontSize=16, leading=22, alignment=1)
    section = ParagraphStyle("section", parent=base, fontSize=11, leading=16, spaceBefore=6)

    def para(text: Any, style=base) -> Paragraph:
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)

    summary = report.get("summary") or {}
    items = report.get("items") or []
    files = report.get("files") or {}
    passed = bool(report.get("passed"))
    story: list[Any] = [para(title or _("四性检测报告"), heading), Spacer(1, 4 * mm)]

    conclusion = _("通过") if passed else _("不通过")
    facts = [
        (_("检测环节"), f"{summary.get('stage_name') or ''}（{report.get('stage', '')}）"),
        (_("信息包格式"), {"bagit": "BagIt", "eep": "DA/T 48 EEP"}.get(summary.get("format"), "")),
        (_("题名"), _clip(summary.get("title") or "—", 500)),
        (_("档号"), summary.get("reference_code") or "—"),
        (_("文件数"), str(summary.get("file_count", len(files)))),
        (_("总大小"), _human(int(summary.get("total_size") or 0))),
        (_("检测时间"), summary.get("checked_at") or ""),
        (
            _("检测结果"),
            _("%(c)s（通过 %(p)d 项，不通过 %(f)d 项，警告 %(w)d 项，未检测 %(n)d 项）")
            % {
                "c": conclusion,
                "p": summary.get("pass", 0),
                "f": summary.get("fail", 0),
                "w": summary.get("warning", 0),
                "n": summary.get("not_run", 0),
            },
        ),
    ]
    table = Table(
        [[para(k), para(v)] for k, v in facts],
        colWidths=[30 * mm, 150 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f0f0")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story += [table, Spacer(1, 4 * mm), para(_("检测项"), section)]

    rows = [[para(h) for h in (_("编号"), _("属性"), _("检测项"), _("结果"), _("说明"))]]
    styles = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e0e0e0")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    ordered = sorted(
        items,
        key=lambda i: (
            PROPERTY_ORDER.index(i.get("property")) if i.get("property") in PROPERTY_ORDER else 9,
            i.get("code", ""),
        ),
    )
    for index, item in enumerate(ordered, 1):
        result = item.get("result", "")
        label = _(RESULT_LABELS[result]) if result in RESULT_LABELS else result
        if item.get("blocking") and result == "fail":
            label += _("（阻断）")
        # A table row must fit on one page: long details are clipped (the JSON report and
        # the screen keep every failure).
        detail = _clip(item.get("detail", ""), 800)
        failures = item.get("failures") or []
        if len(failures) > 5:
            extra = "\n".join(
                _clip(
                    f"{f.get('target')}：{f.get('detail')}"
                    if f.get("target")
                    else f.get("detail", ""),
                    160,
                )
                for f in failures[5:20]
            )
            detail = f"{detail}\n{extra}"
        rows.append(
            [
                para(item.get("id", "")),
                para(_(PROPERTY_LABELS.get(item.get("property"), item.get("property", "")))),
                para(item.get("name", "")),
                para(label),
                para(detail, small),
            ]
        )
        styles.append(
            (
                "TEXTCOLOR",
                (3, index),
                (3, index),
                colors.HexColor(RESULT_COLOURS.get(result, "#000")),
            )
        )
    checks_table = LongTable(
        rows, colWidths=[18 * mm, 16 * mm, 32 * mm, 20 * mm, 94 * mm], repeatRows=1
    )
    checks_table.setStyle(TableStyle(styles))
    story += [checks_table, Spacer(1, 4 * mm), para(_("文件清单"), section)]

    file_rows = [[para(h) for h in (_("文件"), _("大小"), _("格式"), _("SHA-256 / SM3"))]]
    for path, info in list(files.items())[:MAX_FILE_ROWS]:
        file_rows.append(
            [
                para(_clip(path, 300), small),
                para(_human(int(info.get("size") or 0)), small),
                para(f"{info.get('format_name') or '—'}\n{info.get('puid') or ''}", small),
                para(f"{info.get('sha256', '')}\n{info.get('sm3', '')}", small),
            ]
        )
    if len(files) > MAX_FILE_ROWS:
        file_rows.append(
            [para(_("另有 %(n)d 个文件，见 JSON 报告") % {"n": len(files) - MAX_FILE_ROWS})]
        )
    files_table = LongTable(file_rows, colWidths=[48 * mm, 16 * mm, 36 * mm, 80 * mm], repeatRows=1)
    files_table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e0e0e0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [
        files_table,
        Spacer(1, 10 * mm),
        para(_("检测人：____________    审核人：____________    日期：____年__月__日")),
    ]

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        document = SimpleDocTemplate(
            temp_name,
            pagesize=A4,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=15 * mm,
            bottomMargin=15 * mm,
            title=title or _("四性检测报告"),
            author="Lantai",
        )

        def footer(canvas, doc) -> None:
            canvas.saveState()
            canvas.setFont(font, 8)
            canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, _("第 %(n)d 页") % {"n": doc.page})
            canvas.restoreState()

        document.build(story, onFirstPage=footer, onLaterPages=footer)
        with open(temp_name, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(temp_name, dest)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return dest
