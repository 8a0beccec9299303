"""The public portal route by route: only open items (and their access files) ever reach
anonymous visitors, citizens, or unit officers of any unit; files only watermarked and only
for a signed-in viewer."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image
from portal_world import HIDDEN, HIDDEN_FILES, PUBLIC
from pypdf import PdfReader

from lantai.audit.models import AuditEntry
from lantai.portal import public

VIEWERS = ("anonymous", "citizen", "other_officer", "own_officer", "archivist")


@pytest.fixture
def clients(world, citizen, other_officer, own_officer, archivist):
    made = {"anonymous": Client()}
    for name, user in (
        ("citizen", citizen),
        ("other_officer", other_officer),
        ("own_officer", own_officer),
        ("archivist", archivist),
    ):
        client = Client()
        client.force_login(user)
        made[name] = client
    return made


def text_of(response) -> str:
    return response.content.decode()


@pytest.mark.django_db
def test_home_counts_only_open(clients, world):
    counts = public.collection_counts()
    # open, electronic, paper, other_open; the item inside the closed volume is not counted.
    assert counts["items"] == 4 and counts["fonds"] == 2
    for name in VIEWERS:
        page = text_of(clients[name].get(reverse("portal:home")))
        assert f'<span class="stat">{counts["items"]}</span>' in page
        assert 'action="/portal/search/"' in page


@pytest.mark.django_db
def test_item_pages_open_only(clients, world):
    for viewer in VIEWERS:
        client = clients[viewer]
        for key in PUBLIC:
            response = client.get(reverse("portal:item", args=[world[key].pk]))
            assert response.status_code == 200, key
            assert world[key].title in text_of(response)
        for key in HIDDEN:
            response = client.get(reverse("portal:item", args=[world[key].pk]))
            assert response.status_code == 404, (viewer, key)
            assert world[key].title not in text_of(response)
        assert client.get("/portal/items/999999/").status_code == 404


@pytest.mark.django_db
def test_hidden_files_never_served(clients, world):
    for viewer in VIEWERS:
        client = clients[viewer]
        for item_key, file_key in HIDDEN_FILES:
            url = reverse("portal:item_file", args=[world[item_key].pk, world[file_key].pk])
            response = client.get(url)
            if viewer == "anonymous":
                assert response.status_code == 302 and "/portal/login/" in response["Location"]
            else:
                assert response.status_code == 404, (viewer, item_key)
        # A file of an open item's master when an access copy exists, and a paper item's master
        # scan, are not shown either; nor another item's file through an open item's address.
        for item_key, file_key in (
            ("open", "open_master"),
            ("paper", "paper_master"),
            ("open", "restricted_png"),
        ):
            url = reverse("portal:item_file", args=[world[item_key].pk, world[file_key].pk])
            expected = 302 if viewer == "anonymous" else 404
            assert client.get(url).status_code == expected


@pytest.mark.django_db
def test_item_page_lists_access_files_and_asks_anonymous_to_sign_in(clients, world):
    url = reverse("portal:item", args=[world["open"].pk])
    anonymous = text_of(clients["anonymous"].get(url))
    assert "公园规划图.png" not in anonymous and "/portal/login/" in anonymous
    page = text_of(clients["citizen"].get(url))
    assert "公园规划图.png" in page and "公园通知.pdf" in page
    assert "原件扫描.png" not in page  # the master stays back when access copies exist
    electronic = text_of(
        clients["citizen"].get(reverse("portal:item", args=[world["electronic"].pk]))
    )
    assert "验收报告.pdf" in electronic
    paper = text_of(clients["citizen"].get(reverse("portal:item", args=[world["paper"].pk])))
    assert "纸质扫描.jpg" not in paper and "暂无可在线查看" in paper


@pytest.mark.django_db
def test_files_are_watermarked_for_the_viewer(clients, world, citizen):
    client = clients["citizen"]
    before = AuditEntry.objects.filter(action="view").count()
    png = client.get(reverse("portal:item_file", args=[world["open"].pk, world["open_png"].pk]))
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert "no-store" in png["Cache-Control"]
    with Image.open(io.BytesIO(png.content)) as shown:
        assert shown.info.get("Lantai-Watermark", "").count("陈公民") == 1
        plain = Image.new("RGB", shown.size, (250, 250, 250))
        from PIL import ImageChops

        assert ImageChops.difference(shown.convert("RGB"), plain).getbbox() is not None
    pdf = client.get(
        reverse("portal:item_file", args=[world["electronic"].pk, world["electronic_pdf"].pk])
    )
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "陈公民" in text and "report" in text
    assert AuditEntry.objects.filter(action="view").count() == before + 2


@pytest.mark.django_db
def test_browse_levels_show_only_open(clients, world):
    for viewer in VIEWERS:
        client = clients[viewer]
        top = text_of(client.get(reverse("portal:browse")))
        assert "兰台区人民政府" in top and "兰台区教育局" in top
        fonds_a, fonds_b = world["fonds_a"], world["fonds_b"]
        ws = world["open"].category
        kj = world["in_closed_volume"].category
        # Compare links, not bare text: a CSRF token may happen to contain "KJ" or "2013".
        level = text_of(client.get(reverse("portal:browse_fonds", args=[fonds_a.pk])))
        assert reverse("portal:browse_category", args=[fonds_a.pk, ws.pk]) in level
        # Only the closed volume's item is filed under 科技: no link to it.
        assert reverse("portal:browse_category", args=[fonds_a.pk, kj.pk]) not in level
        years = text_of(client.get(reverse("portal:browse_category", args=[fonds_a.pk, ws.pk])))
        for year, shown in ((2011, True), (2015, True), (2013, False)):
            link = reverse("portal:browse_items", args=[fonds_a.pk, ws.pk, year])
            assert (link in years) is shown, year
        items = text_of(client.get(reverse("portal:browse_items", args=[fonds_a.pk, ws.pk, 2011])))
        assert world["open"].title in items and world["restricted"].title not in items
        for url in (
            reverse("portal:browse_category", args=[fonds_a.pk, kj.pk]),
            reverse("portal:browse_items", args=[fonds_a.pk, kj.pk, 1990]),
            reverse("portal:browse_items", args=[fonds_a.pk, ws.pk, 2013]),
            reverse("portal:browse_items", args=[fonds_b.pk, ws.pk, 2012]) + "x",
            reverse("portal:browse_fonds", args=[999999]),
        ):
            assert client.get(url).status_code == 404, url
        other_years = text_of(
            client.get(reverse("portal:browse_items", args=[fonds_b.pk, ws.pk, 2012]))
        )
        assert world["other_open"].title in other_years
        assert world["other_restricted"].title not in other_years


@pytest.mark.django_db
def test_search_finds_open_items_only(clients, world):
    for viewer in VIEWERS:
        response = clients[viewer].get(reverse("portal:search"), {"q": "公园"})
        assert response.status_code == 200
        page = text_of(response)
        results = response.context["results"]
        found = {hit.item_id for hit in results.hits}
        assert found == {world[key].pk for key in PUBLIC}, viewer
        assert results.total == len(PUBLIC)
        for key in PUBLIC:
            assert reverse("portal:item", args=[world[key].pk]) in page
        for key in HIDDEN:
            assert reverse("portal:item", args=[world[key].pk]) not in page
            assert world[key].title not in page, key
        # Facets count open items only and never offer openness or units.
        assert sum(count for _v, _l, count in results.facets.get("fonds", [])) == len(PUBLIC)
        assert "openness" not in results.facets and "unit" not in results.facets
        filtered = clients[viewer].get(
            reverse("portal:search"), {"q": "公园", "fonds": world["fonds_b"].pk}
        )
        assert {h.item_id for h in filtered.context["results"].hits} == {world["other_open"].pk}


@pytest.mark.django_db
def test_search_bad_input_gets_a_message(clients, world):
    response = clients["anonymous"].get(reverse("portal:search"), {"q": "公园", "year": "abc"})
    assert response.status_code == 200 and response.context["results"] is None
    assert "errorlist" in text_of(response)
