"""Search services: query syntax, 繁简, rare characters, exact 档号/文号, sorting, filters,
facets, and above all visibility — totals, facets and snippets only over what a user may see."""

from __future__ import annotations

import pytest

from lantai.holdings import services as hs
from lantai.holdings.models import Item
from lantai.search import services
from lantai.search.models import SearchDocument
from lantai.search.services import SearchQueryError

pytestmark = pytest.mark.django_db

PUBLIC_VISIBLE = {"open", "open2", "rare", "latin", "open_in_open", "other_open"}


def names(world, result) -> set[str]:
    by_pk = {item.pk: name for name, item in world.items.items()}
    return {by_pk[hit.item_id] for hit in result.hits}


def test_every_item_is_indexed_by_the_signals(world):
    assert SearchDocument.objects.count() == Item.objects.count() == len(world.items)


@pytest.mark.parametrize(
    "query, expected",
    [
        (
            "国",
            {
                "open",
                "open2",
                "unreviewed",
                "restricted",
                "open_internal",
                "latin",
                "other_open",
                "open_in_closed",
                "open_in_open",
            },
        ),
        (
            "国家",
            {
                "open",
                "open2",
                "unreviewed",
                "restricted",
                "open_internal",
                "latin",
                "other_open",
                "open_in_closed",
                "open_in_open",
            },
        ),
        (
            "國家",
            {
                "open",
                "open2",
                "unreviewed",
                "restricted",
                "open_internal",
                "latin",
                "other_open",
                "open_in_closed",
                "open_in_open",
            },
        ),
        ("档案馆", {"open"}),
        ("檔案館", {"open"}),
        ("工作检查", {"open"}),
        ('"档案工作"', {"open", "open_internal"}),
        ("国家 报告", {"open2"}),
        (
            "国家 -报告",
            {
                "open",
                "unreviewed",
                "restricted",
                "open_internal",
                "latin",
                "other_open",
                "open_in_closed",
                "open_in_open",
            },
        ),
        ("国家 NOT 通知 NOT 档案", {"latin"}),
        ("𠀀", {"rare"}),
        ("𡒄", {"rare"}),
        ("张三", {"rare"}),
        ("annual", {"latin"}),
        ("archives", {"latin"}),
        ("兰台区教育局", {"other_open"}),  # the fonds name
        ("办公室", None),
        ("家国", set()),
        ("检查工作", set()),
    ],
)
def test_queries_as_an_archivist(world, query, expected):
    result = services.search(world.archivist, query, per_page=100)
    got = names(world, result)
    if expected is None:  # the series name: every item of series BGS
        expected = {n for n, i in world.items.items() if i.series_id == world.series.pk}
    assert got == expected
    assert result.total == len(expected)


def test_a_phrase_never_spans_two_fields(world):
    # "…通知" ends the title and the fonds name "兰台…" follows in the index: no match.
    assert services.search(world.archivist, "通知兰台").total == 0


def test_exact_reference_code_and_doc_number_rank_first(world):
    item = world.items["open2"]
    code = Item.objects.get(pk=item.pk).reference_code
    result = services.search(world.archivist, code)
    assert result.hits[0].item_id == item.pk and result.hits[0].exact
    # Other items share the code's prefix, so they are found too, after it.
    result = services.search(world.archivist, "兰政发〔2011〕12号")
    assert result.hits[0].item_id == item.pk and result.hits[0].exact
    result = services.search(world.archivist, "蘭政發〔2011〕12號")  # traditional
    assert result.hits[0].item_id == item.pk


