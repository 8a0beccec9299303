"""Opening review screens: due list, batch from selection and from filter, decisions, unit
officer opinion, submit, approve by a second archivist, report with chart data and .xlsx;
who may open which page."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from lantai.audit.models import AuditEntry
from lantai.holdings.models import Item, Openness
from lantai.opening.models import BatchStatus, ReviewBatch

pytestmark = pytest.mark.django_db


def test_due_list_page_counts_and_lists(world):
    client = world.client("archivist")
    page = client.get(reverse("opening:due_list"), {"review_year": 2026})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="due-total">5<' in html
    assert world.items["a2000"].reference_code in html
    assert world.items["a2002"].reference_code not in html
    volumes = client.get(reverse("opening:due_list"), {"review_year": 2026, "kind": "volume"})
    assert world.volume.reference_code in volumes.content.decode()
    only_b = client.get(
        reverse("opening:due_list"), {"review_year": 2026, "fonds": world.fonds_b.pk}
    ).content.decode()
    assert world.items["b2000"].reference_code in only_b
    assert world.items["a2000"].reference_code not in only_b


@pytest.mark.parametrize("name", ["officer_a", "public", "keeper"])
def test_staff_pages_refused(world, name):
    client = world.client(name)
    for url in (
        reverse("opening:due_list"),
        reverse("opening:report"),
        reverse("opening:report_export"),
    ):
        assert client.get(url).status_code == 403
    response = client.post(reverse("opening:batch_create"), {"item": [world.items["a2000"].pk]})
    assert response.status_code == 403
    assert not ReviewBatch.objects.exists()


def test_anonymous_is_sent_to_login(world):
    from django.test import Client

    response = Client().get(reverse("opening:batch_list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_whole_flow_through_the_screens(world, django_capture_on_commit_callbacks):
    reviewer = world.client("archivist")
    response = reviewer.post(
        reverse("opening:batch_create"),
        {
            "review_year": 2026,
            "title": "2026年第一批",
            "item": [world.items["a2000"].pk, world.items["b2000"].pk],
        },
    )
    batch = ReviewBatch.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/batches/{batch.pk}/")
    entries = {e.item_id: e.pk for e in batch.entries.all()}
    a_entry, b_entry = entries[world.items["a2000"].pk], entries[world.items["b2000"].pk]
    # Restricting without a reason: a clear error, nothing recorded.
    bad = reviewer.post(
        reverse("opening:batch_decide", args=[batch.pk]),
        {"entry": [b_entry], "decision": "restrict", "reason": ""},
    )
    assert bad.status_code == 400 and "须填写理由" in bad.content.decode()
    assert not batch.entries.exclude(decision="").exists()
    reviewer.post(
        reverse("opening:batch_decide", args=[batch.pk]), {"entry": [a_entry], "decision": "open"}
    )
    reviewer.post(
        reverse("opening:batch_decide", args=[batch.pk]),
        {"entry": [b_entry], "decision": "restrict", "reason": "涉及学生个人信息"},
    )
    # Unit officer B sees the batch, only its own entry, and records an opinion.
    officer_b = world.client("officer_b")
    page = officer_b.get(reverse("opening:batch_detail", args=[batch.pk])).content.decode()
    assert world.items["b2000"].reference_code in page
    assert world.items["a2000"].reference_code not in page
    assert world.unit_a.name not in page
    officer_b.post(reverse("opening:batch_opinion", args=[batch.pk]), {"kind": "agree", "text": ""})
    assert batch.opinions.get().unit == world.unit_b
    # Officer B cannot decide, submit or approve.
    for name in ("batch_decide", "batch_submit", "batch_approve"):
        assert officer_b.post(reverse(f"opening:{name}", args=[batch.pk])).status_code == 403
    # Officer A's unit has an entry too; a batch without their unit would be a 404.
    assert (
        world.client("officer_a").get(reverse("opening:batch_detail", args=[batch.pk])).status_code
        == 200
    )
    reviewer.post(reverse("opening:batch_submit", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUBMITTED
    # The reviewer's own approval is refused; the page offers no approve form to them.
    page = reviewer.get(reverse("opening:batch_detail", args=[batch.pk])).content.decode()
    assert 'id="approve-form"' not in page
    assert reviewer.post(reverse("opening:batch_approve", args=[batch.pk])).status_code == 403
    approver = world.client("approver")
    assert (
        'id="approve-form"'
        in approver.get(reverse("opening:batch_detail", args=[batch.pk])).content.decode()
    )
    # Approval runs as a background job (the immediate queue runs it on commit).
    with django_capture_on_commit_callbacks(execute=True):
        approver.post(reverse("opening:batch_approve", args=[batch.pk]), {"note": "同意"})
    from lantai.jobs.models import Job

    job = Job.objects.get(kind="opening.approve")
    assert job.status == "succeeded" and job.created_by == world.users["approver"], job.error
    assert job.result["open"] == 1 and job.result["restrict"] == 1
    batch.refresh_from_db()
    assert batch.approval_note == "同意"
    assert batch.status == BatchStatus.APPROVED
    assert Item.objects.get(pk=world.items["a2000"].pk).openness == Openness.OPEN
    assert Item.objects.get(pk=world.items["b2000"].pk).openness == Openness.RESTRICTED
    # The report shows it and the .xlsx carries the same numbers.
    year = timezone.localtime(batch.approved_at).year
    report = approver.get(reverse("opening:report"), {"year": year}).content.decode()
    assert (
        f'<tr data-year="{year}"><td>{year}</td><td class="num">2</td><td class="num">1</td>'
        in report
    )
    assert "opening-report-data" in report and "echarts.min.js" in report
    export = approver.get(reverse("opening:report_export"), {"year": year})
    book = load_workbook(io.BytesIO(b"".join(export.streaming_content)), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[1][:3] == (year, 2, 1)
    assert AuditEntry.objects.filter(action="export", object_type="opening.report").exists()


def test_batch_from_filter_via_screen_and_other_units_404(world):
    reviewer = world.client("archivist")
    reviewer.post(
        reverse("opening:batch_create"),
        {"mode": "filter", "review_year": 2026, "fonds": world.fonds_a.pk},
    )
    batch = ReviewBatch.objects.get()
    assert batch.entries.count() == 3
    assert (
        world.client("officer_b").get(reverse("opening:batch_detail", args=[batch.pk])).status_code
        == 404
    )
    listing = world.client("officer_b").get(reverse("opening:batch_list")).content.decode()
    assert batch.number not in listing
    # Nothing left due in fonds A: a clear error, no empty batch.
    response = reviewer.post(
        reverse("opening:batch_create"),
        {"mode": "filter", "review_year": 2026, "fonds": world.fonds_a.pk},
        follow=True,
    )
    assert "没有可鉴定的档案" in response.content.decode()
    assert ReviewBatch.objects.count() == 1


def test_approval_request_refused_while_a_job_is_pending(world):
    from lantai.opening import services
    from lantai.opening.models import Decision

    batch = services.create_batch(
        world.users["archivist"], review_year=2026, item_ids=[world.items["a2000"].pk]
    )
    services.decide(world.users["archivist"], batch, [batch.entries.get().pk], Decision.OPEN)
    services.submit(world.users["archivist"], batch)
    job = services.request_approval(world.users["approver"], batch)  # not run: no commit
    assert job.status == "queued" and services.approval_job(batch) == job
    page = world.client("approver").get(reverse("opening:batch_detail", args=[batch.pk]))
    html = page.content.decode()
    assert 'id="approval-job"' in html and 'id="approve-form"' not in html
    with pytest.raises(ValidationError):
        services.request_approval(world.users["approver"], batch)
    with pytest.raises(PermissionDenied):
        services.request_approval(world.users["archivist"], batch)


def test_nav_link_by_role(world):
    assert (
        'href="/opening/"'
        in world.client("archivist").get(reverse("opening:batch_list")).content.decode()
    )
    officer = world.client("officer_a").get(reverse("opening:batch_list")).content.decode()
    assert 'href="/opening/batches/"' in officer and 'href="/opening/"' not in officer
