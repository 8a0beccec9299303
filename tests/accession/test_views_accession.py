"""Accession screens: batch list and detail, upload with the report (counts per kind, issue
list filtered by kind and paged), .xlsx report, submit, accept, return, handover PDF, mapping
editor; who sees and does what."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accession.workflow_world import (  # noqa: F401
    HEADERS,
    bad_rows,
    good_rows,
    run_jobs,
    upload_file,
    wf,
)
from lantai.accession import services
from lantai.accession.models import BatchStatus, ColumnMapping, TransferBatch

pytestmark = pytest.mark.django_db


def upload_via_view(client, batch, rows, run_jobs, **extra):  # noqa: F811
    with run_jobs():
        return client.post(
            reverse("accession:batch_upload", args=[batch.pk]),
            {"catalog": upload_file(rows), **extra},
        )


def test_officer_creates_uploads_sees_errors_and_report(wf, run_jobs):  # noqa: F811
    client = wf.client("officer_a")
    page = client.get(reverse("accession:batch_create"))
    assert page.status_code == 200 and 'name="unit"' not in page.content.decode()
    response = client.post(
        reverse("accession:batch_create"), {"fonds": wf.fonds_a.pk, "title": "2011年文书"}
    )
    batch = TransferBatch.objects.get()
    assert response.status_code == 302 and batch.unit == wf.unit_a
    response = upload_via_view(client, batch, bad_rows(), run_jobs)
    assert response.status_code == 302
    detail = client.get(reverse("accession:batch_detail", args=[batch.pk])).content.decode()
    assert "检测未通过" in detail
    assert 'data-kind="required"' in detail and 'data-kind="date"' in detail
    assert "issue-required" in detail and "2011-02-31" in detail
    # Filter the list by kind (the htmx partial).
    partial = client.get(
        reverse("accession:batch_issues", args=[batch.pk]), {"kind": "date"}
    ).content.decode()
    assert "issue-date" in partial and "issue-required" not in partial
    # The .xlsx report.
    report = client.get(reverse("accession:batch_report", args=[batch.pk]))
    assert report.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(report.streaming_content)), read_only=True)
    text = " ".join(
        str(cell)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell
    )
    assert "2011-02-31" in text
    # No submit while there are errors.
    assert 'id="submit-form"' not in detail


def test_the_check_job_writes_the_report_before_anyone_asks(wf, run_jobs):  # noqa: F811
    from lantai.audit.models import AuditEntry

    officer = wf.client("officer_a")
    batch = services.create_batch(wf.users["officer_a"], fonds=wf.fonds_a)
    upload_via_view(officer, batch, bad_rows(), run_jobs)
    upload = services.current_upload(batch)
    path = services.report_path(upload)
    assert path.is_file()  # written by the job, in the worker
    written = path.stat().st_mtime_ns
    response = officer.get(reverse("accession:batch_report", args=[batch.pk]))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    assert "2011-02-31" in " ".join(
        str(c) for r in book.worksheets[1].iter_rows(values_only=True) for c in r if c
    )
    assert path.stat().st_mtime_ns == written  # served, not written again
    assert AuditEntry.objects.filter(action="download", detail__file="check_report").count() == 1
    # A clean catalog gets no report up front; asked for, it is written then.
    upload_via_view(officer, batch, good_rows(), run_jobs)
    clean = services.current_upload(batch)
    assert clean.pk != upload.pk and not services.report_path(clean).exists()
    assert officer.get(reverse("accession:batch_report", args=[batch.pk])).status_code == 200
    assert services.report_path(clean).is_file()


def test_issue_list_pages(wf, run_jobs):  # noqa: F811
    client = wf.client("officer_a")
    batch = services.create_batch(wf.users["officer_a"], fonds=wf.fonds_a)
    rows = good_rows(count=80)
    for row in rows:
        row[1] = ""  # 80 missing titles
    upload_via_view(client, batch, rows, run_jobs)
    first = client.get(reverse("accession:batch_issues", args=[batch.pk])).content.decode()
    assert first.count('class="issue ') == 50 and 'rel="next"' in first
    second = client.get(
        reverse("accession:batch_issues", args=[batch.pk]), {"page": 2}
    ).content.decode()
    assert second.count('class="issue ') >= 30 and 'rel="prev"' in second


def test_other_unit_sees_nothing(wf, run_jobs):  # noqa: F811
    batch = services.create_batch(wf.users["officer_a"], fonds=wf.fonds_a)
    other = wf.client("officer_b")
    for name in ("batch_detail", "batch_issues", "batch_report", "batch_handover"):
        assert other.get(reverse(f"accession:{name}", args=[batch.pk])).status_code == 404
    listing = other.get(reverse("accession:batch_list")).content.decode()
    assert batch.number not in listing
    assert (
        batch.number in wf.client("archivist").get(reverse("accession:batch_list")).content.decode()
    )
    assert other.post(reverse("accession:batch_submit", args=[batch.pk])).status_code == 404
    # Keepers have no accession screens at all.
    assert wf.client("keeper").get(reverse("accession:batch_list")).status_code == 403


def test_submit_accept_and_download_handover(wf, run_jobs):  # noqa: F811
    officer = wf.client("officer_a")
    batch = services.create_batch(wf.users["officer_a"], fonds=wf.fonds_a)
    upload_via_view(officer, batch, good_rows(count=4), run_jobs)
    detail = officer.get(reverse("accession:batch_detail", args=[batch.pk])).content.decode()
    assert 'id="submit-form"' in detail and 'id="no-issues"' in detail
    officer.post(reverse("accession:batch_submit", args=[batch.pk]), {"opening_opinion": "开放"})
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUBMITTED
    # The officer may not accept.
    assert officer.post(reverse("accession:batch_accept", args=[batch.pk])).status_code == 403
    archivist = wf.client("archivist")
    with run_jobs():
        response = archivist.post(reverse("accession:batch_accept", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ACCEPTED
    detail = archivist.get(reverse("accession:batch_detail", args=[batch.pk])).content.decode()
    assert 'id="handover-link"' in detail
    for client in (archivist, officer):
        pdf = client.get(reverse("accession:batch_handover", args=[batch.pk]))
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert (
        wf.client("officer_b").get(reverse("accession:batch_handover", args=[batch.pk])).status_code
        == 404
    )


def test_return_needs_a_reason(wf, run_jobs):  # noqa: F811
    batch = services.create_batch(wf.users["officer_a"], fonds=wf.fonds_a)
    upload_via_view(wf.client("officer_a"), batch, good_rows(), run_jobs)
    archivist = wf.client("archivist")
    response = archivist.post(reverse("accession:batch_return", args=[batch.pk]), {"reason": ""})
    assert response.status_code == 400 and "errorlist" in response.content.decode()
    response = archivist.post(
        reverse("accession:batch_return", args=[batch.pk]), {"reason": "缺少开放意见"}
    )
    assert response.status_code == 302
    page = wf.client("officer_a").get(reverse("accession:batch_detail", args=[batch.pk]))
    assert "缺少开放意见" in page.content.decode()


def test_status_panel_reloads_page_when_done(wf):  # noqa: F811
    batch = services.create_batch(wf.users["officer_a"], fonds=wf.fonds_a)
    response = wf.client("officer_a").get(reverse("accession:batch_status", args=[batch.pk]))
    assert response.status_code == 204 and response["HX-Refresh"] == "true"
    TransferBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.CHECKING)
    response = wf.client("officer_a").get(reverse("accession:batch_status", args=[batch.pk]))
    assert response.status_code == 200 and b"hx-trigger" in response.content


def test_mapping_editor_prefills_from_catalog_and_saves(wf, run_jobs):  # noqa: F811
    officer = wf.client("officer_a")
    batch = services.create_batch(wf.users["officer_a"], fonds=wf.fonds_a)
    upload_via_view(officer, batch, good_rows(), run_jobs)
    url = reverse("accession:mapping_create")
    page = officer.get(url, {"unit": wf.unit_a.pk, "batch": batch.pk}).content.decode()
    assert 'value="档号"' in page and '<option value="reference_code" selected>' in page
    response = officer.post(
        url,
        {
            "unit": wf.unit_a.pk,
            "name": "本单位目录",
            "header": ["标题", "档案号", ""],
            "field": ["title", "reference_code", ""],
        },
    )
    assert response.status_code == 302
    saved = ColumnMapping.objects.get(unit=wf.unit_a)
    assert saved.mapping == {"标题": "title", "档案号": "reference_code"}
    bad = officer.post(
        url, {"unit": wf.unit_a.pk, "name": "x", "header": ["a", "b"], "field": ["title", "title"]}
    )
    assert bad.status_code == 400 and "errorlist" in bad.content.decode()
    # Another unit's officer may not edit it; the archivist may.
    assert (
        wf.client("officer_b").get(reverse("accession:mapping_edit", args=[saved.pk])).status_code
        == 403
    )
    assert (
        wf.client("archivist").get(reverse("accession:mapping_edit", args=[saved.pk])).status_code
        == 200
    )
    # The saved mapping is offered on the upload form.
    detail = officer.get(reverse("accession:batch_detail", args=[batch.pk])).content.decode()
    assert "本单位目录" in detail


def test_unrecognised_headers_prefill_the_mapping_editor(wf, run_jobs):  # noqa: F811
    # A unit's own column names, none of them common: the check cannot find the header row.
    own = ["文件编码", "文件名称", "形成者", "形成时间", "保存期", "归档年份", "部门代码", "序号"]
    rows = [
        [r[0], r[1], r[2], r[4], r[6], r[7], r[8], r[9]] for r in good_rows(count=3)
    ]  # 档号, 题名, 责任者, 日期, 保管期限, 年度, 机构问题, 件号 in the unit's order
    officer = wf.client("officer_a")
    batch = services.create_batch(wf.users["officer_a"], fonds=wf.fonds_a)
    with run_jobs():
        officer.post(
            reverse("accession:batch_upload", args=[batch.pk]),
            {"catalog": upload_file(rows, headers=own)},
        )
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    detail = officer.get(reverse("accession:batch_detail", args=[batch.pk])).content.decode()
    assert "找不到表头" in detail and "编辑列对应关系" in detail
    # The editor offers exactly the catalog's own headers, none mapped yet.
    url = reverse("accession:mapping_create")
    page = officer.get(url, {"unit": wf.unit_a.pk, "batch": batch.pk}).content.decode()
    for header in own:
        assert f'value="{header}"' in page
    assert " selected>" not in page.split('id="mapping-rows"', 1)[1]
    fields = [
        "reference_code", "title", "responsible", "date", "retention", "year", "series", "item_no",
    ]  # fmt: skip
    response = officer.post(
        url, {"unit": wf.unit_a.pk, "name": "本单位目录", "header": own, "field": fields}
    )
    assert response.status_code == 302
    # Uploading the same catalog again: the saved mapping applies and the check passes.
    with run_jobs():
        officer.post(
            reverse("accession:batch_upload", args=[batch.pk]),
            {"catalog": upload_file(rows, headers=own)},
        )
    batch.refresh_from_db()
    assert (batch.status, batch.error_count, batch.item_count) == (BatchStatus.CHECKED, 0, 3)
    # Reopened from the batch, the editor shows the saved choices.
    page = officer.get(url, {"unit": wf.unit_a.pk, "batch": batch.pk}).content.decode()
    assert '<option value="title" selected>' in page
    # Another unit's officer gets no headers of this batch.
    other = wf.client("officer_b").get(url, {"unit": wf.unit_b.pk, "batch": batch.pk})
    assert other.status_code == 404


def test_nav_and_dashboard_links(wf):  # noqa: F811
    archivist = wf.client("archivist").get(reverse("core:dashboard")).content.decode()
    assert reverse("accession:batch_list") in archivist
    assert 'id="accession-stats-link"' in archivist
    officer = wf.client("officer_a").get(reverse("core:dashboard")).content.decode()
    assert reverse("accession:batch_list") in officer and "accession-card" not in officer


def test_every_screen_renders(wf, run_jobs):  # noqa: F811
    archivist = wf.client("archivist")
    acquisition = services.save_acquisition(
        wf.users["archivist"],
        {"method": "donation", "donor_name": "张三", "donor_kind": "person"},
    )
    campaign = services.save_campaign(wf.users["archivist"], {"title": "征集"})
    plan = services.save_plan(
        wf.users["archivist"],
        {"unit": wf.unit_a, "category": "WS", "year_from": 2010, "year_to": 2012,
         "due_year": 2020, "expected_items": 3},
    )  # fmt: skip
    for name, args in (
        ("batch_list", []),
        ("batch_create", []),
        ("mapping_list", []),
        ("mapping_create", []),
        ("plan_list", []),
        ("plan_create", []),
        ("plan_edit", [plan.pk]),
        ("acquisition_list", []),
        ("acquisition_create", []),
        ("acquisition_detail", [acquisition.pk]),
        ("acquisition_edit", [acquisition.pk]),
        ("campaign_create", []),
        ("campaign_edit", [campaign.pk]),
        ("statistics", []),
    ):
        query = {"unit": wf.unit_a.pk} if name.startswith("mapping") else {}
        response = archivist.get(reverse(f"accession:{name}", args=args), query)
        assert response.status_code == 200, name
    # A baseline after the year is refused with a message, not an error page.
    response = archivist.get(reverse("accession:statistics"), {"baseline": "2999"}, follow=True)
    assert response.status_code == 200 and "基准年度须早于统计年度" in response.content.decode()


def test_check_job_progress_is_shown(wf, run_jobs):  # noqa: F811
    batch = services.create_batch(wf.users["officer_a"], fonds=wf.fonds_a)
    upload_via_view(wf.client("officer_a"), batch, good_rows(count=3), run_jobs)
    batch.refresh_from_db()
    assert batch.job.kind == "accession.check" and batch.job.progress_done == 3
    page = wf.client("officer_a").get(reverse("jobs:detail", args=[batch.job.pk]))
    assert page.status_code == 200  # the officer may watch his own job


def test_officer_without_unit_cannot_open_batches(wf):  # noqa: F811
    from django.contrib.auth.models import Group

    from lantai.accounts.models import User

    loner = User.objects.create_user(username="loner", password="x-Unused-Passw0rd")
    loner.groups.add(Group.objects.get(name="unit_officer"))
    client = wf.client("archivist")
    client.force_login(loner)
    assert client.get(reverse("accession:batch_list")).status_code == 200
    response = client.post(reverse("accession:batch_create"), {"fonds": wf.fonds_a.pk})
    assert response.status_code == 400
    assert not TransferBatch.objects.exists()
