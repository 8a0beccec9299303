"""Who may see and do what: the item's digitisation page, upload, starting OCR, the JSON report
and the produced files; public users, other units' officers and readers without
view_restricted never reach them. Bad input gets a clear Chinese error."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from lantai.digitisation import services
from lantai.digitisation.models import ScanBatch
from lantai.holdings.models import Item, Openness
from lantai.storage.models import Component

from .conftest import LINES, overlap

pytestmark = pytest.mark.django_db


def upload_file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


@pytest.fixture
def done_batch(memo_ocr, item, locations, page_300):
    batch = services.create_batch(None, item, [("p.png", io.BytesIO(page_300))], run_ocr=False)
    services.process_batch(None, batch.pk)
    return batch


def urls(item, batch):
    pdf = Component.objects.get(item=item, digitised__kind="pdf")
    return {
        "page": reverse("digitisation:item", args=[item.pk]),
        "json": reverse("digitisation:batch_json", args=[batch.pk]),
        "file": reverse("digitisation:file", args=[pdf.pk]),
    }


def test_archivist_sees_everything(login, archivist, item, done_batch):
    client = login(archivist)
    u = urls(item, done_batch)
    page = client.get(u["page"])
    assert page.status_code == 200 and 'id="upload-form"' in page.content.decode()
    assert 'hx-select="#results"' not in page.content.decode()  # nothing running: no polling
    report = client.get(u["json"]).json()
    assert overlap("".join(LINES), report["pages"][0]["ocr_text"]) >= 0.8
    assert report["batch"] == done_batch.pk and report["pages"][0]["result"] == "pass"
    assert report["pages"][0]["ocr_chars"] > 0 and report["files"][0]["sha256"]
    assert client.get(u["file"]).status_code == 200
    detail = client.get(reverse("holdings:item_detail", args=[item.pk])).content.decode()
    assert u["page"] in detail


def test_anonymous_is_sent_to_login(client, item, done_batch):
    for url in urls(item, done_batch).values():
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("who", ["public_user", "other_officer"])
def test_public_and_other_units_are_refused(request, login, who, item, done_batch, page_300):
    # Even an open, public item: digitisation is staff work; files go out through utilisation.
    Item.objects.filter(pk=item.pk).update(openness=Openness.OPEN)
    client = login(request.getfixturevalue(who))
    for url in urls(item, done_batch).values():
        response = client.get(url)
        assert response.status_code in (403, 404), url
        assert b"%PDF" not in response.content
    upload = client.post(
        reverse("digitisation:upload", args=[item.pk]), {"files": [upload_file("p.png", page_300)]}
    )
    assert upload.status_code in (403, 404)
    ocr = client.post(reverse("digitisation:batch_ocr", args=[done_batch.pk]))
    assert ocr.status_code in (403, 404)
    assert ScanBatch.objects.filter(item=item).count() == 1


def test_other_unit_officer_gets_not_found(login, other_officer, item, done_batch):
    client = login(other_officer)
    for url in urls(item, done_batch).values():
        assert client.get(url).status_code == 404


def test_own_unit_officer_and_keeper_read_but_do_not_change(
    login, own_officer, keeper, item, done_batch, page_300
):
    for user in (own_officer, keeper):
        client = login(user)
        u = urls(item, done_batch)
        page = client.get(u["page"])
        assert page.status_code == 200 and 'id="upload-form"' not in page.content.decode()
        assert client.get(u["json"]).status_code == 200
        post = client.post(
            reverse("digitisation:upload", args=[item.pk]),
            {"files": [upload_file("p.png", page_300)]},
        )
        assert post.status_code == 403
        assert (
            client.post(reverse("digitisation:batch_ocr", args=[done_batch.pk])).status_code == 403
        )
        detail = client.get(reverse("holdings:item_detail", args=[item.pk])).content.decode()
        assert 'id="digitisation-link"' not in detail
    assert ScanBatch.objects.filter(item=item).count() == 1


def test_restricted_item_hidden_without_view_restricted(make_user, login, item, done_batch):
    supervisor = make_user("dig_supervisor", "supervisor")
    u = urls(item, done_batch)
    client = login(supervisor)
    assert client.get(u["page"]).status_code == 200
    Item.objects.filter(pk=item.pk).update(openness=Openness.RESTRICTED)
    for url in u.values():
        assert client.get(url).status_code == 404


def test_bad_upload_gets_chinese_error(login, archivist, item):
    client = login(archivist)
    response = client.post(reverse("digitisation:upload", args=[item.pk]), {})
    assert response.status_code == 400
    assert "请选择要上传的扫描文件。" in response.content.decode()
    assert not ScanBatch.objects.exists()


def test_rejected_batch_cannot_be_recognised_but_can_be_discarded(login, archivist, item, page_150):
    client = login(archivist)
    response = client.post(
        reverse("digitisation:upload", args=[item.pk]),
        {"files": [upload_file("p.jpg", page_150)], "run_ocr": "on"},
    )
    assert response.status_code == 302
    batch = ScanBatch.objects.get(item=item)
    assert batch.status == "rejected" and batch.job is None
    page = client.get(reverse("digitisation:item", args=[item.pk]), follow=True)
    assert "低于要求的 200 dpi" in page.content.decode()
    client.post(reverse("digitisation:batch_ocr", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.job is None
    assert client.post(reverse("digitisation:batch_discard", args=[batch.pk])).status_code == 302
    assert not ScanBatch.objects.exists()


def test_api_reports_and_scoping(login, archivist, other_officer, public_user, item, done_batch):
    url = f"/api/v1/digitisation/batches/{done_batch.pk}"
    listing = f"/api/v1/digitisation/items/{item.pk}/batches"
    client = login(archivist)
    report = client.get(url).json()
    assert report["status"] == "done" and len(report["pages"]) == done_batch.page_count
    assert [b["batch"] for b in client.get(listing).json()] == [done_batch.pk]
    client = login(other_officer)
    assert client.get(url).status_code == 404 and client.get(listing).status_code == 404
    assert client.post(f"{url}/ocr").status_code in (403, 404)
    client = login(public_user)
    assert client.get(url).status_code == 403
    assert "detail" in client.get(url).json()


def test_api_starts_ocr_again(
    memo_ocr, login, archivist, item, done_batch, django_capture_on_commit_callbacks
):
    client = login(archivist)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/digitisation/batches/{done_batch.pk}/ocr")
    assert response.status_code == 202
    done_batch.refresh_from_db()
    assert done_batch.status == "done" and str(done_batch.job_id) == response.json()["job"]
    assert Component.objects.filter(item=item).count() == 3


def test_queued_job_shows_progress_on_item_pages(login, archivist, item, page_300):
    client = login(archivist)
    client.post(
        reverse("digitisation:upload", args=[item.pk]),
        {"files": [upload_file("p.png", page_300)], "run_ocr": "on"},
    )
    # Inside the test transaction the job is queued and never handed to the worker.
    batch = ScanBatch.objects.get(item=item)
    assert batch.status == "queued" and batch.job.status == "queued"
    progress = reverse("jobs:progress", args=[batch.job_id])
    for url in (
        reverse("holdings:item_detail", args=[item.pk]),
        reverse("digitisation:item", args=[item.pk]),
    ):
        body = client.get(url).content.decode()
        assert 'id="job-status"' in body and progress in body and "<progress" in body
    assert client.get(progress).status_code == 200
    # The results refresh themselves while the batch is queued.
    page = client.get(reverse("digitisation:item", args=[item.pk])).content.decode()
    assert 'hx-select="#results"' in page
    # A second start while queued is refused with a clear message.
    client.post(reverse("digitisation:batch_ocr", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "queued"
