"""Fixity audits: corrupted and missing copies are detected, reported, repaired from a good
replica and recorded as PREMIS events; the command and the job run the same audit."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction

from lantai.jobs.models import JobStatus
from lantai.jobs.services import enqueue
from lantai.preservation import aip as aips
from lantai.preservation import fixity
from lantai.preservation.models import FixityAudit, FixityAuditStatus, PreservationEvent
from lantai.storage.models import CopyStatus, ObjectCopy, StorageLocation


@pytest.fixture
def stored(tmp_path, item, package, locations):
    pkg, report = package
    bag_dir = aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")
    with transaction.atomic():
        return aips.store_aip(bag_dir, item=item)


def _file_at(location: StorageLocation, key: str) -> Path:
    return Path(location.config["root"]) / key


def _damage(path: Path, data: bytes | None) -> None:
    os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
    if data is None:
        path.unlink()
    else:
        path.write_bytes(data)


def test_clean_audit_records_one_success_per_aip(stored, db):
    audit = fixity.run_audit()
    assert audit.status == FixityAuditStatus.DONE
    assert audit.copies_checked == 2 * stored.file_count
    assert audit.failures == 0 and audit.repaired == 0
    assert audit.bytes_checked == 2 * stored.size
    assert audit.report["aips_ok"] == 1
    assert PreservationEvent.objects.filter(
        aip=stored, event_type="fixity check", outcome="success", outcome_detail__audit=audit.pk
    ).exists()


def test_corrupt_and_missing_copies_are_repaired_from_the_replica(stored, locations, db):
    primary, offsite = locations
    pdf = stored.files.get(path="data/objects/正文.pdf").object
    mets = stored.files.get(path="data/METS.xml").object
    good_pdf = _file_at(offsite, pdf.key).read_bytes()
    _damage(_file_at(primary, pdf.key), b"%PDF-1.4 rotten")
    _damage(_file_at(offsite, mets.key), None)

    audit = fixity.run_audit()
    assert audit.failures == 2 and audit.repaired == 2
    statuses = {(p["location"], p["status"], p["repaired"]) for p in audit.report["problems"]}
    assert statuses == {("local", "corrupt", True), ("offsite", "missing", True)}
    assert _file_at(primary, pdf.key).read_bytes() == good_pdf
    assert _file_at(offsite, mets.key).exists()
    assert set(ObjectCopy.objects.values_list("status", flat=True)) == {CopyStatus.OK}
    # The damaged bytes are kept aside, never edited in place.
    assert list((Path(primary.config["root"]) / ".quarantine").rglob("*"))
    events = PreservationEvent.objects.filter(aip=stored)
    assert events.filter(event_type="fixity check", outcome="failure").count() == 2
    assert events.filter(event_type="recovery", outcome="success").count() == 2
    assert audit.report["aips_with_problems"] == [str(stored.pk)]

    again = fixity.run_audit()
    assert again.failures == 0


def test_unrepairable_copy_is_reported(stored, locations, db):
    primary, offsite = locations
    obj = stored.files.get(path="bagit.txt").object
    _damage(_file_at(primary, obj.key), None)
    _damage(_file_at(offsite, obj.key), b"garbage")
    audit = fixity.run_audit(location="local")
    assert audit.copies_checked == stored.file_count  # one location only
    assert audit.failures == 1 and audit.repaired == 0
    assert audit.report["problems"][0]["repaired"] is False
    assert PreservationEvent.objects.filter(
        aip=stored, event_type="recovery", outcome="failure"
    ).exists()


def test_new_location_gets_copies(stored, tmp_path, db):
    extra = StorageLocation.objects.create(
        code="nas",
        name="异地2",
        backend="local",
        config={"root": str(tmp_path / "nas")},
        role="replica",
    )
    audit = fixity.run_audit(location="nas")
    assert audit.report["locations"]["nas"]["added"] == stored.file_count
    assert ObjectCopy.objects.filter(location=extra, status=CopyStatus.OK).count() == (
        stored.file_count
    )


def test_unknown_location_and_permission(stored, db, django_user_model):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(ValidationError):
        fixity.run_audit(location="nowhere")
    nobody = django_user_model.objects.create_user(username="nobody", password="x")
    with pytest.raises(PermissionDenied):
        fixity.run_audit(actor=nobody)
    assert not FixityAudit.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_workers_in_parallel_and_command(tmp_path, item, package, locations, capsys):
    pkg, report = package
    bag_dir = aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")
    with transaction.atomic():
        stored = aips.store_aip(bag_dir, item=item)
    primary, _offsite = locations
    obj = stored.files.get(path="data/objects/附件/图 1.png").object
    _damage(_file_at(primary, obj.key), b"not a png")
    call_command("fixity_audit", "--workers", "3")
    out = capsys.readouterr().out
    assert "已修复 1" in out and "corrupt" in out
    audit = FixityAudit.objects.get()
    assert audit.report["workers"] == 3 and audit.repaired == 1


def test_job_runs_the_audit(stored, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = enqueue("preservation.fixity_audit", {"workers": 1})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    audit = FixityAudit.objects.get()
    assert audit.job_id == job.pk and job.result["audit"] == audit.pk
