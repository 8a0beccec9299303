"""Fixtures for the catalog, check, import and CLI tests: a unit with fonds Z109 and two
series, a transfer batch, and helpers writing real catalogs (.csv in any encoding, .xlsx with
xlsxwriter, .xls with xlwt) and uploads pointing at them.

Imported by the test modules (``tests/`` is on sys.path):
``from accession.catalog_world import *  # noqa: F403``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from lantai.accession.models import CatalogUpload, TransferBatch
from lantai.holdings import refcode
from lantai.holdings import services as holdings
from lantai.holdings.models import Fonds, Series, Unit

HEADERS = ["档号", "件号", "题名", "责任者", "文号", "日期", "页数", "保管期限", "年度", "机构问题"]


def real_pdf(title: str = "", *, password: str = "") -> bytes:
    """A real one-page PDF (it passes the four-property 'content opens' check); ``title``
    makes files differ, ``password`` encrypts it."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    if title:
        pdf.docinfo["/Title"] = title
    buffer = io.BytesIO()
    encryption = pikepdf.Encryption(owner=password, user=password) if password else None
    pdf.save(buffer, static_id=True, encryption=encryption or False)
    return buffer.getvalue()


def real_image(fmt: str = "PNG", colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real 8×8 image (PNG, JPEG …) made with Pillow; ``colour`` makes files differ."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format=fmt)
    return buffer.getvalue()


PDF = real_pdf()


def code(number: int, *, year: int = 2011, series: str = "BGS", retention: str = "Y") -> str:
    return f"Z109-WS·{year}-{retention}-{series}-{number:04d}"


def row(number: int, **overrides) -> list[str]:
    """One good 归档文件目录 row (HEADERS order) for item ``number`` of Z109/WS/2011/Y/BGS."""
    values = {
        "档号": code(number),
        "件号": str(number),
        "题名": f"关于2011年第{number}项工作的通知",
        "责任者": "兰台区人民政府办公室",
        "文号": f"兰政办发〔2011〕{number}号",
        "日期": f"201103{(number % 28) + 1:02d}",
        "页数": "3",
        "保管期限": "永久",
        "年度": "2011",
        "机构问题": "BGS",
    }
    values.update(overrides)
    return [values[h] for h in HEADERS]


def rows(count: int, start: int = 1) -> list[list[str]]:
    return [row(n) for n in range(start, start + count)]


def write_csv(path: Path, data, *, headers=HEADERS, encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(data)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, data, *, headers=HEADERS, title_row: str = "", formulas=()) -> Path:
    """An .xlsx made by xlsxwriter; ``formulas`` = [(row index in data, col, "=…")]."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("归档文件目录")
    top = 0
    if title_row:
        sheet.write_string(0, 0, title_row)
        top = 1
    sheet.write_row(top, 0, headers)
    for r, values in enumerate(data, top + 1):
        for c, value in enumerate(values):
            if isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write(r, c, value)
    for r, c, formula in formulas:
        sheet.write_formula(top + 1 + r, c, formula, None, 1)
    workbook.close()
    return path


def write_xls(path: Path, data, *, headers=HEADERS) -> Path:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("归档文件目录")
    for c, header in enumerate(headers):
        sheet.write(0, c, header)
    for r, values in enumerate(data, 1):
        for c, value in enumerate(values):
            sheet.write(r, c, value)
    book.save(str(path))
    return path


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


@dataclass
class World:
    unit: Unit
    fonds: Fonds
    series: Series
    batch: TransferBatch
    tmp: Path

    def upload(self, catalog: Path, *, files: Path | None = None, mapping=None) -> CatalogUpload:
        return CatalogUpload.objects.create(
            batch=self.batch,
            catalog_name=catalog.name,
            catalog_path=str(catalog),
            catalog_sha256=hashlib.sha256(catalog.read_bytes()).hexdigest(),
            files_name=files.name if files is not None else "",
            files_path=str(files) if files is not None else "",
            mapping=mapping or {},
        )

    def item(self, number: int, **data):
        """An item already in holdings (through holdings' own service)."""
        values = {
            "fonds": self.fonds,
            "category": "WS",
            "series": self.series,
            "year": 2011,
            "retention": "Y",
            "item_no": number,
            "title": f"馆藏中已有的第{number}件",
        }
        values.update(data)
        return holdings.create_item(None, values)


@pytest.fixture
def world(db, tmp_path) -> World:
    refcode.clear_scheme_cache()
    unit = holdings.create_unit(None, {"code": "DW001", "name": "兰台区人民政府办公室"})
    fonds = holdings.create_fonds(None, {"code": "Z109", "name": "兰台区人民政府", "unit": unit})
    series = holdings.create_series(None, {"fonds": fonds, "code": "BGS", "name": "办公室"})
    holdings.create_series(None, {"fonds": fonds, "code": "CWK", "name": "财务科"})
    batch = TransferBatch.objects.create(number="YJ-TEST-0001", unit=unit, fonds=fonds)
    yield World(unit=unit, fonds=fonds, series=series, batch=batch, tmp=tmp_path)
    refcode.clear_scheme_cache()


__all__ = [
    "HEADERS",
    "PDF",
    "World",
    "code",
    "row",
    "rows",
    "world",
    "write_csv",
    "write_xls",
    "write_xlsx",
    "write_zip",
]
