"""OCR on real rendered pages: the text is recovered, the searchable PDF carries it, the job
reports progress, results are stored all-or-nothing and a re-run replaces them cleanly. No
network: the bundled models are used."""

from __future__ import annotations

import io
import socket

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from pypdf import PdfReader

from lantai.digitisation import ocr, services
from lantai.digitisation.models import BatchStatus, DigitisedComponent, ScanBatch
from lantai.jobs.models import JobStatus
from lantai.storage import services as storage
from lantai.storage.models import Component

from .conftest import LINES, encode, overlap, render_page

pytestmark = pytest.mark.django_db


def upload_file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


EXPECTED = "".join(LINES)


def read(component: Component) -> bytes:
    with storage.open_object(component.object) as fh:
        return fh.read()


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt fails the test; the OCR engine is loaded afresh under it."""

    def refuse(*args, **kwargs):
        raise AssertionError("OCR tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(ocr, "_engine", None)


def test_upload_recognise_and_store(
    no_network, login, archivist, item, locations, page_300, django_capture_on_commit_callbacks
):
    params = ocr.engine_params()
    assert all(str(ocr.model_dir()) in params[f"{t}.model_path"] for t in ("Det", "Cls", "Rec"))
    client = login(archivist)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("digitisation:upload", args=[item.pk]),
            {"files": [upload_file("p.png", page_300)], "run_ocr": "on"},
        )
    assert response.status_code == 302
    batch = ScanBatch.objects.get(item=item)
    assert batch.status == BatchStatus.DONE, batch.message
    # The job ran with progress: every page, plus the storing step.
    job = batch.job
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress_total == batch.page_count + 1 == job.progress_done
    assert job.result["chars"] == batch.ocr_chars > 0

    roles = dict(
        DigitisedComponent.objects.filter(batch=batch).values_list("kind", "component__role")
    )
    assert roles == {"scan": "master", "text": "text", "pdf": "access"}
    text = read(Component.objects.get(item=item, role="text")).decode("utf-8")
    assert overlap(EXPECTED, text) >= 0.8
    pdf = Component.objects.get(item=item, digitised__kind="pdf")
    reader = PdfReader(io.BytesIO(read(pdf)))
    assert len(reader.pages) == 1
    assert overlap(EXPECTED, reader.pages[0].extract_text()) >= 0.8
    # The PDF page has the scan's physical size (4.2 in wide at 300 dpi → 302.4 pt).
    assert abs(float(reader.pages[0].mediabox.width) - 4.2 * 72) < 1
    assert read(Component.objects.get(item=item, role="master")) == page_300

    page = client.get(reverse("digitisation:item", args=[item.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="job-status"' in body and f"{item.reference_code}-ocr.pdf" in body
    download = client.get(reverse("digitisation:file", args=[pdf.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_rerun_replaces_cleanly_and_failure_leaves_item_as_it_was(
    memo_ocr, item, locations, page_300, monkeypatch
):
    batch = services.create_batch(None, item, [("p.png", io.BytesIO(page_300))], run_ocr=False)
    seen: list[tuple[int, int | None]] = []
    first = services.process_batch(
        None, batch.pk, progress=lambda d, t=None, m="": seen.append((d, t))
    )
    assert seen[-1] == (2, 2) and [d for d, _t in seen] == sorted(d for d, _t in seen)
    before = set(Component.objects.filter(item=item).values_list("pk", flat=True))
    assert len(before) == 3

    second = services.process_batch(None, batch.pk)
    after = set(Component.objects.filter(item=item).values_list("pk", flat=True))
    assert len(after) == 3 and not (after & before)
    assert Component.objects.filter(item=item, role="master").count() == 1
    assert second["chars"] == first["chars"]

    # A failure while storing (the searchable PDF's put) rolls everything back.
    real_put = storage.put_file

    def failing_put(src, key, **kw):
        if key.endswith("searchable.pdf"):
            raise OSError("disk full")
        return real_put(src, key, **kw)

    monkeypatch.setattr(storage, "put_file", failing_put)
    with pytest.raises(OSError):
        services.process_batch(None, batch.pk)
    assert set(Component.objects.filter(item=item).values_list("pk", flat=True)) == after
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED and "disk full" in batch.message


def test_item_with_a_master_gets_scans_as_access_copy(memo_ocr, item, locations, page_300):
    born = storage.put_file(io.BytesIO(b"%PDF-1.4 born digital"), "t/born.pdf", purpose="test")
    storage.attach(item, born, role="master", filename="born.pdf")
    batch = services.create_batch(None, item, [("p.png", io.BytesIO(page_300))], run_ocr=False)
    result = services.process_batch(None, batch.pk)
    assert result["scans_as"] == "access"
    masters = Component.objects.filter(item=item, role="master")
    assert list(masters.values_list("filename", flat=True)) == ["born.pdf"]


def test_cli_uploads_checks_and_recognises(memo_ocr, item, locations, write, capsys):
    good = write("p1.png", encode(render_page(dpi=300), "PNG", dpi=300))
    call_command("ocr", str(item.pk), "--scan", str(good))
    out = capsys.readouterr()
    assert "批次" in out.out and ScanBatch.objects.get(item=item).status == BatchStatus.DONE
    assert "1/2" in out.err or "2/2" in out.err  # the progress line

    low = write("p2.jpg", encode(render_page(dpi=150), "JPEG", dpi=150))
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("ocr", str(item.pk), "--scan", str(low))
    assert "低于" in capsys.readouterr().err
    with good.open("rb") as fh:
        services.create_batch(None, item, [("p3.png", fh)], run_ocr=False)
    assert services.pending_batches().count() == 1
    call_command("ocr", "--pending")
    assert services.pending_batches().count() == 0
    assert ScanBatch.objects.filter(item=item, status=BatchStatus.DONE).count() == 2


def test_a_batch_being_recognised_is_not_run_twice(memo_ocr, item, locations, page_300):
    from django.core.exceptions import ValidationError

    batch = services.create_batch(None, item, [("p.png", io.BytesIO(page_300))], run_ocr=False)
    ScanBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.PROCESSING)
    with pytest.raises(ValidationError) as exc:
        services.process_batch(None, batch.pk)
    assert "该批次已在识别中。" in exc.value.messages
    assert not Component.objects.filter(item=item).exists()
    # An interrupted run (the operator knows the process is gone) is taken over with force.
    assert services.process_batch(None, batch.pk, force=True)["pages"] == 1
    assert Component.objects.filter(item=item).count() == 3
