"""Searchable PDF 双层 PDF: each page is the scan, with the recognised text laid over it
invisibly (text render mode 3) where OCR found it, so a reader can search and copy.

Drawn with reportlab in the CJK font wqy-zenhei (subset embedded, with a ToUnicode map so the
text extracts); the page size follows the scan's resolution, so the PDF prints at true size.
"""

from __future__ import annotations

import io
import logging
from functools import cache
from pathlib import Path

from PIL import Image

from lantai.digitisation.ocr import Line

logger = logging.getLogger(__name__)

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
#: JPEG quality of the page images in the access copy (the master keeps the original scan).
JPEG_QUALITY = 80


@cache
def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        pdfmetrics.registerFont(TTFont("WQY-ZenHei", str(FONT_PATH), subfontIndex=0))
        return "WQY-ZenHei"
    except Exception:  # the font package is missing: a built-in CJK font still carries text
        logger.warning("%s not found; the searchable PDF uses STSong-Light", FONT_PATH)
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        return "STSong-Light"


def _image_reader(image: Image.Image):
    from reportlab.lib.utils import ImageReader

    buf = io.BytesIO()
    if image.mode == "1":
        # Bitonal pages stay lossless (they compress well); JPEG would smear them.
        image.convert("L").save(buf, format="PNG", optimize=False)
    else:
        image.convert("L" if image.mode in {"L", "LA", "I", "I;16", "F"} else "RGB").save(
            buf, format="JPEG", quality=JPEG_QUALITY
        )
    buf.seek(0)
    return ImageReader(buf)


class SearchablePdf:
    """Build the PDF page by page (one page image in memory at a time)."""

    def __init__(self, path: Path, *, title: str = "") -> None:
        from reportlab.pdfgen.canvas import Canvas

        self.font = _font()
        self.canvas = Canvas(str(path), pageCompression=1, invariant=0)
        if title:
            self.canvas.setTitle(title)
        self.canvas.setCreator("Lantai 兰台")
        self.pages = 0

    def add_page(self, image: Image.Image, dpi_x: float, dpi_y: float, lines: list[Line]) -> None:
        from reportlab.pdfbase.pdfmetrics import stringWidth

        sx, sy = 72.0 / dpi_x, 72.0 / dpi_y
        width, height = image.width * sx, image.height * sy
        c = self.canvas
        c.setPageSize((width, height))
        c.drawImage(_image_reader(image), 0, 0, width=width, height=height)
        for line in lines:
            xs = [p[0] for p in line.box]
            ys = [p[1] for p in line.box]
            box_w = (max(xs) - min(xs)) * sx
            box_h = (max(ys) - min(ys)) * sy
            if box_w <= 0 or box_h <= 0:
                continue
            vertical = box_h > 2 * box_w and len(line.text) > 1
            size = max(1.0, (box_w if vertical else box_h) * 0.85)
            text = c.beginText()
            text.setTextRenderMode(3)  # invisible: the scan shows, the text is searchable
            text.setFont(self.font, size)
            if vertical:
                # Vertical lines (竖排): one glyph under another down the box.
                step = box_h / len(line.text)
                for n, ch in enumerate(line.text):
                    text.setTextOrigin(min(xs) * sx, height - (min(ys) * sy + (n + 1) * step))
                    text.textOut(ch)
            else:
                natural = stringWidth(line.text, self.font, size) or 1.0
                text.setHorizScale(100.0 * box_w / natural)
                # Baseline a little above the box bottom (descenders).
                text.setTextOrigin(min(xs) * sx, height - max(ys) * sy + box_h * 0.15)
                text.textOut(line.text)
            c.drawText(text)
        c.showPage()
        self.pages += 1

    def save(self) -> None:
        self.canvas.save()
