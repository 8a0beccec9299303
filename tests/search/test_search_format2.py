"""Index format 2 索引格式2: character bigrams and the public-scope token in every entry, the
old-format fallback, volumes re-indexing their items, per-row visibility, ``visibility_key``
and the result cache 结果缓存. Runs on whichever database DATABASE_URL names."""

from __future__ import annotations

import json
import random
import re
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from lantai.holdings import services as hs
from lantai.holdings.models import Category, Fonds, Item, Unit
from lantai.holdings.services import visibility_key, visible_items
from lantai.search import services
from lantai.search import text as tx
from lantai.search.models import IndexState

pytestmark = pytest.mark.django_db

CORPUS = Path("/work/shared/testdata/chinese-text/chinese-poetry-sample/诗经/shijing.json")
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
_LATIN = re.compile(r"[a-z0-9]+")
_HAN = re.compile(r"[^\u4e00-\u9fff|]")


def set_format(value: str) -> None:
    IndexState.objects.update_or_create(key=services.FORMAT_KEY, defaults={"value": value})
    services._index_current.cache_clear()


@pytest.fixture(autouse=True)
def _format_two(db):
    set_format(str(services.FORMAT))
    yield
    services._index_current.cache_clear()


def squeeze(value: str) -> str:
    """What a phrase sees of a field: CJK characters, a latin word or number as a "|" break,
    punctuation and spaces dropped (they part nothing)."""
    return _HAN.sub("", _LATIN.sub("|", tx.normalize(value)))


def hits(user, query: str, **kw) -> set[int]:
    result = services.search(user, query, per_page=100, facets=False, **kw)
    assert result.total_exact and result.total == len(result.hits)
    return {hit.item_id for hit in result.hits}


def brute(items: dict[int, list[str]], positive: list[str], negative=()) -> set[int]:
    """Ids whose fields hold every positive term and no negative one (a term never spans
    two fields)."""

    def holds(fields: list[str], term: str) -> bool:
        return any(squeeze(term) in squeeze(f) for f in fields)

    return {
        pk
        for pk, fields in items.items()
        if all(holds(fields, t) for t in positive) and not any(holds(fields, t) for t in negative)
    }


