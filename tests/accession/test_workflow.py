"""Batch life 移交批次: create, upload, check (a job), submit, accept (a job) or return, with
permissions (a unit officer only for his own unit) and audit entries."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accession.catalog_world import real_pdf
from accession.workflow_world import bad_rows, good_rows, run_jobs, upload_file, wf  # noqa: F401
from lantai.accession import services
from lantai.accession.models import BatchItem, BatchStatus, CatalogUpload, TransferBatch
from lantai.audit.models import AuditEntry
from lantai.holdings.models import Item
from lantai.jobs.models import JobStatus

pytestmark = pytest.mark.django_db


def entries(obj) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            object_type=obj._meta.label_lower, object_id=str(obj.pk)
        ).order_by("seq")
    )


def checked_batch(wf, run_jobs, rows, who="officer_a"):  # noqa: F811
    user = wf.users[who]
    batch = services.create_batch(user, unit=wf.unit_a, fonds=wf.fonds_a, title="2011年文书档案")
    with run_jobs():
        services.upload_catalog(user, batch, upload_file(rows))
    batch.refresh_from_db()
    return batch


def test_officer_creates_batch_for_own_unit_numbered_and_audited(wf):  # noqa: F811
    officer = wf.users["officer_a"]
    batch = services.create_batch(officer, unit=None, fonds=wf.fonds_a)
    assert batch.unit == wf.unit_a and batch.status == BatchStatus.DRAFT
    assert batch.number.startswith("YJ-") and batch.number.endswith("-0001")
    second = services.create_batch(officer, unit=wf.unit_a, fonds="Z109")
    assert second.number.endswith("-0002")
    [entry] = entries(batch)
    assert entry.action == "create" and entry.actor_id == officer.pk
    assert entry.detail["fonds"] == "Z109"


def test_officer_refused_other_units_batches(wf):  # noqa: F811
    officer = wf.users["officer_a"]
    with pytest.raises(PermissionDenied):
        services.create_batch(officer, unit=wf.unit_b, fonds=wf.fonds_b)
    with pytest.raises(ValidationError) as exc:
        services.create_batch(officer, unit=wf.unit_a, fonds=wf.fonds_b)
    assert "fonds" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.create_batch(wf.users["keeper"], unit=wf.unit_a, fonds=wf.fonds_a)
    other = services.create_batch(wf.users["officer_b"], unit=None, fonds=wf.fonds_b)
    # He neither sees nor acts on another unit's batch.
    assert not services.visible_batches(officer).filter(pk=other.pk).exists()
    with pytest.raises(TransferBatch.DoesNotExist):
        services.get_batch(officer, other.pk)
    with pytest.raises(PermissionDenied):
        services.upload_catalog(officer, other, upload_file(good_rows("X013")))
    # The archivist sees all.
    assert services.visible_batches(wf.users["archivist"]).filter(pk=other.pk).exists()


def test_archivist_opens_a_batch_on_the_units_behalf(wf, run_jobs):  # noqa: F811
    from django.urls import reverse

    from lantai.accession.models import BatchKind

    archivist = wf.client("archivist")
    form = archivist.get(reverse("accession:batch_create")).content.decode()
    assert 'name="unit"' in form  # the archivist chooses the unit
    missing = archivist.post(reverse("accession:batch_create"), {"fonds": wf.fonds_a.pk})
    assert missing.status_code == 400
    response = archivist.post(
        reverse("accession:batch_create"),
        {"unit": wf.unit_a.pk, "fonds": wf.fonds_a.pk, "title": "代为移交"},
    )
    batch = TransferBatch.objects.get()
    assert response.status_code == 302
    assert (batch.unit, batch.kind, batch.created_by) == (
        wf.unit_a, BatchKind.TRANSFER, wf.users["archivist"],
    )  # fmt: skip
    with run_jobs():
        services.upload_catalog(wf.users["archivist"], batch, upload_file(good_rows()))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CHECKED
    # It is the unit's batch: its officer sees it and may submit it; the other unit's does not.
    assert services.get_batch(wf.users["officer_a"], batch.pk) == batch
    with pytest.raises(TransferBatch.DoesNotExist):
        services.get_batch(wf.users["officer_b"], batch.pk)
    services.submit(wf.users["officer_a"], batch, opening_opinion="到期开放")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUBMITTED
    assert entries(batch)[0].actor_id == wf.users["archivist"].pk


def test_create_batch_field_errors(wf):  # noqa: F811
    archivist = wf.users["archivist"]
    with pytest.raises(ValidationError) as exc:
        services.create_batch(archivist, unit=None, fonds="NOPE")
    assert set(exc.value.message_dict) >= {"unit", "fonds"}
    assert "不存在" in exc.value.message_dict["fonds"][0]
    with pytest.raises(ValidationError) as exc:
        services.create_batch(archivist, unit=wf.unit_a, fonds=wf.fonds_a, kind="acquisition")
    assert "acquisition" in exc.value.message_dict
    assert not TransferBatch.objects.exists()


def test_upload_with_errors_fails_check_then_corrected_upload_passes(wf, run_jobs):  # noqa: F811
    officer = wf.users["officer_a"]
    batch = checked_batch(wf, run_jobs, bad_rows())
    assert batch.status == BatchStatus.FAILED
    assert batch.error_count >= 3 and batch.row_count == 4
    assert batch.job.status == JobStatus.SUCCEEDED and batch.job.created_by == officer
    kinds = {row["kind"] for row in services.issue_counts(services.current_upload(batch))}
    assert {"required", "date", "duplicate_batch"} <= kinds
    # The files are in the batch's own folder.
    upload = services.current_upload(batch)
    assert Path(upload.catalog_path).is_file()
    assert Path(upload.catalog_path).is_relative_to(services.batch_folder(batch))
    with pytest.raises(ValidationError):
        services.submit(officer, batch)

    with run_jobs():
        services.upload_catalog(officer, batch, upload_file(good_rows()))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CHECKED
    assert (batch.error_count, batch.item_count, batch.row_count) == (0, 3, 3)
    assert CatalogUpload.objects.filter(batch=batch).count() == 2
    assert services.issue_counts(services.current_upload(batch)) == []
    events = [e.detail.get("event") for e in entries(batch)]
    assert events.count("checked") == 2


def test_upload_refuses_wrong_type_and_bad_mapping(wf):  # noqa: F811
    officer = wf.users["officer_a"]
    batch = services.create_batch(officer, unit=None, fonds=wf.fonds_a)
    with pytest.raises(ValidationError) as exc:
        services.upload_catalog(officer, batch, upload_file(good_rows(), name="目录.txt"))
    assert "catalog" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.upload_catalog(
            officer,
            batch,
            upload_file(good_rows()),
            files=upload_file([], name="files.rar"),
            mapping={"标题": "nonsense"},
        )
    assert {"files", "mapping"} <= set(exc.value.message_dict)
    assert not CatalogUpload.objects.exists()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT


def test_submit_return_and_resubmit(wf, run_jobs):  # noqa: F811
    officer, archivist = wf.users["officer_a"], wf.users["archivist"]
    batch = checked_batch(wf, run_jobs, good_rows())
    with pytest.raises(PermissionDenied):
        services.return_batch(officer, batch, "不行")
    batch = services.submit(officer, batch, opening_opinion="到期后开放")
    assert batch.status == BatchStatus.SUBMITTED and batch.submitted_at
    with pytest.raises(ValidationError) as exc:
        services.return_batch(archivist, batch, "  ")
    assert "reason" in exc.value.message_dict
    batch = services.return_batch(archivist, batch, "第2件题名与原件不符，请核对。")
    assert batch.status == BatchStatus.RETURNED
    assert batch.returned_reason.startswith("第2件")
    [returned] = [e for e in entries(batch) if e.detail.get("event") == "returned"]
    assert returned.actor_id == archivist.pk and "题名" in returned.detail["reason"]
    # A returned batch cannot be accepted; the unit uploads again.
    with pytest.raises(ValidationError):
        services.accept(archivist, batch)
    with run_jobs():
        services.upload_catalog(officer, batch, upload_file(good_rows()))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CHECKED


def test_officer_cannot_accept(wf, run_jobs):  # noqa: F811
    officer = wf.users["officer_a"]
    batch = services.submit(officer, checked_batch(wf, run_jobs, good_rows()))
    with pytest.raises(PermissionDenied):
        services.accept(officer, batch)


def test_accept_imports_everything_with_provenance_and_handover(wf, run_jobs):  # noqa: F811
    officer, archivist = wf.users["officer_a"], wf.users["archivist"]
    batch = services.submit(officer, checked_batch(wf, run_jobs, good_rows(count=5)))
    with run_jobs():
        job = services.accept(archivist, batch)
    batch.refresh_from_db()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert batch.status == BatchStatus.ACCEPTED and batch.accepted_by == archivist
    items = Item.objects.filter(accession__batch=batch)
    assert items.count() == 5
    assert BatchItem.objects.filter(batch=batch).count() == 5
    assert set(items.values_list("reference_code", flat=True)) == {
        row[0] for row in good_rows(count=5)
    }
    form = batch.handover
    assert form.counts["totals"]["items"] == 5
    assert Path(form.pdf_path).is_file() and form.pdf_sha256
    events = [e.detail.get("event") for e in entries(batch)]
    assert events[-2:] == ["import", "accepted"]


def test_failed_acceptance_leaves_nothing_and_batch_back_in_queue(wf, run_jobs):  # noqa: F811
    officer, archivist = wf.users["officer_a"], wf.users["archivist"]
    batch = services.submit(officer, checked_batch(wf, run_jobs, good_rows(count=3)))
    # Meanwhile someone describes an item with the same 档号 by hand.
    from lantai.holdings import services as holdings

    holdings.create_item(
        None,
        {
            "fonds": wf.fonds_a,
            "category": wf.ws,
            "series": wf.fonds_a.series.get(code="BGS"),
            "year": 2011,
            "retention": "Y",
            "item_no": 2,
            "title": "手工著录",
        },
    )
    with run_jobs():
        job = services.accept(archivist, batch)
    job.refresh_from_db()
    batch.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert batch.status == BatchStatus.SUBMITTED
    assert not BatchItem.objects.filter(batch=batch).exists()
    assert Item.objects.filter(fonds=wf.fonds_a).count() == 1
    assert not hasattr(batch, "handover") or batch.handover is None


def zip_upload(names: dict[str, bytes], name: str = "电子文件.zip"):
    import io
    import zipfile

    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, content in names.items():
            archive.writestr(member, content)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


def test_zip_of_files_checked_and_stored_on_acceptance(wf, run_jobs):  # noqa: F811
    from lantai.storage.models import Component

    officer, archivist = wf.users["officer_a"], wf.users["archivist"]
    rows = good_rows(count=2)
    files = {f"{row[0]}.pdf": real_pdf(row[0]) for row in rows}
    batch = services.create_batch(officer, fonds=wf.fonds_a)
    with run_jobs():
        services.upload_catalog(
            officer, batch, upload_file(rows), files=zip_upload({**files, "说明.txt": b"x"})
        )
    batch.refresh_from_db()
    upload = services.current_upload(batch)
    assert upload.files_name == "电子文件.zip"
    assert Path(upload.files_path).is_relative_to(services.batch_folder(batch))
    kinds = {row["kind"] for row in services.issue_counts(upload)}
    assert "file_unreferenced" in kinds
    with run_jobs():
        services.upload_catalog(officer, batch, upload_file(rows), files=zip_upload(files))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CHECKED, services.issue_counts(
        services.current_upload(batch)
    )
    assert batch.file_count == 2
    services.submit(officer, batch)
    with run_jobs():
        services.accept(archivist, batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ACCEPTED
    assert Component.objects.filter(item__accession__batch=batch).count() == 2


def test_unsafe_zip_is_a_structure_error_and_nothing_written_outside(wf, run_jobs):  # noqa: F811
    officer = wf.users["officer_a"]
    batch = services.create_batch(officer, fonds=wf.fonds_a)
    outside = services.batch_folder(batch).parent / "evil.txt"
    with run_jobs():
        services.upload_catalog(
            officer, batch, upload_file(good_rows()), files=zip_upload({"../evil.txt": b"x"})
        )
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    kinds = {row["kind"] for row in services.issue_counts(services.current_upload(batch))}
    assert "structure" in kinds
    assert not outside.exists()


def test_batch_not_stuck_when_its_job_is_cancelled(wf):  # noqa: F811
    from lantai.jobs import services as jobs

    officer = wf.users["officer_a"]
    batch = services.create_batch(officer, fonds=wf.fonds_a)
    # No on-commit run here: the check job stays queued, and the officer cancels it.
    services.upload_catalog(officer, batch, upload_file(good_rows()))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CHECKING
    jobs.cancel(officer, batch.job)
    batch = services.settle(batch)
    assert batch.status == BatchStatus.FAILED
    assert services.upload_catalog(officer, batch, upload_file(good_rows()))
    # Nothing of the upload is left in a staging folder.
    assert not list(services.batch_folder(batch).glob(".staging-*"))
