# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""Label sheets 标签: a PDF whose QR codes carry each object's scan code.

The PDF is read back without a PDF library: the page streams are inflated and the filled
squares of each label are put back into a QR matrix, which must equal the matrix segno makes
for the object's scan code (so a phone reading the label gets exactly that text)."""

from __future__ import annotations

import base64
import re
import zlib
from collections import defaultdict

import pytest
import segno
from django.core.exceptions import PermissionDenied, ValidationError

from lantai.vault import services_shelves as shelves
from vault.shelves_world import sh, world  # noqa: F401

STREAM = re.compile(rb"\bstream\r?\n")
RECT = re.compile(rb"([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) re f\*?")
MM = 72 / 25.4


def _pages(pdf: bytes) -> list[bytes]:
    streams = []
    for match in STREAM.finditer(pdf):
        body = pdf[match.end() :]
        header = pdf[pdf.rfind(b"obj", 0, match.start()) : match.start()]
        if b"ASCII85Decode" in header:
            body = base64.a85decode(body[: body.index(b"~>") + 2], adobe=True)
        # A Flate stream ends itself: inflate from its start and ignore what follows.
        try:
            data = zlib.decompressobj().decompress(body)
        except zlib.error:
            continue
        if b" re " in data or b"BT" in data:
            streams.append(data)
    return streams


def _matrices(page: bytes) -> list[set[tuple[int, int]]]:
    """The QR codes on one page, in label order, as sets of dark (row, column) cells."""
    labels: dict[tuple[int, int], list[tuple[float, ...]]] = defaultdict(list)
    page_w, page_h = 210 * MM, 297 * MM
    label_w, label_h = 70 * MM, 37 * MM
    margin_x = (page_w - shelves.LABEL_COLUMNS * label_w) / 2
    margin_y = (page_h - shelves.LABEL_ROWS * label_h) / 2
    for match in RECT.finditer(page):
        x, y, w, h = (float(v) for v in match.groups())
        col = int((x - margin_x) // label_w)
        row = int((page_h - margin_y - y) // label_h)
        labels[(row, col)].append((x, y, w, h))
    result = []
    for key in sorted(labels):
        rects = labels[key]
        cell = rects[0][2]
        left = min(r[0] for r in rects)
        top = max(r[1] + r[3] for r in rects)
        result.append(
            {(round((top - (y + h)) / cell), round((x - left) / cell)) for x, y, w, h in rects}
        )
    return result


def _expected(payload: str) -> set[tuple[int, int]]:
    qr = segno.make(payload, error="m", micro=False)
    return {
        (r, c)
        for r, line in enumerate(qr.matrix_iter(border=0))
        for c, dark in enumerate(line)
        if dark
    }


def test_label_sheet_carries_each_scan_code(sh):
    targets = [sh.a, sh.b, sh.box1, sh.volume, sh.item]
    pdf = shelves.label_sheet(sh.keeper, targets)
    assert pdf.startswith(b"%PDF-")
    pages = _pages(pdf)
    assert len(pages) == 1
    found = _matrices(pages[0])
    assert len(found) == len(targets)
    for matrix, obj in zip(found, targets, strict=True):
        assert matrix == _expected(shelves.scan_payload(obj))
    # Chinese text needs the embedded WenQuanYi font (or the built-in CJK fallback).
    assert b"ZenHei" in pdf or b"STSong" in pdf


def test_many_labels_fill_several_pages(sh):
    shelves.create_locations(
        sh.keeper, sh.vault, {"rows": 3, "columns": "1-5", "sections": "1-2", "shelves": "1-3"}
    )
    locations = list(sh.vault.locations.all())
    assert len(locations) == 4 + 30
    pdf = shelves.label_sheet(sh.keeper, locations)
    per_page = shelves.LABEL_COLUMNS * shelves.LABEL_ROWS
    assert len(re.findall(rb"/Type /Page\b", pdf)) == -(-len(locations) // per_page)
    pages = _pages(pdf)
    matrices = [m for page in pages for m in _matrices(page)]
    assert [len(m) > 0 for m in matrices].count(True) == len(locations)
    assert matrices[-1] == _expected(shelves.scan_payload(locations[-1]))


def test_label_rules(sh):
    with pytest.raises(ValidationError):
        shelves.label_sheet(sh.keeper, [])
    with pytest.raises(PermissionDenied):
        shelves.label_sheet(sh.archivist, [sh.a])
