"""A small archive for the portal tests: two units' fonds, items of every openness, real
files (PNG, JPEG, PDF) attached as access copies or masters through the storage services."""

from __future__ import annotations

import io

from PIL import Image
from reportlab.pdfgen import canvas

from lantai.holdings import services as holdings
from lantai.holdings.models import Category
from lantai.storage import services as storage


def png_bytes(color=(250, 250, 250), size=(600, 400)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(size=(500, 700)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (240, 235, 220)).save(out, "JPEG")
    return out.getvalue()


def pdf_bytes(text: str = "open document") -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(595, 842))
    c.drawString(72, 760, text)
    c.showPage()
    c.save()
    return out.getvalue()


def _file(item, data: bytes, name: str, role: str):
    obj = storage.put_file(io.BytesIO(data), f"portal-test/{item.pk}/{role}/{name}", purpose="test")
    return storage.attach(item, obj, role=role, filename=name)


def build() -> dict:
    unit_a = holdings.create_unit(None, {"code": "BGS-001", "name": "兰台区人民政府办公室"})
    unit_b = holdings.create_unit(None, {"code": "JYJ-001", "name": "兰台区教育局"})
    fonds_a = holdings.create_fonds(
        None, {"code": "Z109", "name": "兰台区人民政府", "unit": unit_a}
    )
    fonds_b = holdings.create_fonds(None, {"code": "X013", "name": "兰台区教育局", "unit": unit_b})
    ws = Category.objects.get(code="WS")
    kj = Category.objects.get(code="KJ")

    def item(title, fonds=fonds_a, category=ws, year=2011, **extra):
        data = {"fonds": fonds, "category": category, "year": year, "retention": "Y"}
        return holdings.create_item(None, {**data, "title": title, **extra})

    w: dict = {"unit_a": unit_a, "unit_b": unit_b, "fonds_a": fonds_a, "fonds_b": fonds_b}
    w["open"] = item("关于修建兰台公园的通知", openness="open", keywords="公园 绿化")
    w["open_png"] = _file(w["open"], png_bytes(), "公园规划图.png", "access")
    w["open_pdf"] = _file(w["open"], pdf_bytes(), "公园通知.pdf", "access")
    w["open_master"] = _file(w["open"], png_bytes((10, 10, 10)), "原件扫描.png", "master")
    w["electronic"] = item(
        "电子公文 公园验收报告", openness="open", carrier="electronic", year=2015
    )
    w["electronic_pdf"] = _file(w["electronic"], pdf_bytes("report"), "验收报告.pdf", "master")
    w["paper"] = item("纸质公园档案", openness="open", year=2015)
    w["paper_master"] = _file(w["paper"], jpeg_bytes(), "纸质扫描.jpg", "master")
    w["other_open"] = item("教育局公园研学通知", fonds=fonds_b, openness="open", year=2012)
    # Never public:
    w["restricted"] = item("公园征地补偿名册", openness="restricted")
    w["restricted_png"] = _file(w["restricted"], png_bytes((200, 0, 0)), "名册.png", "access")
    w["unreviewed"] = item("公园未鉴定文件", year=2013)
    w["unreviewed_pdf"] = _file(w["unreviewed"], pdf_bytes("secret"), "未鉴定.pdf", "access")
    w["internal"] = item("公园内部文件", openness="open", classification="internal", year=2013)
    w["internal_png"] = _file(w["internal"], png_bytes((0, 200, 0)), "内部.png", "access")
    w["other_restricted"] = item(
        "教育局公园控制文件", fonds=fonds_b, openness="restricted", year=2012
    )
    w["other_restricted_png"] = _file(
        w["other_restricted"], png_bytes((0, 0, 200)), "控制.png", "access"
    )
    closed = holdings.create_volume(
        None,
        {
            "fonds": fonds_a,
            "category": kj,
            "year": 1990,
            "retention": "Y",
            "title": "闭卷",
            "openness": "restricted",
        },
    )
    w["in_closed_volume"] = item(
        "闭卷内的公园图纸", category=kj, year=1990, openness="open", volume=closed
    )
    w["in_closed_png"] = _file(w["in_closed_volume"], png_bytes((9, 9, 9)), "图纸.png", "access")
    return w


PUBLIC = ("open", "electronic", "paper", "other_open")
HIDDEN = ("restricted", "unreviewed", "internal", "other_restricted", "in_closed_volume")
HIDDEN_FILES = (
    ("restricted", "restricted_png"),
    ("unreviewed", "unreviewed_pdf"),
    ("internal", "internal_png"),
    ("other_restricted", "other_restricted_png"),
    ("in_closed_volume", "in_closed_png"),
)
