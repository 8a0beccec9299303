"""Bounded search 检索截断: a query matching more items than ``LANTAI_SEARCH_EXACT_LIMIT``
reports "more than N", facets and ranks the newest N matches, and still sorts by date over
every match; nothing restricted is sampled, counted or shown to the public."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db.models import F
from django.test import Client, override_settings

from lantai.holdings.models import Category, Fonds, Item, Unit
from lantai.holdings.services import visible_items
from lantai.search import services

pytestmark = pytest.mark.django_db

LIMIT = 100


@pytest.fixture
def many(db):
    """360 items with the word 档案 in the title: 240 open, 120 restricted; dates run
    backwards with the id, so the oldest records are the first catalogued (lowest ids) and
    fall outside the newest-N sample. 30 items with 会议 (below the limit)."""
    unit = Unit.objects.create(code="DW", name="兰台区文化局", kind="agency")
    fonds = Fonds.objects.create(code="Z200", name="兰台区文化局", unit=unit)
    ws = Category.objects.get(code="WS")
    start = dt.date(1990, 1, 1)
    items = []
    for n in range(1, 361):
        items.append(
            Item(
                fonds=fonds,
                category=ws,
                year=1990 + n // 30,
                retention="Y" if n % 2 else "D30",
                item_no=n,
                title=f"关于档案工作的第{n}号通知",
                openness="restricted" if n % 3 == 0 else "open",
                date=start + dt.timedelta(days=30 * n),
            )
        )
    for n in range(361, 391):
        items.append(
            Item(
                fonds=fonds,
                category=ws,
                year=2020,
                retention="Y",
                item_no=n,
                title=f"会议纪要第{n}期",
                openness="open",
            )
        )
    Item.objects.bulk_create(items)
    services.reindex_all()
    return fonds


def _brute(user, word: str):
    return visible_items(user).filter(title__contains=word)


@override_settings(LANTAI_SEARCH_EXACT_LIMIT=LIMIT)
def test_more_matches_than_the_limit_give_a_lower_bound_and_a_sample(many):
    public = AnonymousUser()
    everyone = _brute(public, "档案").count()
    assert everyone == 240 > LIMIT
    result = services.search(public, "档案", per_page=20)
    assert result.total == LIMIT and result.total_exact is False
    assert result.pages == LIMIT // 20
    # Facets count the sample: the newest LIMIT visible matches, nothing restricted.
    assert sum(n for _v, _l, n in result.facets["fonds"]) == LIMIT
    assert [v for v, _l, _n in result.facets["openness"]] == ["open"]
    newest = set(_brute(public, "档案").order_by("-pk").values_list("pk", flat=True)[:LIMIT])
    hit_ids = {h.item_id for h in result.hits}
    assert hit_ids <= newest
    assert all(h.openness == "open" for h in result.hits)
    # Paging reaches the whole sample and no further.
    seen = set()
    for page in range(1, result.pages + 1):
        seen |= {h.item_id for h in services.search(public, "档案", page=page).hits}
    assert seen == newest
    assert services.search(public, "档案", page=result.pages + 1).hits == []


@override_settings(LANTAI_SEARCH_EXACT_LIMIT=LIMIT)
@pytest.mark.parametrize("sort", ["date", "-date"])
def test_date_sort_is_over_every_match_not_the_sample(many, sort):
    public = AnonymousUser()
    if sort == "date":
        order = (F("date").asc(nulls_last=True), "year", "pk")
    else:
        order = (F("date").desc(nulls_last=True), "-year", "-pk")
    expected = list(_brute(public, "档案").order_by(*order).values_list("pk", flat=True))
    for page in (1, 2):
        result = services.search(public, "档案", sort=sort, page=page, per_page=20)
        assert result.total_exact is False
        assert [h.item_id for h in result.hits] == expected[(page - 1) * 20 : page * 20]
    # The oldest records (lowest ids) are outside the newest-N sample, yet come first.
    if sort == "date":
        first = services.search(public, "档案", sort="date").hits[0]
        assert first.item_id == min(expected)


@override_settings(LANTAI_SEARCH_EXACT_LIMIT=LIMIT)
def test_fewer_matches_than_the_limit_are_exact(many, make_user):
    archivist = make_user("guanyuan", "archivist")
    for user in (AnonymousUser(), archivist):
        result = services.search(user, "会议", per_page=50)
        assert result.total_exact is True
        assert result.total == _brute(user, "会议").count() == 30
        assert {h.item_id for h in result.hits} == set(
            _brute(user, "会议").values_list("pk", flat=True)
        )
        by_year = {v: n for v, _l, n in result.facets["year"]}
        assert by_year == {2020: 30}


@override_settings(LANTAI_SEARCH_EXACT_LIMIT=LIMIT)
def test_an_archivist_samples_only_what_they_may_see(many, make_user):
    archivist = make_user("guanyuan", "archivist")
    visible = _brute(archivist, "档案")
    result = services.search(archivist, "档案", per_page=100)
    assert result.total == LIMIT and not result.total_exact
    assert {h.item_id for h in result.hits} <= set(visible.values_list("pk", flat=True))
    openness = {v: n for v, _l, n in result.facets["openness"]}
    assert sum(openness.values()) == LIMIT
    if not visible.filter(openness="restricted").exists():
        assert "restricted" not in openness


@override_settings(LANTAI_SEARCH_EXACT_LIMIT=LIMIT, LANTAI_SEARCH_RATE_LIMITS={})
def test_the_api_says_whether_the_total_is_exact(many):
    client = Client()
    body = client.get("/api/v1/search", {"q": "档案"}).json()
    assert body["total"] == LIMIT and body["total_relation"] == "gte"
    body = client.get("/api/v1/search", {"q": "会议"}).json()
    assert body["total"] == 30 and body["total_relation"] == "eq"


@override_settings(LANTAI_SEARCH_EXACT_LIMIT=LIMIT)
def test_filters_without_a_query_are_bounded_too(many, make_user):
    archivist = make_user("guanyuan", "archivist")
    result = services.search(archivist, "", filters={"fonds": many.pk}, per_page=20)
    assert result.total == LIMIT and not result.total_exact
    assert sum(n for _v, _l, n in result.facets["year"]) == LIMIT
    result = services.search(archivist, "", filters={"fonds": many.pk, "year": 2020})
    assert (
        result.total_exact
        and result.total == visible_items(archivist).filter(fonds=many, year=2020).count()
    )


@override_settings(LANTAI_SEARCH_EXACT_LIMIT=LIMIT)
def test_above_the_limit_title_matches_rank_first(many):
    ws = Category.objects.get(code="WS")
    notes_only = Item.objects.bulk_create(
        Item(
            fonds=many,
            category=ws,
            year=2021,
            retention="Y",
            item_no=1000 + n,
            title=f"会计凭证第{n}册",
            notes="含档案移交清单",
            openness="open",
        )
        for n in range(40)
    )
    services.reindex_all()
    public = AnonymousUser()
    ranked = []
    for page in range(1, LIMIT // 20 + 1):
        ranked += [h.item_id for h in services.search(public, "档案", page=page).hits]
    # The newest matches are the 40 notes-only items; they are in the sample but come last.
    tail = {item.pk for item in notes_only}
    assert set(ranked[-len(tail) :]) == tail
    assert all("档案" in Item.objects.get(pk=pk).title for pk in ranked[: LIMIT - len(tail)])


@override_settings(LANTAI_SEARCH_EXACT_LIMIT=LIMIT)
def test_postgres_walk_windows_and_the_index_fallback_agree(many, monkeypatch):
    """PostgreSQL walks the newest documents in windows before it uses the GIN index:
    with small windows both paths run here, and give what a brute-force scan gives."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    from lantai.search.backends import PostgresBackend

    monkeypatch.setattr(PostgresBackend, "WALK", 50)
    monkeypatch.setattr(PostgresBackend, "WALK_WINDOWS", 2)
    public = AnonymousUser()
    # 30 matches, all among the newest 100 documents: found by walking, then the index
    # confirms there are no more.
    result = services.search(public, "会议", per_page=50)
    assert result.total_exact and result.total == 30
    assert {h.item_id for h in result.hits} == set(
        _brute(public, "会议").values_list("pk", flat=True)
    )
    # Filtered to a year the walk does not reach: the index finds them.
    old = _brute(public, "档案").filter(year=1990)
    result = services.search(public, "档案", filters={"year": 1990}, per_page=50)
    assert result.total_exact and result.total == old.count() > 0
    # Many matches: the sample is the newest LIMIT visible ones.
    result = services.search(public, "档案", per_page=20)
    assert not result.total_exact and result.total == LIMIT
    newest = set(_brute(public, "档案").order_by("-pk").values_list("pk", flat=True)[:LIMIT])
    assert {h.item_id for h in result.hits} <= newest
