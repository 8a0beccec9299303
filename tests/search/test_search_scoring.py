"""Relevance of the matches 相关度 looked up by id (``Backend.scores``), and the scope's SQL
kept per process with the facet filters added to it: the same answers as the ORM's, without
building the visibility QuerySet for every search. Runs on whichever database DATABASE_URL
names."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from lantai.holdings.models import Category, Fonds, Item, Unit
from lantai.holdings.services import visible_items
from lantai.search import services
from lantai.search import text as tx
from lantai.search.backends import get_backend
from lantai.search.models import IndexState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _format_two(db):
    IndexState.objects.update_or_create(
        key=services.FORMAT_KEY, defaults={"value": str(services.FORMAT)}
    )
    services._index_current.cache_clear()
    services._where_cache.clear()
    yield
    services._index_current.cache_clear()
    services._where_cache.clear()


@pytest.fixture
def items(db):
    """Items with the query's words more or less often, in fields of different weight, in
    two fonds and years; every third one is not for the public (控制使用 or 内部)."""
    unit = Unit.objects.create(code="SCR", name="Scoring unit", kind="agency")
    fonds_a = Fonds.objects.create(code="Q801", name="Scoring A", unit=unit)
    fonds_b = Fonds.objects.create(code="Q802", name="Scoring B", unit=unit)
    ws = Category.objects.get(code="WS")
    titles = [
        ("关于档案工作的通知", "档案"),
        ("档案档案档案", ""),
        ("工作总结", "档案 工作"),
        ("会议纪要", "档案"),
        ("关于档案馆建设的请示和档案工作的报告以及档案管理制度汇编", ""),
        ("档案工作", ""),
        ("人事任免", ""),
        ("档案移交清册", "移交"),
        ("年度工作计划中的档案部分", ""),
    ]
    made = []
    for n, (title, keywords) in enumerate(titles * 3, start=1):
        restricted = n % 3 == 0
        made.append(
            Item(
                fonds=fonds_a if n % 2 else fonds_b,
                category=ws,
                year=2001 + n % 2,
                retention="Y",
                item_no=n,
                title=title,
                keywords=keywords,
                openness="restricted" if restricted and n % 2 else "open",
                classification="internal" if restricted and not n % 2 else "public",
            )
        )
    made = Item.objects.bulk_create(made)
    services.index_items([item.pk for item in made])
    return {"fonds": (fonds_a, fonds_b), "ids": [item.pk for item in made]}


def reference_scores(query: str) -> dict[int, float]:
    """Relevance by the index's own ranked match over every item (BM25 / ts_rank of the
    user's terms; no scope token)."""
    asked = tx.index_query(services.parse_query(query))
    matched = get_backend().match(Item.objects.all(), asked, score=True)
    return {pk: float(score) for pk, score in matched.values_list("pk", "score")}


@pytest.mark.parametrize("query", ["档案", "档案工作", "档案 工作", "档案 -移交", '"档案馆"'])
def test_scores_are_the_index_ranking_of_the_users_terms(items, make_user, query):
    archivist = make_user("score_archivist", "archivist")
    expected = reference_scores(query)
    assert expected, query
    staff = services.search(archivist, query, per_page=100, facets=False)
    public = services.search(AnonymousUser(), query, per_page=100, facets=False)
    assert staff.total_exact and public.total_exact
    open_ids = set(visible_items(AnonymousUser()).values_list("pk", flat=True))
    # The public sees its share of the matches, weighed exactly as staff see them: the
    # public token decides nothing about relevance.
    assert {h.item_id for h in public.hits} == set(expected) & open_ids
    for result in (staff, public):
        for hit in result.hits:
            assert hit.score == pytest.approx(expected[hit.item_id], rel=1e-6), (query, hit)
        ordered = sorted(result.hits, key=lambda h: (-expected[h.item_id], h.item_id))
        assert [h.item_id for h in result.hits] == [h.item_id for h in ordered]
    assert [h.item_id for h in public.hits] == [
        h.item_id for h in staff.hits if h.item_id in open_ids
    ]


