"""Transfer stage 移交与接收 of the four-property checks 四性检测 on a batch's electronic files:
each failing file is a catalog issue (row, file column, file name, check code and reason), an
error when the check item is blocking, a warning when it only warns, nothing when it is off;
a blocking failure fails the batch's check so it can be neither submitted nor accepted."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accession.catalog_world import *  # noqa: F403
from accession.catalog_world import PDF, code, real_image, real_pdf, rows, write_csv, write_zip
from accession.workflow_world import good_rows, run_jobs, upload_file, wf  # noqa: F401
from lantai.accession import services
from lantai.accession.checks import check_upload
from lantai.accession.models import BatchIssue, BatchStatus, IssueKind, Severity
from lantai.ingest.checks import update_rule
from lantai.ingest.models import CheckMode, CheckRule

CORRUPT_PDF = b"%PDF-1.4\n" + b"\x00garbage, not a PDF body\n" * 40 + b"%%EOF\n"

# (file bytes, extension, check code that must fail)
CASES = {
    "corrupt": (CORRUPT_PDF, "pdf", "3-3"),
    "encrypted": (real_pdf("secret", password="secret"), "pdf", "4-2"),
    "unaccepted": (real_image("GIF"), "gif", "3-2"),
}


def set_mode(code_: str, mode: str) -> None:
    update_rule(None, CheckRule.objects.get(stage="YJ", code=code_), mode)


def four_property(upload, check: str | None = None) -> list[BatchIssue]:
    found = BatchIssue.objects.filter(upload=upload, kind=IssueKind.FOUR_PROPERTY).order_by("id")
    if check:
        found = found.filter(message__contains=f"YJ-{check} ")
    return list(found)


def checked(world, name: str):
    """Check a 3-row catalog whose row 2 (catalog line 3) comes with the ``name`` file."""
    content, ext, _check = CASES[name]
    archive = write_zip(
        world.tmp / "files.zip",
        {f"{code(1)}.pdf": PDF, f"{code(2)}.{ext}": content, f"{code(3)}.pdf": real_pdf("3")},
    )
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(3)), files=archive)
    return upload, check_upload(upload)


def test_good_real_files_pass_every_check(world):
    archive = write_zip(
        world.tmp / "files.zip",
        {
            f"{code(1)}.pdf": PDF,
            f"{code(2)}/p1.png": real_image("PNG"),
            f"{code(2)}/p2.jpg": real_image("JPEG"),
        },
    )
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(2)), files=archive)
    summary = check_upload(upload)
    assert summary["errors"] == summary["warnings"] == 0, list(BatchIssue.objects.all())
    # The four-property summary stays with the upload for the record.
    assert summary["transfer_checks"]["stage"] == "YJ"
    assert summary["transfer_checks"]["files"] == 3
    assert summary["transfer_checks"]["passed"] is True
    upload.refresh_from_db()
    assert upload.summary["transfer_checks"]["items"] == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_bad_file_is_a_blocking_issue_on_its_row(world, name):
    _content, ext, check = CASES[name]
    upload, summary = checked(world, name)
    found = four_property(upload, check)
    assert len(found) == 1, [i.message for i in four_property(upload)]
    issue = found[0]
    assert issue.row == 3  # catalog line of 档号 code(2) (line 1 is the header)
    assert issue.column == "电子文件"
    assert issue.value == f"{code(2)}.{ext}"
    assert issue.severity == Severity.ERROR
    rule = CheckRule.objects.get(stage="YJ", code=check)
    assert f"YJ-{check}" in issue.message and rule.name in issue.message
    assert len(issue.message) > len(f"四性检测 YJ-{check} {rule.name}：")  # with the detail
    # Only the bad file is reported.
    assert {i.value for i in four_property(upload)} == {f"{code(2)}.{ext}"}
    assert summary["errors"] >= 1
    assert summary["by_kind"][IssueKind.FOUR_PROPERTY] >= 1
    assert summary["transfer_checks"]["passed"] is False
    upload.refresh_from_db()
    assert upload.summary["transfer_checks"]["items"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_warning_mode_makes_it_a_warning(world, name):
    _content, _ext, check = CASES[name]
    set_mode(check, CheckMode.WARNING)
    upload, _summary = checked(world, name)
    found = four_property(upload, check)
    assert [i.severity for i in found] == [Severity.WARNING]
    errors = BatchIssue.objects.filter(upload=upload, severity=Severity.ERROR)
    if name == "encrypted":
        # An encrypted file is also one that cannot be opened for reading: switch both.
        errors = errors.exclude(message__contains="YJ-3-3 ")
    assert not errors.exists(), [i.message for i in errors]


def test_encrypted_pdf_passes_only_when_both_of_its_checks_warn(world):
    for check in ("4-2", "3-3"):
        set_mode(check, CheckMode.WARNING)
    upload, summary = checked(world, "encrypted")
    assert summary["errors"] == 0, [i.message for i in four_property(upload)]
    assert summary["warnings"] >= 1
    assert {i.severity for i in four_property(upload)} == {Severity.WARNING}


@pytest.mark.parametrize("name", sorted(CASES))
def test_off_mode_removes_it(world, name):
    _content, _ext, check = CASES[name]
    set_mode(check, CheckMode.OFF)
    upload, summary = checked(world, name)
    assert four_property(upload, check) == []
    assert not any(i["id"] == f"YJ-{check}" for i in summary["transfer_checks"]["items"])


def test_an_unreferenced_bad_file_has_no_row(world):
    archive = write_zip(
        world.tmp / "files.zip", {f"{code(1)}.pdf": PDF, "extra/broken.pdf": CORRUPT_PDF}
    )
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(1)), files=archive)
    check_upload(upload)
    [issue] = four_property(upload, "3-3")
    assert issue.row is None and issue.value == "extra/broken.pdf"
    assert issue.severity == Severity.ERROR


# --- the batch's life: a blocking failure means the batch cannot go on ------------------------


def zip_upload(names: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, content in names.items():
            archive.writestr(member, content)
    return SimpleUploadedFile("电子文件.zip", buffer.getvalue(), content_type="application/zip")


def upload_batch(wf, run_jobs, bad: str):  # noqa: F811
    officer = wf.users["officer_a"]
    data = good_rows(count=2)
    content, ext, _check = CASES[bad]
    files = {f"{data[0][0]}.pdf": real_pdf("1"), f"{data[1][0]}.{ext}": content}
    batch = services.create_batch(officer, fonds=wf.fonds_a)
    with run_jobs():
        services.upload_catalog(officer, batch, upload_file(data), files=zip_upload(files))
    batch.refresh_from_db()
    return batch


@pytest.mark.parametrize("name", sorted(CASES))
def test_blocking_failure_fails_the_batch_and_it_cannot_be_accepted(wf, run_jobs, name):  # noqa: F811
    batch = upload_batch(wf, run_jobs, name)
    assert batch.status == BatchStatus.FAILED
    assert batch.error_count >= 1
    kinds = {row["kind"]: row for row in services.issue_counts(services.current_upload(batch))}
    assert kinds[IssueKind.FOUR_PROPERTY]["errors"] >= 1
    with pytest.raises(ValidationError):
        services.submit(wf.users["officer_a"], batch)
    with pytest.raises(ValidationError):
        services.accept(wf.users["archivist"], batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED


def test_warning_mode_lets_the_batch_through_with_a_warning(wf, run_jobs):  # noqa: F811
    from lantai.storage.models import Component

    set_mode("3-3", CheckMode.WARNING)
    batch = upload_batch(wf, run_jobs, "corrupt")
    assert batch.status == BatchStatus.CHECKED
    assert batch.error_count == 0 and batch.warning_count >= 1
    services.submit(wf.users["officer_a"], batch)
    with run_jobs():
        services.accept(wf.users["archivist"], batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ACCEPTED
    assert Component.objects.filter(item__accession__batch=batch).count() == 2


def test_off_mode_lets_the_batch_through_without_it(wf, run_jobs):  # noqa: F811
    set_mode("3-2", CheckMode.OFF)
    batch = upload_batch(wf, run_jobs, "unaccepted")
    assert batch.status == BatchStatus.CHECKED
    upload = services.current_upload(batch)
    assert not BatchIssue.objects.filter(upload=upload, kind=IssueKind.FOUR_PROPERTY).exists()


def test_batch_page_and_report_list_the_four_property_issues(wf, run_jobs):  # noqa: F811
    from django.urls import reverse
    from openpyxl import load_workbook

    batch = upload_batch(wf, run_jobs, "encrypted")
    client = wf.client("officer_a")
    detail = client.get(reverse("accession:batch_detail", args=[batch.pk])).content.decode()
    assert "四性检测未通过" in detail
    issues = client.get(
        reverse("accession:batch_issues", args=[batch.pk]), {"kind": IssueKind.FOUR_PROPERTY}
    ).content.decode()
    assert "YJ-4-2" in issues
    report = client.get(reverse("accession:batch_report", args=[batch.pk]))
    book = load_workbook(io.BytesIO(b"".join(report.streaming_content)), read_only=True)
    cells = [
        str(c) for sheet in book.worksheets for r in sheet.iter_rows(values_only=True) for c in r
    ]
    assert "四性检测未通过" in cells
    assert any("YJ-4-2" in c for c in cells)


def test_many_failures_are_listed_up_to_the_limit_and_counted_beyond(world):
    bad = {f"extra/broken-{n:03d}.pdf": CORRUPT_PDF for n in range(55)}
    archive = write_zip(world.tmp / "files.zip", {f"{code(1)}.pdf": PDF, **bad})
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(1)), files=archive)
    check_upload(upload)
    found = four_property(upload, "3-3")
    listed = [i for i in found if i.value]
    assert len(listed) == 50 and {i.value for i in listed} <= set(bad)
    [note] = [i for i in found if not i.value]
    assert "另有 5 个文件" in note.message and note.severity == Severity.ERROR
