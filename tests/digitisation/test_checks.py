"""DA/T 31-2017 checks on real files: resolution from TIFF/JPEG/PNG metadata and from a PDF's
image against its page size, colour mode, format, empty/corrupt files, blank pages, profiles."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from PIL import Image

from lantai.digitisation import services
from lantai.digitisation.models import BatchStatus, CheckProfile, ScanBatch

from .conftest import encode, render_page, scan_pdf

pytestmark = pytest.mark.django_db


def upload(item, *files, actor=None, **kw):
    kw.setdefault("run_ocr", False)
    return services.create_batch(actor, item, [(n, io.BytesIO(d)) for n, d in files], **kw)


def codes(page) -> set[str]:
    return {i["code"] for i in page.issues}


def test_300_dpi_png_passes_and_150_dpi_jpeg_is_flagged(item, page_300, page_150):
    batch = upload(item, ("p1.png", page_300), ("p2.jpg", page_150))
    p1, p2 = batch.pages.order_by("number")
    assert (p1.result, round(p1.dpi_x), p1.mode) == ("pass", 300, "grey")
    assert p2.result == "fail" and "low_dpi" in codes(p2)
    assert round(p2.dpi) == 150
    assert batch.status == BatchStatus.REJECTED and batch.failed == 1 and batch.passed == 1
    report = services.batch_report(batch)
    low = report["pages"][1]["issues"][0]
    assert low["code"] == "low_dpi" and "150" in low["message"] and "200" in low["message"]


def test_multipage_tiff_is_checked_per_frame(item):
    frames = [render_page(dpi=300), render_page(dpi=150)]
    buf = io.BytesIO()
    frames[0].save(
        buf,
        format="TIFF",
        save_all=True,
        append_images=frames[1:],
        dpi=(300, 300),
        compression="tiff_deflate",
    )
    # Give the second frame its own (lower) resolution, as a scanner would record it.
    data = _retag_second_frame(buf.getvalue(), 150)
    batch = upload(item, ("vol.tif", data))
    pages = list(batch.pages.order_by("number"))
    assert [p.page_in_file for p in pages] == [1, 2]
    assert round(pages[0].dpi) == 300 and pages[0].result == "pass"
    assert round(pages[1].dpi) == 150 and "low_dpi" in codes(pages[1])


def _retag_second_frame(data: bytes, dpi: int) -> bytes:
    img = Image.open(io.BytesIO(data))
    frames = []
    for n in range(img.n_frames):
        img.seek(n)
        frames.append(img.copy())
    out = io.BytesIO()
    first, second = frames
    # Pillow writes one resolution for all frames; write the frames with their own tags.
    from PIL import TiffImagePlugin

    with TiffImagePlugin.AppendingTiffWriter(out, True) as tf:
        for frame, res in ((first, 300), (second, dpi)):
            frame.save(tf, format="TIFF", dpi=(res, res))
            tf.newFrame()
    return out.getvalue()


def test_pdf_resolution_from_image_and_page_size(item):
    img = render_page(dpi=240)
    batch = upload(item, ("scan.pdf", scan_pdf(img, 240)))
    page = batch.pages.get()
    assert page.width == img.width and abs(page.dpi_x - 240) < 1 and abs(page.dpi_y - 240) < 1
    assert page.result == "pass"
    # The same pixels laid out on a page twice as large are 120 dpi.
    batch = upload(item, ("big.pdf", scan_pdf(img, 120)))
    assert "low_dpi" in codes(batch.pages.get())


def test_pdf_without_scan_image_fails(item):
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf)
    c.drawString(72, 720, "born digital")
    c.save()
    batch = upload(item, ("text.pdf", buf.getvalue()))
    assert "no_image" in codes(batch.pages.get()) and batch.status == BatchStatus.REJECTED


def test_corrupt_empty_and_unknown_files_are_reported(item, page_300):
    truncated = page_300[: len(page_300) // 3]
    batch = upload(
        item,
        ("ok.png", page_300),
        ("broken.png", truncated),
        ("empty.tif", b""),
        ("notes.tif", "这不是图像".encode()),
    )
    pages = list(batch.pages.order_by("number"))
    assert len(pages) == 4
    assert pages[0].result == "pass"
    assert codes(pages[1]) & {"undecodable", "unreadable"}
    assert codes(pages[2]) == {"empty_file"}
    assert codes(pages[3]) == {"unknown_format"}
    assert batch.status == BatchStatus.REJECTED
    messages = [i["message"] for p in services.batch_report(batch)["pages"] for i in p["issues"]]
    assert "文件为空" in messages


def test_missing_resolution_and_extension_mismatch(item):
    img = render_page(dpi=300)
    batch = upload(
        item, ("nodpi.png", encode(img, "PNG")), ("really-png.jpg", encode(img, "PNG", dpi=300))
    )
    nodpi, renamed = batch.pages.order_by("number")
    assert "no_dpi" in codes(nodpi) and nodpi.result == "fail"
    assert codes(renamed) == {"extension_mismatch"} and renamed.result == "warning"


def test_colour_modes_stamp_rule_and_blank_page(item):
    colour = encode(render_page(dpi=300, mode="RGB", stamp=True), "JPEG", dpi=300)
    bitonal = encode(render_page(dpi=300, mode="1"), "TIFF", dpi=300, compression="group4")
    blank = encode(Image.new("L", (1200, 500), 255), "PNG", dpi=300)
    batch = upload(
        item, ("c.jpg", colour), ("b.tif", bitonal), ("blank.png", blank), colour_elements=True
    )
    c, b, e = batch.pages.order_by("number")
    assert (c.mode, c.result) == ("colour", "pass")
    assert b.mode == "bitonal" and "bitonal_colour" in codes(b)
    assert codes(e) == {"blank"} and e.result == "warning"
    # Without red headers or seals a bitonal scan is fine.
    plain = upload(item, ("b.tif", bitonal))
    assert plain.pages.get().result == "pass"


def test_profile_for_fonds_overrides_thresholds(item, page_300, settings):
    settings.LANTAI_DIGITISATION = {"min_dpi": 250}
    batch = upload(item, ("p.png", encode(render_page(dpi=240), "PNG", dpi=240)))
    assert "low_dpi" in codes(batch.pages.get()) and batch.thresholds["min_dpi"] == 250
    CheckProfile.objects.create(name="全档案馆", min_dpi=200)
    CheckProfile.objects.create(
        name="Z109 高要求",
        fonds=item.fonds,
        min_dpi=400,
        allowed_formats=["TIFF"],
        allowed_modes=["grey", "colour"],
        blocking=False,
    )
    batch = upload(item, ("p.png", page_300))
    page = batch.pages.get()
    assert {"low_dpi", "format_not_allowed"} <= codes(page)
    # A non-blocking profile reports the failure but lets the batch go on to OCR.
    assert batch.status == BatchStatus.CHECKED and batch.thresholds["profile"] == "Z109 高要求"


def test_bad_input_and_permissions(item, page_300, keeper, other_officer, archivist):
    with pytest.raises(ValidationError) as exc:
        upload(item)
    assert "请选择要上传的扫描文件。" in exc.value.messages
    with pytest.raises(PermissionDenied):
        upload(item, ("p.png", page_300), actor=keeper)
    with pytest.raises(PermissionDenied):
        upload(item, ("p.png", page_300), actor=other_officer)
    assert not ScanBatch.objects.exists()
    batch = upload(item, ("../../etc/p.png", page_300), actor=archivist)
    assert batch.files.get().filename == "p.png"
    assert batch.created_by == archivist


def test_spool_sweep_keeps_what_is_needed(item, page_300, page_150, settings):
    import os
    import time

    ok = upload(item, ("p.png", page_300))
    bad = upload(item, ("p.jpg", page_150))
    root = services.spool_root()
    orphan = root / "0123456789abcdef"
    orphan.mkdir(parents=True)
    (orphan / "0001.png").write_bytes(page_300)
    fresh = root / "fedcba9876543210"
    fresh.mkdir()
    old = time.time() - 3 * 86400
    os.utime(orphan, (old, old))
    ScanBatch.objects.filter(pk=bad.pk).update(
        created_at=ScanBatch.objects.get(pk=bad.pk).created_at.replace(year=2020)
    )
    assert services.sweep_spool() == {"orphans": 1, "rejected": 1}
    assert not orphan.exists() and fresh.exists()
    assert (root / ok.spool).is_dir() and not (root / bad.spool).exists()
    # The rejected batch's report stays.
    assert services.batch_report(ScanBatch.objects.get(pk=bad.pk))["failed"] == 1
