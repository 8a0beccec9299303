"""Search quality on real text: the CBETA catalog (titles and bylines in traditional Chinese,
with rare characters) and the 诗经 from chinese-poetry, loaded as items. Queries are typed
in simplified; the expected items are computed by brute force over the same fields."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import pytest

from lantai.holdings.models import Category, Fonds, Item, Unit
from lantai.search import services
from lantai.search.backends import get_backend
from lantai.search.text import normalize, parse_query

DATA = Path("/work/shared/testdata/chinese-text")
CBETA = DATA / "cbeta-catalog" / "creators" / "all-title-byline.csv"
SHIJING = DATA / "chinese-poetry-sample" / "诗经" / "shijing.json"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not CBETA.exists(), reason="test corpus folder absent"),
]

_NON_WORD = re.compile(r"[\W_]+")


def _plain(text: str) -> str:
    # Punctuation and spaces separate tokens but do not break a phrase of CJK characters.
    return _NON_WORD.sub("", normalize(text))


@pytest.fixture
def corpus(db):
    unit = Unit.objects.create(code="CB", name="语料单位", kind="other")
    fonds = Fonds.objects.create(code="Q001", name="CBETA", unit=unit)  # no CJK: not a query hit
    ws = Category.objects.get(code="WS")
    records = []
    with CBETA.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            records.append((row["title"], row["byline"], ""))
    if SHIJING.exists():
        for poem in json.loads(SHIJING.read_text(encoding="utf-8")):
            records.append((poem["title"], poem.get("section", ""), "".join(poem["content"])))
    items = [
        Item(
            fonds=fonds,
            category=ws,
            year=2000,
            retention="Y",
            item_no=n,
            title=title[:500] or "无题",
            responsible=byline[:200],
            notes=notes,
            openness="open",
        )
        for n, (title, byline, notes) in enumerate(records, start=1)
    ]
    Item.objects.bulk_create(items, batch_size=1000)  # no signals, as a bulk import
    assert services.reindex_all() == len(items)
    fields = {
        pk: [_plain(t), _plain(r), _plain(n)]
        for pk, t, r, n in Item.objects.values_list("pk", "title", "responsible", "notes")
    }
    return {"fields": fields, "records": records}


def _found(query: str) -> set[int]:
    qs = get_backend().match(Item.objects.all(), parse_query(query), score=False)
    return set(qs.values_list("pk", flat=True))


def _expected(corpus, query: str) -> set[int]:
    needle = _plain(query)
    return {pk for pk, values in corpus["fields"].items() if any(needle in v for v in values)}


def _samples(corpus, length: int, count: int, rng: random.Random) -> list[str]:
    out: set[str] = set()
    titles = [t for t, _b, _n in corpus["records"] if len(_plain(t)) >= length]
    while len(out) < count:
        plain = _plain(rng.choice(titles))
        start = rng.randrange(0, len(plain) - length + 1)
        piece = plain[start : start + length]
        if piece.isascii():
            continue
        out.add(piece)
    return sorted(out)


def _check_lengths(corpus, length: int, count: int) -> None:
    rng = random.Random(1000 + length)
    for trad in _samples(corpus, length, count, rng):
        simp = normalize(trad)  # what a user types
        expected = _expected(corpus, simp)
        assert expected, trad
        assert _found(simp) == expected, (trad, simp)
        assert _found(trad) == expected, trad
        result = services.search(None, simp, per_page=10, facets=False)
        # Exact up to the exact-count limit, "more than N" beyond it.
        limit = services.exact_limit()
        assert result.total == min(len(expected), limit)
        assert result.total_exact == (len(expected) <= limit)
        assert {h.item_id for h in result.hits} <= expected
        assert all("<mark>" in h.title_html or "<mark>" in h.snippet_html for h in result.hits)


def test_corpus_search_quality(corpus):
    """One load of the corpus (a few seconds), then every check on it."""
    # 1-, 2-, 3- and 4-character queries typed in simplified find exactly the traditional
    # records a brute-force scan finds (and typed in traditional, the same).
    for length, count in ((1, 25), (2, 25), (3, 10), (4, 10)):
        _check_lengths(corpus, length, count)

    # Characters beyond the BMP (CJK Extension B and later).
    rare = sorted({ch for t, b, _n in corpus["records"] for ch in t + b if ord(ch) > 0xFFFF})
    for ch in rare[:20]:
        assert _found(ch) == _expected(corpus, ch), ch

    # AND, NOT and phrases against the brute-force sets.
    jing = _expected(corpus, "经")
    bore = _expected(corpus, "般若")
    assert bore & jing and jing - bore
    assert _found("经 般若") == jing & bore
    assert _found("经 -般若") == jing - bore
    assert _found("经 NOT 般若") == jing - bore
    assert _found('"般若波罗蜜"') == _expected(corpus, "般若波罗蜜")

    # Relevance: the best hit has the term in its title.
    result = services.search(None, "金刚", per_page=5, facets=False)
    assert result.total == len(_expected(corpus, "金刚"))
    assert "金刚" in normalize(result.hits[0].title)

    # The 诗经: a line of a poem (full text in notes) finds its poem.
    if SHIJING.exists():
        assert _found("窈窕淑女") == _expected(corpus, "窈窕淑女") != set()