def test_scores_leave_out_the_scope_token_and_ids_that_do_not_match(items):
    backend = get_backend()
    asked = tx.index_query(services.parse_query("档案"))
    with_token = replace(asked, required=[tx.PUBLIC_TOKEN])
    expected = reference_scores("档案")
    ids = sorted(expected)
    assert backend.scores(with_token, ids) == pytest.approx(backend.scores(asked, ids))
    assert backend.scores(asked, ids) == pytest.approx(expected)
    # An id that does not match gets no score (and nothing is found outside the list).
    not_matching = [pk for pk in items["ids"] if pk not in expected]
    assert not_matching
    assert backend.scores(asked, not_matching[:2] + ids[:1]).keys() == {ids[0]}
    assert backend.scores(asked, []) == {}


def test_filters_use_the_scopes_sql_and_answer_as_the_orm(items, make_user):
    archivist = make_user("filter_archivist", "archivist")
    fonds_a, fonds_b = items["fonds"]
    for user in (AnonymousUser(), archivist):
        for filters in (
            {"fonds": fonds_a.pk},
            {"fonds": fonds_b.code, "year": 2002},
            {"year": "2001", "openness": "open"},
            {"fonds": fonds_a.pk, "year": 2002},  # nothing: fonds A is catalogued in 2001
        ):
            result = services.search(user, "档案", filters=filters, per_page=100)
            cleaned = services._clean_filters(filters)
            allowed = set(
                services._filtered(visible_items(user), cleaned).values_list("pk", flat=True)
            )
            expected = set(reference_scores("档案")) & allowed
            assert {h.item_id for h in result.hits} == expected, (user, filters)
            assert result.total == len(expected)
    # One compiled scope per visibility (public, staff), whatever the filters.
    assert len(services._where_cache) == 2


def test_a_known_scope_builds_no_queryset(items, monkeypatch):
    public = AnonymousUser()
    first = services.search(public, "档案", per_page=100)

    def refuse(*_args, **_kwargs):
        raise AssertionError("visible_items built again")

    monkeypatch.setattr(services, "visible_items", refuse)
    again = services.search(public, "档案", per_page=100)
    assert [h.item_id for h in again.hits] == [h.item_id for h in first.hits]
    # Filters and other queries reuse the scope too.
    fonds_a = items["fonds"][0]
    assert services.search(public, "工作", filters={"fonds": fonds_a.pk}).total >= 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_the_volume_test_is_a_lookup_per_item_on_postgresql(items, make_user):
    """A correlated EXISTS under OR became a hash of every open (or closed) volume, read in
    full for each search; the per-row rule must stay a primary-key lookup."""
    from lantai.holdings.models import Volume
    from lantai.search.backends import compiled_where

    # Enough volumes and items, analysed, for the planner to weigh hashing them.
    fonds = items["fonds"][0]
    ws = Category.objects.get(code="WS")
    volumes = Volume.objects.bulk_create(
        Volume(
            fonds=fonds,
            category=ws,
            year=2001,
            retention="Y",
            volume_no=n,
            title=f"卷{n}",
            openness="open" if n % 2 else "restricted",
        )
        for n in range(1, 2001)
    )
    Item.objects.bulk_create(
        Item(
            fonds=fonds,
            category=ws,
            year=2001,
            retention="Y",
            item_no=10_000 + n,
            title="件",
            openness="open",
            volume=volumes[n % len(volumes)],
        )
        for n in range(20_000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE holdings_volume")
        cursor.execute("ANALYZE holdings_item")
    supervisor = make_user("plan_staff", "supervisor")  # sees holdings but not 控制使用
    assert supervisor.has_perm("holdings.view_holdings")
    assert not supervisor.has_perm("holdings.view_restricted")
    for user in (AnonymousUser(), supervisor):
        sql, params = compiled_where(visible_items(user, per_row=True))
        with connection.cursor() as cursor:
            cursor.execute(f'EXPLAIN SELECT "id" FROM "holdings_item" WHERE {sql}', params)  # noqa: S608
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "hashed SubPlan" not in plan, plan


def test_scores_in_chunks_equal_one_statement(items, monkeypatch):
    backend = get_backend()
    asked = tx.index_query(services.parse_query("档案"))
    ids = sorted(reference_scores("档案"))
    whole = backend.scores(asked, ids)
    if hasattr(type(backend), "SCORE_CHUNK"):
        monkeypatch.setattr(type(backend), "SCORE_CHUNK", 4)
    assert backend.scores(asked, ids) == pytest.approx(whole)
