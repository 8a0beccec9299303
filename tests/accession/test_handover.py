"""档案交接文据: counts by category and retention in 卷 and 件, both parties, dates, batch
number, a Chinese PDF stored atomically in the batch folder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from pypdf import PdfReader

from accession.workflow_world import good_rows, run_jobs, upload_file, wf  # noqa: F401
from lantai.accession import handover, services
from lantai.accession.models import BatchItem, BatchStatus, HandoverForm
from lantai.audit.models import AuditEntry
from lantai.holdings.models import Category, Item, Volume

pytestmark = pytest.mark.django_db


def accepted_batch(wf, run_jobs, rows):  # noqa: F811
    officer = wf.users["officer_a"]
    batch = services.create_batch(officer, fonds=wf.fonds_a, title="2011年文书档案")
    with run_jobs():
        services.upload_catalog(officer, batch, upload_file(rows))
    batch = services.submit(officer, batch, opening_opinion="满25年后开放")
    with run_jobs():
        services.accept(wf.users["archivist"], batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ACCEPTED
    return batch


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def test_handover_pdf_has_counts_parties_dates_and_number(wf, run_jobs):  # noqa: F811
    rows = good_rows(count=3)
    d30 = good_rows(count=2, start=1)
    for row in d30:
        row[0] = row[0].replace("-Y-", "-D30-")
        row[6] = "30年"
    batch = accepted_batch(wf, run_jobs, rows + d30)
    form = HandoverForm.objects.get(batch=batch)
    counts = {(r["category"], r["retention"]): r for r in form.counts["rows"]}
    assert counts[("WS", "Y")]["items"] == 3 and counts[("WS", "D30")]["items"] == 2
    assert form.counts["totals"] == {"volumes": 0, "items": 5, "items_in_volumes": 0, "total": 5}
    assert form.transferor == "WF_OFFICER_A" and form.receiver == "WF_ARCHIVIST"
    path = Path(form.pdf_path)
    assert path.parent == services.batch_folder(batch)
    assert not list(path.parent.glob(".*.part"))  # written atomically, no leftovers
    text = pdf_text(path)
    for expected in (
        "档案交接文据",
        form.number,
        batch.number,
        "区政府办公室",
        "文书",
        "永久",
        "定期30年",
        "WF_OFFICER_A",
        "WF_ARCHIVIST",
        "满25年后开放",
        batch.accepted_at.astimezone().strftime("%Y年%m月%d日")[:5],
    ):
        assert expected in text, expected
    assert AuditEntry.objects.filter(
        object_type="accession.handoverform", object_id=str(form.pk), action="create"
    ).exists()


def test_counts_volumes_once_and_items_in_volumes_apart(wf):  # noqa: F811
    batch = services.create_batch(wf.users["archivist"], unit=wf.unit_a, fonds=wf.fonds_a)
    ws = Category.objects.get(code="WS")
    volume = Volume.objects.create(
        fonds=wf.fonds_a, category=ws, year=1990, retention="C", volume_no=1, title="卷"
    )
    inside = [
        Item.objects.create(
            fonds=wf.fonds_a, category=ws, year=1990, retention="C", volume=volume,
            item_no=n, title=f"卷内{n}",
        )
        for n in (1, 2)
    ]  # fmt: skip
    BatchItem.objects.bulk_create(
        [BatchItem(batch=batch, volume=volume)] + [BatchItem(batch=batch, item=i) for i in inside]
    )
    counts = handover.handover_counts(batch)
    [row] = counts["rows"]
    assert (row["volumes"], row["items"], row["items_in_volumes"], row["total"]) == (1, 0, 2, 1)
    assert row["retention_label"] == "长期"


def test_pdf_download_only_for_permitted_and_redrawn_when_missing(wf, run_jobs):  # noqa: F811
    batch = accepted_batch(wf, run_jobs, good_rows(count=2))
    with pytest.raises(PermissionDenied):
        services.handover_file(wf.users["officer_b"], batch)
    with pytest.raises(PermissionDenied):
        services.handover_file(wf.users["keeper"], batch)
    path, name = services.handover_file(wf.users["officer_a"], batch)
    assert name.endswith("档案交接文据.pdf")
    path.unlink()
    again, _name = services.handover_file(wf.users["archivist"], batch)
    assert again.is_file() and "档案交接文据" in pdf_text(again)
    # This batch's form only (transactional tests on the same worker leave their entries).
    downloads = AuditEntry.objects.filter(
        object_type="accession.handoverform",
        object_id=str(batch.handover.pk),
        action="download",
    )
    assert downloads.count() == 2


def test_no_handover_before_acceptance(wf):  # noqa: F811
    batch = services.create_batch(wf.users["officer_a"], fonds=wf.fonds_a)
    with pytest.raises(ValidationError):
        services.handover_file(wf.users["officer_a"], batch)


def test_render_escapes_markup_in_titles(wf, run_jobs):  # noqa: F811
    batch = accepted_batch(wf, run_jobs, good_rows(count=1))
    batch.title = "<b>不是标记</b> & 其他"
    batch.save(update_fields=["title"])
    out = io.BytesIO()
    handover.render_pdf(HandoverForm.objects.get(batch=batch), out)
    text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
    assert "<b>不是标记</b>" in text
