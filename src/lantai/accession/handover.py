"""档案交接文据 handover form: the printable record of what passed from a unit (or a donor) to
the archive — counts by category and retention in 卷 and 件, both parties, dates, batch number.

The PDF is drawn with reportlab in a CJK font (Debian's fonts-wqy-zenhei; if that file is
missing, reportlab's built-in STSong-Light CID font, which PDF viewers supply) and written
atomically (temp file, fsync, rename) in the batch's own folder.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.accession.models import BatchItem, BatchKind, HandoverForm, TransferBatch
from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.holdings.models import Category, Retention

DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
_FONT_NAME = "LantaiCJK"
_registered: str | None = None


def handover_counts(batch: TransferBatch) -> dict[str, Any]:
    """卷 and 件 the batch brought in, per category and retention, from its provenance rows.

    Items inside volumes (卷内文件) are shown apart and not added to 卷(件).
    """
    rows: dict[tuple[int, str], dict[str, int]] = defaultdict(
        lambda: {"volumes": 0, "items": 0, "items_in_volumes": 0}
    )
    entries = BatchItem.objects.filter(batch=batch).order_by()
    for row in (
        entries.filter(item__isnull=False)
        .values("item__category_id", "item__retention")
        .annotate(
            standalone=Count("pk", filter=Q(item__volume__isnull=True)),
            inside=Count("pk", filter=Q(item__volume__isnull=False)),
        )
    ):
        key = (row["item__category_id"], row["item__retention"])
        rows[key]["items"] += row["standalone"]
        rows[key]["items_in_volumes"] += row["inside"]
    for row in (
        entries.filter(volume__isnull=False)
        .values("volume__category_id", "volume__retention")
        .annotate(n=Count("pk"))
    ):
        rows[(row["volume__category_id"], row["volume__retention"])]["volumes"] += row["n"]
    categories = Category.objects.in_bulk({key[0] for key in rows})
    retention_labels = dict(Retention.choices)
    retention_order = {value: n for n, value in enumerate(Retention.values)}
    result = []
    for (category_id, retention), figures in rows.items():
        category = categories[category_id]
        result.append(
            {
                "category": category.code,
                "category_name": category.name,
                "sort": category.sort_order,
                "retention": retention,
                "retention_label": str(retention_labels.get(retention, retention)),
                **figures,
                "total": figures["volumes"] + figures["items"],
            }
        )
    result.sort(key=lambda r: (r["sort"], r["category"], retention_order.get(r["retention"], 99)))
    for r in result:
        del r["sort"]
    totals = {
        key: sum(r[key] for r in result)
        for key in ("volumes", "items", "items_in_volumes", "total")
    }
    return {"rows": result, "totals": totals, "files": batch.file_count}


def _party_name(user) -> str:
    if user is None:
        return ""
    return (getattr(user, "real_name", "") or getattr(user, "username", "") or str(user))[:100]


def create_handover(actor, batch: TransferBatch) -> HandoverForm:
    """The batch's handover form with its PDF. Call it inside the acceptance transaction."""
    from lantai.accession.services import _next_number, current_upload

    year = timezone.localdate().year
    with transaction.atomic():
        number = _next_number("JJ", year, HandoverForm.objects.all())
        if batch.kind == BatchKind.ACQUISITION and batch.acquisition_id:
            transferor = batch.acquisition.donor_name[:100]
        else:
            upload = current_upload(batch)
            transferor = _party_name(
                getattr(upload, "uploaded_by", None) or batch.created_by
            ) or str(batch.unit or "")
        form = HandoverForm.objects.create(
            batch=batch,
            number=number,
            counts=handover_counts(batch),
            transferor=transferor[:100],
            receiver=_party_name(actor) or _("系统"),
        )
        write_pdf(form)
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=form,
            detail={"batch": batch.number, "sha256": form.pdf_sha256, "counts": form.counts},
        )
    return form


def pdf_path(form: HandoverForm) -> Path:
    from lantai.accession.services import batch_folder

    return batch_folder(form.batch) / f"handover-{form.number}.pdf"