def public_tokened() -> set[int]:
    """Ids whose index entry carries the public token."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT item_id FROM search_searchdocument WHERE vector @@ %s::tsquery",
                [f"'{tx.PUBLIC_TOKEN}'"],
            )
        else:
            cursor.execute(
                "SELECT rowid FROM search_fts WHERE search_fts MATCH %s", [f'"{tx.PUBLIC_TOKEN}"']
            )
        return {row[0] for row in cursor.fetchall()}


def public_ids() -> set[int]:
    return set(visible_items(AnonymousUser()).values_list("pk", flat=True))


def old_format_index(monkeypatch, ids) -> None:
    """Rewrite these entries as format 1 wrote them: no bigrams, no public token."""
    with monkeypatch.context() as m:
        m.setattr(tx, "with_bigrams", lambda seg: seg)
        m.setattr(services, "_public_ids", lambda ids: set())
        services.index_items(ids)
    set_format("1")


@pytest.fixture
def plain_fonds(db):
    """A fonds whose names hold no CJK character (its names are indexed with every item)."""
    unit = Unit.objects.create(code="FMT2", name="Format unit", kind="agency")
    return Fonds.objects.create(code="Q900", name="Format fonds", unit=unit)


def make_items(fonds, rows: list[dict]) -> dict[int, list[str]]:
    """Open public items from ``rows`` (Item field values), indexed; {id: indexed fields}."""
    ws = Category.objects.get(code="WS")
    made = Item.objects.bulk_create(
        Item(fonds=fonds, category=ws, year=2001, retention="Y", item_no=n, openness="open", **r)
        for n, r in enumerate(rows, start=1)
    )
    ids = [item.pk for item in made]
    services.index_items(ids)
    fields = ("title", "keywords", "notes", "responsible")
    return {item.pk: [getattr(item, f) for f in fields if getattr(item, f)] for item in made}


# --- bigrams ---------------------------------------------------------------------------------


def test_bigram_phrases_keep_punctuation_and_break_at_words_numbers_and_fields(plain_fonds):
    rows = [
        {"title": "人民x民政"},
        {"title": "人民，政府"},
        {"title": "人民 政府"},
        {"title": "人民12政府"},
        {"title": "人民·政府的通知"},
        {"title": "人民abc民政府"},
        {"title": "人民", "keywords": "政府"},
        {"title": "人民政", "notes": "府办公室"},
        {"title": "國家，檔案館"},
    ]
    items = make_items(plain_fonds, rows)
    by_title = {fields[0]: pk for pk, fields in items.items()}
    public = AnonymousUser()
    queries = ["人民政", "人民政府", "民政", "民政府", "政府", "国家档案", "家档", "人民 政府"]
    for query in queries:
        expected = brute(items, query.split())
        for fmt in ("2", "1"):
            set_format(fmt)
            assert hits(public, query) == expected, (fmt, query)
    set_format("2")
    for title, query, found in [
        ("人民x民政", "人民政", False),
        ("人民x民政", "民政", True),
        ("人民，政府", "人民政府", True),
        ("人民·政府的通知", "人民政府", True),
        ("人民12政府", "民政", False),
        ("人民", "人民政府", False),  # title 人民, keywords 政府
        ("人民政", "政府", False),  # title 人民政, notes 府办公室
        ("國家，檔案館", "国家档案", True),
    ]:
        assert (by_title[title] in hits(public, query)) is found, (title, query)
    # The text module itself: a break leaves a filler between the bigrams on either side.
    assert tx.bigrams(tx.segment("人民，政府")).split() == ["人民", "民政", "政府"]
    assert tx.FIELD_SEP in tx.bigrams(tx.segment("人民x民政")).split()


def _titles() -> list[str]:
    rnd = random.Random(20261125)
    alphabet = "人民政府档案国家工作"
    titles = []
    for _n in range(40):
        out = []
        for _i in range(rnd.randint(3, 12)):
            roll = rnd.random()
            if roll < 0.12:
                out.append(rnd.choice("，。、·“”（） "))
            elif roll < 0.18:
                out.append(rnd.choice(["x", "12", "ab"]))
            out.append(rnd.choice(alphabet))
        titles.append("".join(out))
    if CORPUS.is_file():
        poems = json.loads(CORPUS.read_text(encoding="utf-8"))
        lines = [line for poem in poems[:40] for line in poem["content"]]
        titles += [line[:400] for line in lines[::3][:60]]
    return titles


def _queries(items: dict[int, list[str]]) -> list[tuple[list[str], list[str]]]:
    rnd = random.Random(7)
    texts = [s for fields in items.values() for s in squeeze(fields[0]).split("|") if len(s) >= 4]
    queries: list[tuple[list[str], list[str]]] = []
    for length in (2, 3, 4):
        for _n in range(14):
            text = rnd.choice(texts)
            start = rnd.randrange(len(text) - length + 1)
            queries.append(([text[start : start + length]], []))
        # Combinations that may occur nowhere.
        queries.append((["".join(rnd.choice("人民政府档案") for _ in range(length))], []))
    for _n in range(6):  # AND, NOT, and quoted phrases with a space inside
        a, b = rnd.choice(texts), rnd.choice(texts)
        queries.append(([a[:2], b[-2:]], []))
        queries.append(([a[:2]], [b[1:3]]))
        queries.append(([f"{a[:2]} {a[2:4]}"], []))
    return queries


def _as_text(positive: list[str], negative: list[str]) -> str:
    terms = [f'"{t}"' if " " in t else t for t in positive]
    return " ".join(terms + [f"-{t}" for t in negative])


def test_bigram_search_equals_unigram_search_and_brute_force(plain_fonds, monkeypatch):
    items = make_items(plain_fonds, [{"title": t} for t in _titles()])
    assert len(items) <= 100  # every query's matches fit on one page
    queries = _queries(items)
    expected = [brute(items, pos, neg) for pos, neg in queries]
    assert any(len(e) > 1 for e in expected) and any(not e for e in expected)
    assert max(len(e) for e in expected) < services.exact_limit()
    public = AnonymousUser()

    def run() -> list[set[int]]:
        return [hits(public, _as_text(pos, neg)) for pos, neg in queries]

    assert services._index_current()
    bigram = run()
    set_format("1")  # the same (format 2) index, searched the old way
    unigram = run()
    old_format_index(monkeypatch, list(items))  # an index format 1 wrote
    old = run()
    for n, (pos, neg) in enumerate(queries):
        assert bigram[n] == unigram[n] == old[n] == expected[n], (pos, neg)


LONG = ("天地玄黄宇宙洪荒日月盈昃辰宿列张" * 600)[:9000] + "鸿鹄之志"


def test_a_phrase_deep_in_a_long_field_is_found_as_its_characters_are(plain_fonds):
    items = make_items(plain_fonds, [{"title": "长备注", "notes": LONG}])
    set_format("1")
    assert hits(None, "鸿鹄之志") == brute(items, ["鸿鹄之志"]) == set(items)
    set_format("2")
    assert hits(None, "鸿") == set(items)
    assert hits(None, "鸿鹄之志") == set(items)


def test_an_item_with_long_catalog_fields_keeps_its_public_token(plain_fonds):
    items = make_items(plain_fonds, [{"title": "长备注", "notes": LONG}])
    assert public_tokened() == public_ids() == set(items)
    assert hits(AnonymousUser(), "长备注") == set(items)


# --- the public token --------------------------------------------------------------------------


def _expected(user, query: str) -> set[int]:
    return {
        pk
        for pk, title in visible_items(user).values_list("pk", "title")
        if squeeze(query) in squeeze(title)
    }


def test_public_token_follows_visibility_and_volumes(world, django_capture_on_commit_callbacks):
    w = world
    public = AnonymousUser()
    assert public_tokened() == public_ids()
    for query in ("国家档案", "国家", "档案"):
        assert hits(public, query) == _expected(public, query)
    assert w.items["open_in_closed"].pk not in hits(public, "国家档案")
    for name in ("restricted", "unreviewed", "open_internal"):
        assert w.items[name].pk not in hits(public, "国家")

    def set_volume(volume, openness: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            hs.update_volume(None, volume, {"openness": openness})

    set_volume(w.closed_volume, "open")
    assert public_tokened() == public_ids()
    assert w.items["open_in_closed"].pk in hits(public, "国家档案")
    set_volume(w.open_volume, "restricted")
    assert public_tokened() == public_ids()
    assert w.items["open_in_open"].pk not in hits(public, "国家档案")
    for user in (w.archivist, w.supervisor, public):
        assert hits(user, "国家档案") == _expected(user, "国家档案"), user
    assert w.items["open_in_open"].pk in hits(w.archivist, "国家档案")  # the token is public only
    set_volume(w.open_volume, "open")
    assert public_tokened() == public_ids()
    assert w.items["open_in_open"].pk in hits(public, "国家档案")


def test_an_old_format_index_is_searched_without_token_until_rebuilt(world, monkeypatch):
    w = world
    public = AnonymousUser()
    old_format_index(monkeypatch, [item.pk for item in w.items.values()])
    assert public_tokened() == set()
    queries = ("国家档案", "国家", "档案馆", "國家檔案")
    for user in (public, w.archivist, w.supervisor):
        for query in queries:
            assert hits(user, query) == _expected(user, query), (user, query)
    # Sanity of the simulation: declared current, the tokenless index gives the public nothing.
    set_format("2")
    assert hits(public, "国家") == set()
    assert services.reindex_all() == Item.objects.count()
    assert IndexState.objects.get(key=services.FORMAT_KEY).value == str(services.FORMAT)
    assert public_tokened() == public_ids()
    for query in queries:
        assert hits(public, query) == _expected(public, query)


# --- visibility ------------------------------------------------------------------------------


@pytest.fixture
def users(world, make_user, django_capture_on_commit_callbacks):
    w = world
    kj = Category.objects.get(code="KJ")
    vol = {"fonds": w.fonds, "category": kj, "year": 1991, "retention": "Y"}
    with django_capture_on_commit_callbacks(execute=True):
        unreviewed = hs.create_volume(None, {**vol, "title": "未鉴定卷"})  # openness unreviewed
        for volume, title, extra in [
            (unreviewed, "未鉴定卷内的通知", {}),
            (unreviewed, "卷内开放", {"openness": "open"}),
            (w.open_volume, "卷内控制", {"openness": "restricted", "year": 1990}),
        ]:
            hs.create_item(None, {**vol, "volume": volume, "title": title, **extra})
    return {
        "anonymous": w.anonymous,
        "anonymous2": AnonymousUser(),
        "citizen": w.citizen,
        "archivist": w.archivist,
        "archivist2": make_user("f2_archivist", "archivist"),
        "keeper": make_user("f2_keeper", "keeper"),
        "supervisor": w.supervisor,
        "sysadmin": make_user("f2_sysadmin", "sysadmin"),
        "officer": w.officer,
        "officer2": make_user("f2_officer", "unit_officer", unit=w.unit),
        "other_officer": w.other_officer,
        "no_unit_officer": make_user("f2_nounit", "unit_officer"),
        "system": None,
    }


def test_per_row_volume_test_yields_the_same_items(users):
    for name, user in users.items():
        listed = set(visible_items(user).values_list("pk", flat=True))
        per_row = set(visible_items(user, per_row=True).values_list("pk", flat=True))
        assert per_row == listed, name
    assert public_ids() < set(visible_items(users["supervisor"]).values_list("pk", flat=True))


def test_visibility_key_names_the_visible_set(users):
    key = {name: visibility_key(user) for name, user in users.items()}
    assert key["anonymous"] == key["anonymous2"] == key["citizen"]
    assert key["archivist"] == key["archivist2"]
    assert key["officer"] == key["officer2"]
    distinct = ("anonymous", "archivist", "supervisor", "officer", "other_officer", "system")
    assert len({key[name] for name in distinct}) == len(distinct)
    # One key, one set of items: a cache entry shared by a key is right for all its users.
    seen: dict[str, set[int]] = {}
    for name, user in users.items():
        ids = set(visible_items(user).values_list("pk", flat=True))
        assert seen.setdefault(key[name], ids) == ids, name


# --- the result cache ------------------------------------------------------------------------


@pytest.fixture
def computed(monkeypatch):
    """The result cache switched on (private LocMem caches); yields the list of queries that
    were computed rather than answered from the cache."""
    calls: list[str] = []
    real = services._search

    def counting(user, query, **kw):
        calls.append(query)
        return real(user, query, **kw)

    monkeypatch.setattr(services, "_search", counting)
    conf = {
        "default": {"BACKEND": LOCMEM},
        "search": {"BACKEND": LOCMEM, "LOCATION": f"search-test-{uuid.uuid4().hex}"},
    }
    with override_settings(LANTAI_SEARCH_CACHE_SECONDS=300, CACHES=conf):
        yield calls


def _page(user, query: str, **kw):
    result = services.search(user, query, per_page=50, **kw)
    return [hit.item_id for hit in result.hits], result.total


def test_a_repeated_search_is_served_from_the_cache(world, computed):
    public = AnonymousUser()
    with CaptureQueriesContext(connection) as miss:
        first = _page(public, "国家档案")
    assert computed == ["国家档案"]
    with CaptureQueriesContext(connection) as hit:
        again = _page(AnonymousUser(), "国家档案")  # another member of the public
    assert again == first and computed == ["国家档案"]
    assert len(hit.captured_queries) < len(miss.captured_queries)
    assert set(first[0]) == _expected(public, "国家档案")
    _page(public, "国家档案", page=2)  # another page, another entry
    assert len(computed) == 2


def test_an_index_write_starts_a_new_generation(world, computed):
    public = AnonymousUser()
    item = world.items["open2"]
    assert item.pk in _page(public, "档案")[0]
    generation = IndexState.objects.get(key=services.GENERATION_KEY).value
    Item.objects.filter(pk=item.pk).update(title="关于工作会议的报告")
    services.index_items([item.pk])
    assert IndexState.objects.get(key=services.GENERATION_KEY).value != generation
    ids, total = _page(public, "档案")
    assert item.pk not in ids and set(ids) == _expected(public, "档案") and total == len(ids)
    assert item.pk in _page(public, "会议")[0]
    assert computed.count("档案") == 2


def test_a_bulk_change_bypassing_the_index_is_not_served_from_the_cache(world, computed):
    public = AnonymousUser()
    item = world.items["open"]
    assert item.pk in _page(public, "国家")[0]
    Item.objects.filter(pk=item.pk).update(openness="restricted")  # no signal, no reindex
    ids, total = _page(public, "国家")
    assert item.pk not in ids
    assert set(ids) == _expected(public, "国家") and total == len(ids)
    assert computed.count("国家") == 2
    assert item.pk not in _page(public, "国家")[0]  # and the fresh entry holds


def test_scopes_never_share_an_entry(world, computed):
    w = world
    public = AnonymousUser()
    restricted = w.items["restricted"].pk
    staff = _page(w.archivist, "国家")[0]
    assert restricted in staff
    for _n in range(2):
        ids = _page(public, "国家")[0]
        assert restricted not in ids and set(ids) == _expected(public, "国家")
    assert _page(w.archivist, "国家")[0] == staff
    assert computed == ["国家", "国家"]
    for officer in (w.officer, w.other_officer):
        assert set(_page(officer, "国家")[0]) == _expected(officer, "国家")
    assert len(computed) == 4


def test_filters_only_listings_are_not_cached(world, computed):
    w = world
    for query in ("", "  ", ""):
        services.search(w.archivist, query, filters={"fonds": w.fonds.pk})
    assert len(computed) == 3
