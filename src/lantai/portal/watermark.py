"""Watermarks 水印 for files shown to or delivered to the public.

``watermark_image(bytes, text)`` tiles ``text`` diagonally, semi-transparent, over the
whole image (Pillow, WenQuanYi Zen Hei for Chinese); ``watermark_pdf(bytes, text)`` lays a
reportlab overlay with the same tiling over every page (merged with pikepdf), drawn as real
text so the mark can be found in the PDF, and sized to each page's own box. Both work on
bytes and return bytes; storing is the caller's business. The utilization app reuses them for
electronic copies 电子副本.

The text normally names the viewer and the date (see ``watermark_text``): a copy that leaks
says whose it was.
"""

from __future__ import annotations

import io
import logging
import math
from functools import cache
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
#: Grey at this opacity stays readable over white paper scans and over dark photographs
#: without hiding the content.
_GREY = (110, 110, 110)
_ALPHA = 0.28
_ANGLE = 30


class WatermarkError(ValueError):
    """The file cannot be read as the format it claims (damaged, encrypted, not an image)."""


def watermark_text(user, when=None) -> str:
    """“兰台区档案馆 · 张三 138****5678 · 2024-05-01 10:20”: archive, viewer, time."""
    from django.conf import settings

    when = timezone.localtime(when or timezone.now())
    who = ""
    if user is not None and getattr(user, "is_authenticated", False):
        who = getattr(user, "real_name", "") or user.get_username()
        phone = getattr(user, "phone", "") or ""
        if len(phone) >= 7:
            who += f" {phone[:3]}****{phone[-4:]}"
    parts = [settings.LANTAI_ARCHIVE_NAME, who, when.strftime("%Y-%m-%d %H:%M")]
    return " · ".join(p for p in parts if p)


# --- images ----------------------------------------------------------------------------------


def _pil_font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.truetype(str(FONT_PATH), size)
    except OSError:  # no font package: the built-in font still marks the image
        logger.warning("%s not found; image watermarks use Pillow's default font", FONT_PATH)
        return ImageFont.load_default(size=size)


def _tile_layer(size: tuple[int, int], text: str):
    """A transparent RGBA layer of ``size`` with ``text`` tiled along a 30° diagonal."""
    from PIL import Image, ImageDraw

    width, height = size
    font_size = max(12, min(width, height) // 20)
    font = _pil_font(font_size)
    diagonal = int(math.hypot(width, height)) + font_size * 2
    layer = Image.new("RGBA", (diagonal, diagonal), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    fill = (*_GREY, int(255 * _ALPHA))
    step_x = int(draw.textlength(text, font=font)) + font_size * 3
    step_y = font_size * 4
    for row, y in enumerate(range(0, diagonal, step_y)):
        # Rows alternate by half a step so the marks do not line up in columns.
        for x in range(-(row % 2) * step_x // 2, diagonal, step_x):
            draw.text((x, y), text, font=font, fill=fill)
    layer = layer.rotate(_ANGLE, resample=Image.Resampling.BICUBIC)
    left, top = (diagonal - width) // 2, (diagonal - height) // 2
    return layer.crop((left, top, left + width, top + height))


def watermark_image(data: bytes, text: str, *, max_side: int | None = None) -> bytes:
    """``data`` (PNG, JPEG, TIFF, GIF, WebP…) with ``text`` tiled over it.

    JPEG comes back as JPEG, everything else as PNG (lossless, one frame). ``max_side``
    shrinks a large scan first (for on-screen viewing); None keeps the full size.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError
    from PIL.PngImagePlugin import PngInfo

    try:
        with Image.open(io.BytesIO(data)) as source:
            fmt = source.format
            image = ImageOps.exif_transpose(source)
            image = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise WatermarkError(_("图像文件无法读取，不能加水印。")) from exc
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    marked = Image.alpha_composite(image, _tile_layer(image.size, text))
    out = io.BytesIO()
    if fmt in {"JPEG", "MPO"}:
        marked.convert("RGB").save(out, "JPEG", quality=88)
    else:
        info = PngInfo()
        info.add_itxt("Lantai-Watermark", text)
        marked.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def image_output_mime(data: bytes) -> str:
    """The media type ``watermark_image`` returns for these input bytes."""
    return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"


# --- PDF -------------------------------------------------------------------------------------


@cache
def _pdf_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        pdfmetrics.registerFont(TTFont("LantaiWQY", str(FONT_PATH), subfontIndex=0))
        return "LantaiWQY"
    except Exception:  # no font file: a built-in CJK font still prints Chinese
        logger.warning("%s not found; PDF watermarks use STSong-Light", FONT_PATH)
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        return "STSong-Light"


def _overlay(width: float, height: float, text: str, rotate: int) -> bytes:
    """One page of ``width`` × ``height`` points with ``text`` tiled diagonally."""
    from reportlab.lib.colors import Color
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas

    font = _pdf_font()
    size = max(9.0, min(width, height) / 28)
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(width, height))
    c.setFillColor(Color(*(v / 255 for v in _GREY), alpha=_ALPHA))
    c.setFont(font, size)
    # Counter the page's /Rotate so the mark reads upright the way the page is shown.
    c.translate(width / 2, height / 2)
    c.rotate(_ANGLE + rotate)
    reach = math.hypot(width, height) / 2 + size * 2
    step_x = stringWidth(text, font, size) + size * 3
    step_y = size * 4
    row = 0
    y = -reach
    while y < reach:
        x = -reach - (row % 2) * step_x / 2
        while x < reach:
            c.drawString(x, y, text)
            x += step_x
        y += step_y
        row += 1
    c.showPage()
    c.save()
    return out.getvalue()


def watermark_pdf(data: bytes, text: str) -> bytes:
    """Every page of ``data`` with ``text`` tiled over it (an overlay on top of the content)."""
    import pikepdf

    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as exc:
        raise WatermarkError(_("PDF 文件已加密，不能加水印。")) from exc
    except pikepdf.PdfError as exc:
        raise WatermarkError(_("PDF 文件已损坏，不能加水印。")) from exc
    overlays: dict[tuple[float, float, int], pikepdf.Pdf] = {}
    try:
        with pdf:
            for page in pdf.pages:
                box = page.cropbox if "/CropBox" in page.obj else page.mediabox
                rect = pikepdf.Rectangle(box)
                rotate = int(page.obj.get("/Rotate", 0)) % 360
                key = (round(rect.width, 1), round(rect.height, 1), rotate)
                if key not in overlays:
                    overlays[key] = pikepdf.open(
                        io.BytesIO(_overlay(rect.width, rect.height, text, rotate))
                    )
                page.add_overlay(overlays[key].pages[0], rect)
            out = io.BytesIO()
            pdf.save(out)
    finally:
        for overlay in overlays.values():
            overlay.close()
    return out.getvalue()


__all__ = [
    "WatermarkError",
    "image_output_mime",
    "watermark_image",
    "watermark_pdf",
    "watermark_text",
]
