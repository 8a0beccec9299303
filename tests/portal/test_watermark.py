"""Watermarks: the mark is really in the output (pixels changed, PDF text found)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader
from reportlab.pdfgen import canvas

from lantai.portal.watermark import (
    WatermarkError,
    watermark_image,
    watermark_pdf,
    watermark_text,
)

TEXT = "兰台区档案馆 · 陈公民 138****5678 · 2024-05-01 10:20"


def _image(fmt: str, size=(800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (255, 255, 255)).save(out, fmt)
    return out.getvalue()


def _pdf(pages=2, rotate_second=True) -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(595, 842))
    for n in range(pages):
        c.drawString(72, 760, f"page {n + 1} original content")
        c.showPage()
    c.save()
    if not rotate_second:
        return out.getvalue()
    import pikepdf

    with pikepdf.open(io.BytesIO(out.getvalue())) as pdf:
        pdf.pages[-1].obj["/Rotate"] = 90
        buf = io.BytesIO()
        pdf.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "mime_fmt"), [("PNG", "PNG"), ("JPEG", "JPEG"), ("TIFF", "PNG")])
def test_image_is_marked_all_over(fmt, mime_fmt):
    data = _image(fmt)
    marked = watermark_image(data, TEXT)
    with Image.open(io.BytesIO(marked)) as out:
        assert out.format == mime_fmt
        assert out.size == (800, 600)
        diff = ImageChops.difference(out.convert("RGB"), Image.new("RGB", out.size, "white"))
    # Marked pixels in every quarter of the image: the mark is tiled, not a corner stamp.
    for box in ((0, 0, 400, 300), (400, 0, 800, 300), (0, 300, 400, 600), (400, 300, 800, 600)):
        assert diff.crop(box).getbbox() is not None
    # Semi-transparent grey, never black.
    _low, high = diff.convert("L").getextrema()
    assert 0 < high < 120


def test_image_can_be_shrunk_for_viewing():
    marked = watermark_image(_image("PNG", (2400, 1800)), TEXT, max_side=1200)
    with Image.open(io.BytesIO(marked)) as out:
        assert max(out.size) == 1200


def test_pdf_every_page_carries_the_text():
    marked = watermark_pdf(_pdf(3), TEXT)
    reader = PdfReader(io.BytesIO(marked))
    assert len(reader.pages) == 3
    for n, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"page {n} original content" in text
        assert "陈公民" in text and "2024-05-01" in text
    assert reader.pages[2].get("/Rotate") == 90


def test_bad_files_raise_chinese_errors():
    with pytest.raises(WatermarkError, match="图像"):
        watermark_image(b"not an image", TEXT)
    with pytest.raises(WatermarkError, match="PDF"):
        watermark_pdf(b"%PDF-1.4 broken", TEXT)


@pytest.mark.django_db
def test_watermark_text_names_viewer_and_time(make_user):
    user = make_user("13812345678", "public", real_name="陈公民", phone="13812345678")
    text = watermark_text(user)
    assert "陈公民" in text and "138****5678" in text and "13812345678" not in text
