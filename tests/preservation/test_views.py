"""Preservation screens: AIP page (files, copies, events), the item page's AIP box, DIP and EEP
downloads for authorised users only, the fixity history and starting an audit."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from lantai.preservation import fixity
from lantai.preservation.models import FixityAudit


@pytest.fixture
def archivist(make_user):
    return make_user("pres_archivist", "archivist")


def _login(client, user):
    client.force_login(user)
    return client


def test_aip_page_and_item_box(client, archivist, stored_aip, item):
    _login(client, archivist)
    page = client.get(reverse("preservation:aip_detail", args=[stored_aip.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "data/METS.xml" in html and "fmt/17" in html and "ingestion" in html
    item_page = client.get(reverse("holdings:item_detail", args=[item.pk])).content.decode()
    assert reverse("preservation:aip_detail", args=[stored_aip.pk]) in item_page
    assert reverse("preservation:item_dip", args=[item.pk]) in item_page
    link = client.get(reverse("preservation:item_aip", args=[item.pk]))
    assert link.status_code == 302 and str(stored_aip.pk) in link["Location"]


def test_dip_and_eep_downloads(client, archivist, stored_aip, item):
    _login(client, archivist)
    response = client.get(reverse("preservation:item_dip", args=[item.pk]))
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert any(name.endswith("/METS.xml") for name in zf.namelist())
    response = client.get(reverse("preservation:item_eep", args=[item.pk]))
    assert response.status_code == 200
    assert "电子文件封装包".encode() in b"".join(response.streaming_content)


def test_downloads_refused_to_others(client, make_user, stored_aip, item):
    keeper = make_user("pres_keeper", "keeper")
    _login(client, keeper)
    assert client.get(reverse("preservation:item_dip", args=[item.pk])).status_code in (403, 404)
    assert client.get(reverse("preservation:item_eep", args=[item.pk])).status_code in (403, 404)
    assert client.get(reverse("preservation:fixity_list")).status_code == 403


def test_fixity_history_and_start(
    client, archivist, stored_aip, django_capture_on_commit_callbacks
):
    fixity.run_audit()
    _login(client, archivist)
    page = client.get(reverse("preservation:fixity_list"))
    assert page.status_code == 200
    audit = FixityAudit.objects.get()
    detail = client.get(reverse("preservation:fixity_detail", args=[audit.pk]))
    assert detail.status_code == 200 and "全部副本完好" in detail.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("preservation:fixity_start"), {"workers": "1"})
    assert response.status_code == 302
    assert FixityAudit.objects.count() == 2
    assert FixityAudit.objects.latest("started_at").triggered_by == archivist