def write_pdf(form: HandoverForm) -> Path:
    """Draw the form's PDF into the batch folder atomically and store its path and SHA-256."""
    dest = pdf_path(form)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        with open(tmp, "wb") as out:
            render_pdf(form, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    digest = hashlib.sha256()
    with open(dest, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    form.pdf_path = str(dest)
    form.pdf_sha256 = digest.hexdigest()
    HandoverForm.objects.filter(pk=form.pk).update(
        pdf_path=form.pdf_path, pdf_sha256=form.pdf_sha256
    )
    return dest


def ensure_pdf(form: HandoverForm) -> Path:
    """The form's PDF, drawn again from the stored figures if its file went missing."""
    path = Path(form.pdf_path) if form.pdf_path else None
    if path is None or not path.is_file():
        path = write_pdf(form)
    return path


# --- drawing ------------------------------------------------------------------------------------


def _font() -> str:
    """Register the CJK font once; returns its name for reportlab styles."""
    global _registered
    if _registered:
        return _registered
    from reportlab.pdfbase import pdfmetrics

    path = getattr(settings, "LANTAI_PDF_FONT", DEFAULT_FONT)
    if path and Path(path).is_file():
        from reportlab.pdfbase.ttfonts import TTFont

        pdfmetrics.registerFont(TTFont(_FONT_NAME, path, subfontIndex=0))
        _registered = _FONT_NAME
    else:
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        _registered = "STSong-Light"
    return _registered


def _day(value: datetime | None) -> str:
    if value is None:
        return "    年  月  日"
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{local.year}年{local.month:02d}月{local.day:02d}日"


def render_pdf(form: HandoverForm, out) -> None:
    """Write the handover form as an A4 PDF to the binary file ``out``."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    batch = form.batch
    archive = getattr(settings, "LANTAI_ARCHIVE_NAME", "")
    title_style = ParagraphStyle("t", fontName=font, fontSize=20, leading=28, alignment=TA_CENTER)
    sub_style = ParagraphStyle("s", fontName=font, fontSize=10, leading=14, alignment=TA_CENTER)
    body = ParagraphStyle("b", fontName=font, fontSize=10.5, leading=15, wordWrap="CJK")
    cell = ParagraphStyle("c", parent=body, fontSize=10, leading=13)

    def p(text: Any, style=cell) -> Paragraph:
        return Paragraph(escape(str(text if text is not None else "")), style)

    kind = batch.get_kind_display()
    if batch.kind == BatchKind.ACQUISITION and batch.acquisition_id:
        source = _("%(donor)s（%(method)s，%(no)s）") % {
            "donor": batch.acquisition.donor_name,
            "method": batch.acquisition.get_method_display(),
            "no": batch.acquisition.number,
        }
    else:
        source = str(batch.unit.name if batch.unit else "")
    info = [
        [p(_("移交单位")), p(source), p(_("接收单位")), p(archive)],
        [p(_("批次号")), p(batch.number), p(_("来源")), p(kind)],
        [
            p(_("全宗")),
            p(f"{batch.fonds.code} {batch.fonds.name}"),
            p(_("文据编号")),
            p(form.number),
        ],
        [
            p(_("提交日期")),
            p(_day(batch.submitted_at)),
            p(_("接收日期")),
            p(_day(batch.accepted_at)),
        ],
        [
            p(_("批次说明")),
            p(batch.title),
            p(_("电子文件")),
            p(_("%(n)d 个") % {"n": batch.file_count}),
        ],
    ]
    info_table = Table(info, colWidths=[22 * mm, 63 * mm, 22 * mm, 63 * mm])
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eef1f4")),
            ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#eef1f4")),
        ]
    )
    info_table.setStyle(grid)

    counts = form.counts or {}
    count_rows = [
        [p(_("门类")), p(_("保管期限")), p(_("卷")), p(_("件")), p(_("卷内文件（件）")),
         p(_("卷(件)"))],
    ]  # fmt: skip
    for r in counts.get("rows", []):
        count_rows.append(
            [
                p(f"{r['category']} {r['category_name']}"),
                p(r["retention_label"]),
                p(r["volumes"]),
                p(r["items"]),
                p(r["items_in_volumes"]),
                p(r["total"]),
            ]
        )
    totals = counts.get("totals", {})
    count_rows.append(
        [
            p(_("合计")),
            p(""),
            p(totals.get("volumes", 0)),
            p(totals.get("items", 0)),
            p(totals.get("items_in_volumes", 0)),
            p(totals.get("total", 0)),
        ]
    )
    count_table = Table(
        count_rows, colWidths=[50 * mm, 26 * mm, 20 * mm, 20 * mm, 32 * mm, 22 * mm], repeatRows=1
    )
    count_table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f4")),
                ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f6f8fa")),
                ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    signatures = Table(
        [
            [p(_("移交单位（盖章）")), p(_("接收单位（盖章）"))],
            [
                p(_("移交人：%(n)s") % {"n": form.transferor}),
                p(_("接收人：%(n)s") % {"n": form.receiver}),
            ],
            [
                p(_("日期：%(d)s") % {"d": _day(batch.submitted_at)}),
                p(_("日期：%(d)s") % {"d": _day(batch.accepted_at)}),
            ],
        ],
        colWidths=[85 * mm, 85 * mm],
        rowHeights=[26 * mm, 10 * mm, 10 * mm],
    )
    signatures.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (0, -1), 0.6, colors.black),
                ("BOX", (1, 0), (1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, 0), "TOP"),
            ]
        )
    )
    story = [
        Paragraph(escape(_("档案交接文据")), title_style),
        Paragraph(escape(_("文据编号：%(n)s") % {"n": form.number}), sub_style),
        Spacer(1, 6 * mm),
        info_table,
        Spacer(1, 6 * mm),
        Paragraph(escape(_("移交档案数量（按门类和保管期限）")), body),
        Spacer(1, 2 * mm),
        count_table,
        Spacer(1, 4 * mm),
    ]
    if batch.opening_opinion:
        story += [
            Paragraph(escape(_("开放意见：%(o)s") % {"o": batch.opening_opinion}), body),
            Spacer(1, 4 * mm),
        ]
    story += [
        Paragraph(
            escape(
                _(
                    "上述档案经双方清点核对，数量与目录相符，"
                    "电子文件已通过检测并存储，特立此据。本文据一式两份，双方各执一份。"
                )
            ),
            body,
        ),
        Spacer(1, 8 * mm),
        signatures,
    ]

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(
            20 * mm,
            10 * mm,
            _("兰台 · %(a)s · %(n)s · 第 %(p)d 页")
            % {"a": archive, "n": form.number, "p": doc.page},
        )
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=_("档案交接文据 %(n)s") % {"n": form.number},
        author=archive,
        invariant=1,
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
