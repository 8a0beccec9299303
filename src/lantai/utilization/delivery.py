"""Making what a request delivers: watermarked electronic copies 电子副本 and the certified
copy PDF 档案证明 (with its QR code and, when configured, a PDF digital signature).

Watermarks come from ``lantai.portal.watermark`` (the portal's, shared with its previews) when
that module is installed; the small implementations below are the fallback, so delivery works
on its own. Everything here works on bytes; storing them is the caller's business
(``lantai.storage.services.put_file``).
"""

from __future__ import annotations

import io
import logging
import math
import os
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
PDF_MIMES = {"application/pdf"}
IMAGE_MIMES = {"image/png", "image/jpeg", "image/tiff", "image/gif", "image/webp"}


@cache
def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        pdfmetrics.registerFont(TTFont("WQY-ZenHei", str(FONT_PATH), subfontIndex=0))
        return "WQY-ZenHei"
    except Exception:  # the font package is missing: a built-in CJK font still prints Chinese
        logger.warning("%s not found; certificates use STSong-Light", FONT_PATH)
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        return "STSong-Light"


# --- watermarks ---------------------------------------------------------------------------------


def can_watermark(mime: str) -> bool:
    return mime in PDF_MIMES or mime in IMAGE_MIMES


def _portal_watermark():
    try:
        from lantai.portal import watermark  # the portal's own, when present
    except ImportError:
        return None
    return watermark


def watermark(data: bytes, mime: str, text: str) -> bytes:
    """``data`` with ``text`` (date and requester) laid over every page or the whole image."""
    portal = _portal_watermark()
    if mime in PDF_MIMES:
        func = getattr(portal, "watermark_pdf", None) or watermark_pdf
    elif mime in IMAGE_MIMES:
        func = getattr(portal, "watermark_image", None) or watermark_image
    else:
        raise ValueError(_("此格式无法加水印：%(mime)s") % {"mime": mime})
    return func(data, text)


