"""The item list: filters, sorting, keyset paging without COUNT(*) and without OFFSET."""

import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lantai.accounts.roles import Role
from lantai.holdings.models import Item

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<td class="code"><a href="/holdings/items/(\d+)/">')


def listed_ids(response) -> list[int]:
    return [int(pk) for pk in ROW.findall(response.content.decode())]


def next_link(response, name="after") -> str | None:
    match = re.search(rf'href="\?([^"]*{name}=[^"]+)"', response.content.decode())
    return match.group(1).replace("&amp;", "&") if match else None


def test_filters_narrow_the_list(world):
    client = world.client(Role.ARCHIVIST)
    url = reverse("holdings:item_list")
    a2011 = {i.pk for i in world.items_a if i.year == 2011}

    response = client.get(url, {"fonds": world.fonds_a.pk, "year": 2011})
    assert set(listed_ids(response)) == a2011

    response = client.get(url, {"openness": "restricted"})
    assert listed_ids(response) == [world.restricted_a.pk]

    response = client.get(url, {"code": "Z102-"})
    assert set(listed_ids(response)) == {i.pk for i in world.items_b}

    response = client.get(url, {"title": "请示"})
    assert [Item.objects.get(pk=pk).title for pk in listed_ids(response)] == ["关于申请经费的请示"]

    response = client.get(url, {"date_from": "2011-02-01", "date_to": "2011-04-30"})
    expected = {
        i.pk
        for i in [*world.items_a, *world.items_b]
        if i.date and date(2011, 2, 1) <= i.date <= date(2011, 4, 30)
    }
    assert set(listed_ids(response)) == expected and expected

    response = client.get(url, {"series": world.series_a.pk, "fonds": world.fonds_a.pk})
    assert set(listed_ids(response)) == {
        i.pk for i in [*world.items_a, world.restricted_a] if i.series_id == world.series_a.pk
    }

    response = client.get(url, {"category": world.kj.pk})
    assert set(listed_ids(response)) == set(
        Item.objects.filter(category=world.kj).values_list("pk", flat=True)
    )


def test_bad_filter_values_are_field_errors_not_500(world):
    client = world.client(Role.ARCHIVIST)
    url = reverse("holdings:item_list")
    for params in [
        {"date_from": "2017-02-31"},
        {"year": "abc"},
        {"fonds": "999999"},
        {"openness": "nonsense"},
        {"date_from": "2012-01-01", "date_to": "2011-01-01"},
    ]:
        response = client.get(url, params)
        assert response.status_code == 200, params
        body = response.content.decode()
        assert "has-error" in body and 'class="errorlist"' in body, params
        assert listed_ids(response) == [], params
    # A broken cursor falls back to the first page with a message.
    response = client.get(url, {"after": "not-a-cursor"})
    assert response.status_code == 200
    assert "翻页位置无效" in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("code", lambda i: (i.reference_code,)),
        ("-code", lambda i: (i.reference_code,)),
        ("title", lambda i: (i.title, i.pk)),
        ("-year", lambda i: (i.year, i.pk)),
        ("year", lambda i: (i.year, i.pk)),
        ("updated", lambda i: (i.updated_at, i.pk)),
    ],
)
def test_sorting_and_paging_walk_every_row_once(world, settings, sort, key):
    settings.LANTAI_PAGE_SIZE = 3
    client = world.client(Role.ARCHIVIST)
    url = reverse("holdings:item_list")
    expected = sorted(Item.objects.all(), key=key, reverse=sort.startswith("-"))
    seen: list[int] = []
    response = client.get(url, {"sort": sort})
    pages = [listed_ids(response)]
    query = next_link(response)
    while query:
        response = client.get(f"{url}?{query}")
        pages.append(listed_ids(response))
        query = next_link(response)
    for page in pages:
        seen.extend(page)
    assert seen == [i.pk for i in expected]
    assert all(len(page) == 3 for page in pages[:-1])

    # And back: "上一页" from the last page gives the page before it.
    if len(pages) > 1:
        prev = next_link(response, "before")
        assert prev
        assert listed_ids(client.get(f"{url}?{prev}")) == pages[-2]


def test_nullable_date_sort_puts_undated_last_both_ways(world, settings):
    settings.LANTAI_PAGE_SIZE = 4
    client = world.client(Role.ARCHIVIST)
    url = reverse("holdings:item_list")
    for sort in ("date", "-date"):
        ids: list[int] = []
        response = client.get(url, {"sort": sort})
        ids.extend(listed_ids(response))
        query = next_link(response)
        while query:
            response = client.get(f"{url}?{query}")
            ids.extend(listed_ids(response))
            query = next_link(response)
        items = Item.objects.in_bulk(ids)
        dated = [items[pk].date for pk in ids if items[pk].date]
        undated = [pk for pk in ids if items[pk].date is None]
        assert len(ids) == Item.objects.count() == len(set(ids))
        assert dated == sorted(dated, reverse=sort == "-date")
        assert ids[len(dated) :] == sorted(undated, reverse=sort == "-date")


def test_list_never_counts_nor_offsets(world, settings):
    settings.LANTAI_PAGE_SIZE = 2
    client = world.client(Role.ARCHIVIST)
    url = reverse("holdings:item_list")
    response = client.get(url, {"fonds": world.fonds_a.pk})
    query = next_link(response)
    assert query
    for params in ({"fonds": world.fonds_a.pk, "sort": "-date"}, query):
        with CaptureQueriesContext(connection) as ctx:
            response = (
                client.get(url, params)
                if isinstance(params, dict)
                else client.get(f"{url}?{query}")
            )
        assert response.status_code == 200
        sql = [q["sql"].upper() for q in ctx.captured_queries]
        assert not any("COUNT(" in s for s in sql), sql
        assert not any("OFFSET" in s for s in sql), sql
        item_queries = [s for s in sql if 'FROM "HOLDINGS_ITEM"' in s]
        # One query per page (two when the sort crosses from dated to undated rows): no N+1.
        assert 1 <= len(item_queries) <= 2, item_queries
        assert all("LIMIT 3" in s for s in item_queries), item_queries


def test_htmx_request_gets_only_the_table(world):
    client = world.client(Role.ARCHIVIST)
    response = client.get(
        reverse("holdings:item_list"),
        {"year": 2011},
        headers={"HX-Request": "true", "HX-Target": "results"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="results">')
    assert "<html" not in body
    assert world.items_a[0].reference_code in body
    # Without htmx the same URL is a whole page with the filter form.
    full = client.get(reverse("holdings:item_list"), {"year": 2011}).content.decode()
    assert "<html" in full and 'id="filters"' in full and "hx-get=" in full


def test_volume_list_and_detail(world):
    client = world.client(Role.ARCHIVIST)
    response = client.get(reverse("holdings:volume_list"), {"fonds": world.fonds_a.pk})
    assert world.volume_a.reference_code in response.content.decode()
    detail = client.get(reverse("holdings:volume_detail", args=[world.volume_a.pk]))
    body = detail.content.decode()
    for item in Item.objects.filter(volume=world.volume_a):
        assert item.reference_code in body
    other_officer = world.client(Role.UNIT_OFFICER)
    assert (
        other_officer.get(reverse("holdings:volume_detail", args=[world.volume_a.pk])).status_code
        == 200
    )