def test_snippets_mark_matches_and_escape(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        item = hs.create_item(
            None,
            {
                "fonds": world.fonds,
                "category": world.items["open"].category,
                "series": world.series,
                "year": 2012,
                "retention": "Y",
                "title": "<script>alert(1)</script> 檔案",
                "notes": "備註裡有 <b>檔案</b> 二字",
                "openness": "open",
            },
        )
    hit = next(
        h
        for h in services.search(world.archivist, "档案", per_page=100).hits
        if h.item_id == item.pk
    )
    assert "<script>" not in hit.title_html and "&lt;script&gt;" in hit.title_html
    assert "<mark>檔案</mark>" in hit.title_html  # shown as written, matched as 简体
    assert (
        "<b>" not in hit.snippet_html and "&lt;b&gt;<mark>檔案</mark>&lt;/b&gt;" in hit.snippet_html
    )


def test_sort_by_date_and_paging(world):
    result = services.search(world.archivist, "国家", sort="date", per_page=3)
    dates = [h.date for h in result.hits]
    assert dates == sorted(dates)
    pages = [
        services.search(world.archivist, "国家", sort="-date", page=p, per_page=4)
        for p in (1, 2, 3)
    ]
    ids = [h.item_id for r in pages for h in r.hits]
    assert len(ids) == len(set(ids)) == pages[0].total
    assert pages[0].pages == 3


def test_relevance_prefers_title_matches(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        in_notes = hs.create_item(
            None,
            {
                "fonds": world.fonds,
                "category": world.items["open"].category,
                "series": world.series,
                "year": 2013,
                "retention": "Y",
                "title": "会议纪要",
                "notes": "提到了鹦鹉一次",
            },
        )
        in_title = hs.create_item(
            None,
            {
                "fonds": world.fonds,
                "category": world.items["open"].category,
                "series": world.series,
                "year": 2013,
                "retention": "Y",
                "title": "关于鹦鹉的调查",
                "notes": "",
            },
        )
    result = services.search(world.archivist, "鹦鹉")
    assert [h.item_id for h in result.hits] == [in_title.pk, in_notes.pk]
    assert result.hits[0].score > result.hits[1].score


def test_filters_and_facets(world):
    result = services.search(world.archivist, "国家", filters={"fonds": world.other.pk})
    assert names(world, result) == {"other_open"}
    by_code = services.search(world.archivist, "国家", filters={"fonds": "X013"})
    assert by_code.total == 1
    result = services.search(world.archivist, "国家", filters={"year": 1990, "openness": "open"})
    assert names(world, result) == {"open_in_closed", "open_in_open"}
    facets = services.search(world.archivist, "国家").facets
    assert set(facets) == {"fonds", "category", "year", "retention", "openness", "unit"}
    fonds = {value: n for value, _label, n in facets["fonds"]}
    assert fonds == {world.fonds.pk: 8, world.other.pk: 1}
    assert sum(n for _v, _l, n in facets["openness"]) == 9


@pytest.mark.parametrize(
    "kwargs",
    [
        {"query": "-国家"},
        {"query": "，。！"},
        {"query": "x" * 300},
        {"query": "国家", "sort": "title"},
        {"query": "国家", "filters": {"year": "abc"}},
        {"query": "国家", "filters": {"openness": "secret"}},
        {"query": "国家", "filters": {"shelf": "1"}},
        {"query": "国家", "page": 0},
        {"query": "国家", "page": 1000},
    ],
)
def test_bad_input_is_a_clear_error(world, kwargs):
    query = kwargs.pop("query")
    with pytest.raises(SearchQueryError) as exc:
        services.search(world.archivist, query, **kwargs)
    assert str(exc.value)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(exc.value))


def test_empty_query_lists_what_is_visible(world):
    assert services.search(world.anonymous, "").total == len(PUBLIC_VISIBLE)
    assert services.search(world.archivist, "").total == len(world.items)


# --- visibility: per role, totals, facets and snippets ----------------------------------------


ROLE_EXPECTED = {
    "archivist": None,  # everything
    "supervisor": {
        "open",
        "open2",
        "unreviewed",
        "open_internal",
        "rare",
        "latin",
        "other_open",
        "open_in_open",
    },
    "officer": {
        "open",
        "open2",
        "unreviewed",
        "restricted",
        "open_internal",
        "rare",
        "latin",
        "open_in_closed",
        "open_in_open",
    },
    "other_officer": {"other_open"},
    "citizen": PUBLIC_VISIBLE,
    "anonymous": PUBLIC_VISIBLE,
}


@pytest.mark.parametrize("role", list(ROLE_EXPECTED))
def test_each_role_finds_only_what_it_may_see(world, role):
    user = getattr(world, role)
    expected = ROLE_EXPECTED[role] or set(world.items)
    visible = set(hs.visible_items(user).values_list("pk", flat=True))
    assert {world.items[n].pk for n in expected} == visible  # the fixture's premise
    result = services.search(user, "", per_page=100)
    assert names(world, result) == expected and result.total == len(expected)
    # Every query: hits ⊆ visible, total = hits, facet counts add up to the total.
    for query in ("国", "国家", "档案", "通知", "秘密", "闭卷", "控制使用", "内部"):
        result = services.search(user, query, per_page=100)
        ids = {h.item_id for h in result.hits}
        assert ids <= visible, query
        assert result.total == len(ids)
        for facet, entries in result.facets.items():
            if facet != "unit":
                assert sum(n for _v, _l, n in entries) == result.total, (query, facet)
        fonds_seen = {v for v, _l, _n in result.facets["fonds"]}
        assert fonds_seen <= set(hs.visible_items(user).values_list("fonds_id", flat=True))


def test_the_public_gets_nothing_from_restricted_words(world):
    for user in (world.anonymous, world.citizen):
        for query in ("控制使用", "秘密事项", "闭卷内", "内部国家"):
            result = services.search(user, query)
            assert result.total == 0 and result.hits == []
            assert all(entries == [] for entries in result.facets.values())


# --- index maintenance ---------------------------------------------------------------------


def test_update_and_delete_follow_the_item(world, django_capture_on_commit_callbacks):
    item = world.items["open"]
    with django_capture_on_commit_callbacks(execute=True):
        hs.update_item(None, Item.objects.get(pk=item.pk), {"title": "改名后的题名鸬鹚"})
    assert services.search(world.archivist, "鸬鹚").total == 1
    assert services.search(world.archivist, "档案馆").total == 0
    with django_capture_on_commit_callbacks(execute=True):
        hs.delete_item(None, Item.objects.get(pk=item.pk))
    assert services.search(world.archivist, "鸬鹚").total == 0
    assert not SearchDocument.objects.filter(item_id=item.pk).exists()


def test_nothing_indexed_when_the_transaction_rolls_back(world, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                hs.create_item(
                    None,
                    {
                        "fonds": world.fonds,
                        "category": world.items["open"].category,
                        "series": world.series,
                        "year": 2014,
                        "retention": "Y",
                        "title": "回滚的鹈鹕",
                    },
                )
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert callbacks == []
    assert services.search(world.archivist, "鹈鹕").total == 0


def test_fonds_rename_reindexes_its_items(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        hs.update_fonds(None, world.other, {"name": "兰台区教体局鹧鸪"})
    assert names(world, services.search(world.archivist, "鹧鸪")) == {"other_open"}


def test_full_text_component_is_indexed(world, django_capture_on_commit_callbacks, tmp_path):
    from lantai.storage.services import attach, put_file

    path = tmp_path / "ocr.txt"
    path.write_text("第一页：民國三十八年土地登記冊，記載了鸕鶿灣的地界。", encoding="utf-8")
    item = world.items["open2"]
    with django_capture_on_commit_callbacks(execute=True):
        stored = put_file(path, f"test/search/{item.pk}.txt", purpose="test")
        attach(Item.objects.get(pk=item.pk), stored, role="text", filename="ocr.txt")
    result = services.search(world.anonymous, "土地登记")
    assert [h.item_id for h in result.hits] == [item.pk]
    assert "<mark>土地登記</mark>" in result.hits[0].snippet_html
    assert SearchDocument.objects.get(item_id=item.pk).text_chars == len(path.read_text("utf-8"))
    # The same text on a restricted item is not found by the public.
    with django_capture_on_commit_callbacks(execute=True):
        stored = put_file(path, f"test/search/r{item.pk}.txt", purpose="test")
        attach(
            Item.objects.get(pk=world.items["restricted"].pk),
            stored,
            role="text",
            filename="ocr.txt",
        )
    assert services.search(world.anonymous, "鸬鹚湾").total == 1
    assert services.search(world.archivist, "鸬鹚湾").total == 2


def test_index_items_on_commit_with_a_callable(world, django_capture_on_commit_callbacks):
    item = world.items["open"]
    Item.objects.filter(pk=item.pk).update(title="批量改写的题名鹌鹑")  # no signal
    assert services.search(world.archivist, "鹌鹑").total == 0
    with django_capture_on_commit_callbacks(execute=True):
        services.index_items_on_commit(lambda: [item.pk])
    assert services.search(world.archivist, "鹌鹑").total == 1


def test_reindex_all_rebuilds_from_nothing(world):
    SearchDocument.objects.all().delete()
    assert services.search(world.archivist, "国家").total == 0
    assert services.reindex_all() == len(world.items)
    assert services.search(world.archivist, "国家").total == 9
    services.remove_item(world.items["rare"].pk)
    assert services.search(world.archivist, "𠀀").total == 0