def watermark_image(data: bytes, text: str) -> bytes:
    """Diagonal rows of ``text`` in semi-transparent grey over the image; same format back."""
    from PIL import Image, ImageDraw, ImageFont
    from PIL.PngImagePlugin import PngInfo

    with Image.open(io.BytesIO(data)) as source:
        fmt = source.format or "PNG"
        base = source.convert("RGBA")
    size = max(14, min(base.size) // 18)
    try:
        font = ImageFont.truetype(str(FONT_PATH), size)
    except OSError:
        font = ImageFont.load_default()
    diagonal = int(math.hypot(*base.size))
    layer = Image.new("RGBA", (diagonal, diagonal), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    step_y = size * 4
    step_x = int(draw.textlength(text, font=font)) + size * 3
    for row, y in enumerate(range(0, diagonal, step_y)):
        for x in range(-(row % 2) * step_x // 2, diagonal, step_x):
            draw.text((x, y), text, font=font, fill=(120, 120, 120, 96))
    layer = layer.rotate(30, resample=Image.Resampling.BICUBIC)
    left = (diagonal - base.size[0]) // 2
    top = (diagonal - base.size[1]) // 2
    layer = layer.crop((left, top, left + base.size[0], top + base.size[1]))
    marked = Image.alpha_composite(base, layer)
    out = io.BytesIO()
    if fmt == "PNG":
        info = PngInfo()
        info.add_itxt("Lantai-Watermark", text)
        marked.save(out, "PNG", pnginfo=info)
    else:
        marked.convert("RGB").save(out, "JPEG" if fmt in {"JPEG", "MPO"} else fmt, quality=90)
    return out.getvalue()


def watermark_pdf(data: bytes, text: str) -> bytes:
    """Every page of ``data`` with ``text`` drawn diagonally over it (an overlay)."""
    import pikepdf
    from reportlab.lib.colors import Color
    from reportlab.pdfgen import canvas

    font = _font()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            box = [float(v) for v in page.mediabox]
            width, height = box[2] - box[0], box[3] - box[1]
            buffer = io.BytesIO()
            c = canvas.Canvas(buffer, pagesize=(width, height))
            c.setFillColor(Color(0.45, 0.45, 0.45, alpha=0.35))
            size = max(10, min(width, height) / 24)
            c.setFont(font, size)
            c.translate(width / 2, height / 2)
            c.rotate(35)
            for dy in range(-int(height), int(height), int(size * 5)):
                c.drawCentredString(0, dy, text)
            c.save()
            with pikepdf.open(io.BytesIO(buffer.getvalue())) as overlay:
                page.add_overlay(overlay.pages[0])
        pdf.docinfo["/LantaiWatermark"] = text
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


# --- certified copy -----------------------------------------------------------------------------


@dataclass
class CertificateText:
    """What a 档案证明 states."""

    archive_name: str
    request_number: str
    reference_code: str
    title: str
    content: str
    requester: str
    issued_at: datetime
    code_display: str
    verify_url: str


def qr_png(url: str) -> bytes:
    import segno

    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def certificate_pdf(text: CertificateText) -> bytes:
    """The certificate as PDF bytes (A4, CJK font, QR code to the verification page)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    from reportlab.platypus import KeepInFrame, Paragraph

    font = _font()
    buffer = io.BytesIO()
    width, height = A4
    c = canvas.Canvas(buffer, pagesize=A4, invariant=0)
    c.setTitle(_("档案证明"))
    c.setAuthor(text.archive_name)
    c.setSubject(text.reference_code)
    c.setFont(font, 24)
    c.drawCentredString(width / 2, height - 35 * mm, _("档案证明"))
    c.setFont(font, 11)
    c.drawRightString(
        width - 20 * mm,
        height - 45 * mm,
        _("编号：%(number)s") % {"number": text.request_number},
    )
    body = ParagraphStyle("body", fontName=font, fontSize=12, leading=20, wordWrap="CJK")
    rows = [
        (_("申请人"), text.requester),
        (_("档号"), text.reference_code),
        (_("题名"), text.title),
    ]
    y = height - 60 * mm
    for label, value in rows:
        para = Paragraph(f"<b>{escape(label)}：</b>{escape(value)}", body)
        _w, h = para.wrap(width - 40 * mm, 100 * mm)
        para.drawOn(c, 20 * mm, y - h)
        y -= h + 4 * mm
    heading = Paragraph(f"<b>{escape(_('证明内容'))}：</b>", body)
    _w, h = heading.wrap(width - 40 * mm, 20 * mm)
    heading.drawOn(c, 20 * mm, y - h)
    y -= h + 2 * mm
    content = escape(text.content).replace("\n", "<br/>")
    # Long excerpts shrink to fit above the statement and the issuer/QR block (never overlap).
    room = y - 100 * mm
    para = KeepInFrame(width - 50 * mm, room, [Paragraph(content, body)], mode="shrink")
    _w, h = para.wrapOn(c, width - 50 * mm, room)
    para.drawOn(c, 25 * mm, y - h)
    y -= min(h, room) + 8 * mm
    statement = Paragraph(escape(_("经核对，以上内容与本馆所藏档案记载一致，特此证明。")), body)
    _w, h = statement.wrap(width - 40 * mm, 30 * mm)
    statement.drawOn(c, 20 * mm, y - h)
    # Issuer and date bottom right; verification block bottom left.
    c.setFont(font, 13)
    c.drawRightString(width - 25 * mm, 75 * mm, text.archive_name)
    c.drawRightString(
        width - 25 * mm,
        67 * mm,
        _("%(y)d年%(m)d月%(d)d日")
        % {"y": text.issued_at.year, "m": text.issued_at.month, "d": text.issued_at.day},
    )
    qr = ImageReader(io.BytesIO(qr_png(text.verify_url)))
    c.drawImage(qr, 20 * mm, 25 * mm, 38 * mm, 38 * mm)
    c.setFont(font, 10)
    c.drawString(62 * mm, 55 * mm, _("验证码：%(code)s") % {"code": text.code_display})
    c.drawString(62 * mm, 48 * mm, _("扫描二维码或访问下列网址核验本证明："))
    c.setFont("Helvetica", 8)
    c.drawString(62 * mm, 42 * mm, text.verify_url)
    c.setFont(font, 9)
    c.drawString(
        20 * mm, 15 * mm, _("本证明仅用于申请人所述利用目的，涂改、复制无效，以在线核验结果为准。")
    )
    c.showPage()
    c.save()
    return buffer.getvalue()


# --- digital signature --------------------------------------------------------------------------


def signing_configured() -> bool:
    path = getattr(settings, "LANTAI_SIGNING_P12", "") or os.environ.get("LANTAI_SIGNING_P12", "")
    return bool(path) and Path(path).is_file()


def sign_pdf(data: bytes, *, reason: str, location: str = "") -> bytes:
    """``data`` signed (PAdES, invisible signature) with the configured PKCS#12 key."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    path = getattr(settings, "LANTAI_SIGNING_P12", "") or os.environ.get("LANTAI_SIGNING_P12", "")
    password = getattr(settings, "LANTAI_SIGNING_P12_PASSWORD", None)
    if password is None:
        password = os.environ.get("LANTAI_SIGNING_P12_PASSWORD", "")
    signer = signers.SimpleSigner.load_pkcs12(
        path, passphrase=password.encode() if password else None
    )
    if signer is None:
        raise ValueError(_("无法读取签名证书文件。"))
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(
        field_name="LantaiCertificate",
        reason=reason,
        location=location,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=signer).sign_pdf(writer, output=out)
    return out.getvalue()
