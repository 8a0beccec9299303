"""Fixtures for digitisation: storage locations in a temp dir, an item of one unit, users in
each role (one unit officer of the item's unit, one of another unit), and real scans rendered
with Pillow in the CJK font wqy-zenhei at a chosen resolution."""

from __future__ import annotations

import difflib
import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from lantai.holdings import services as holdings
from lantai.holdings.models import Category
from lantai.storage import services as storage
from lantai.storage.models import BackendKind, LocationRole, StorageLocation
from role_fixtures import make_user  # noqa: F401  (fixtures are found by name)

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
LINES = [
    "关于加强档案数字化工作的通知",
    "各单位：请按照规范扫描纸质档案",
    "扫描分辨率不低于二百点每英寸",
]


def render_page(
    lines: list[str] = LINES,
    *,
    dpi: int = 300,
    mode: str = "L",
    width_in: float = 4.2,
    height_in: float = 1.6,
    pt: float = 12,
    stamp: bool = False,
) -> Image.Image:
    """A small page (about 4.2 × 1.6 inches) with ``lines`` in 12 pt type at ``dpi``."""
    size_px = round(pt / 72 * dpi)
    font = ImageFont.truetype(FONT, size_px)
    img = Image.new("RGB", (round(width_in * dpi), round(height_in * dpi)), "white")
    draw = ImageDraw.Draw(img)
    margin = round(0.25 * dpi)
    for n, line in enumerate(lines):
        draw.text((margin, margin + n * round(size_px * 1.6)), line, font=font, fill="black")
    if stamp:
        r = round(0.35 * dpi)
        draw.ellipse(
            (img.width - 2 * r - 10, 10, img.width - 10, 10 + 2 * r), outline="red", width=6
        )
    if mode == "1":
        return img.convert("L").point(lambda v: 255 if v > 128 else 0).convert("1")
    return img.convert(mode)


def encode(img: Image.Image, fmt: str, *, dpi: float | None = None, **kw) -> bytes:
    buf = io.BytesIO()
    if dpi is not None:
        kw["dpi"] = (dpi, dpi)
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def scan_pdf(img: Image.Image, dpi: int) -> bytes:
    """A scanned PDF: the page image drawn over a whole page of the matching physical size."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    w, h = img.width * 72 / dpi, img.height * 72 / dpi
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(w, h))
    c.drawImage(ImageReader(img.convert("RGB")), 0, 0, width=w, height=h)
    c.showPage()
    c.save()
    return buf.getvalue()


def overlap(expected: str, got: str) -> float:
    """Share of the expected characters (whitespace ignored) found in order in ``got``."""
    a = "".join(expected.split())
    b = "".join(got.split())
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / max(1, len(a))


@pytest.fixture
def locations(db, tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "_synced_env", True)
    return StorageLocation.objects.create(
        code="local",
        name="本地",
        backend=BackendKind.LOCAL,
        config={"root": str(tmp_path / "store")},
        role=LocationRole.PRIMARY,
    )


@pytest.fixture
def unit(db):
    return holdings.create_unit(None, {"code": "BGS-001", "name": "兰台区人民政府办公室"})


@pytest.fixture
def other_unit(db):
    return holdings.create_unit(None, {"code": "JYJ-001", "name": "兰台区教育局"})


@pytest.fixture
def fonds(unit):
    return holdings.create_fonds(None, {"code": "Z109", "name": "兰台区人民政府", "unit": unit})


@pytest.fixture
def item(fonds):
    return holdings.create_item(
        None,
        {
            "fonds": fonds,
            "category": Category.objects.get(code="WS"),
            "year": 2024,
            "retention": "Y",
            "title": "关于加强档案数字化工作的通知",
            "responsible": "兰台区人民政府办公室",
        },
    )


@pytest.fixture
def archivist(make_user):  # noqa: F811
    return make_user("dig_archivist", "archivist", real_name="张馆员")


@pytest.fixture
def keeper(make_user):  # noqa: F811
    return make_user("dig_keeper", "keeper")


@pytest.fixture
def public_user(make_user):  # noqa: F811
    return make_user("dig_public", "public")


@pytest.fixture
def own_officer(make_user, unit):  # noqa: F811
    return make_user("dig_officer_own", "unit_officer", unit=unit)


@pytest.fixture
def other_officer(make_user, other_unit):  # noqa: F811
    return make_user("dig_officer_other", "unit_officer", unit=other_unit)


@pytest.fixture
def login(client):
    def do(user):
        client.force_login(user)
        return client

    return do


@pytest.fixture
def page_300() -> bytes:
    return encode(render_page(dpi=300), "PNG", dpi=300)


@pytest.fixture
def page_150() -> bytes:
    return encode(render_page(dpi=150), "JPEG", dpi=150, quality=90)


@pytest.fixture
def write(tmp_path):
    def do(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return do


_MEMO: dict[str, list] = {}


@pytest.fixture
def memo_ocr(monkeypatch):
    """Real OCR, run once per distinct page image in this test process (OCR is CPU heavy;
    tests of storing, replacing and permissions need real results, not fresh ones)."""
    from lantai.digitisation import ocr

    real = ocr.recognise

    def recognise(image):
        key = hashlib.sha256(image.tobytes()).hexdigest() + image.mode
        if key not in _MEMO:
            _MEMO[key] = real(image)
        return _MEMO[key]

    monkeypatch.setattr(ocr, "recognise", recognise)
