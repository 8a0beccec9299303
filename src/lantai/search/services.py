"""全文检索服务 (search services): index items and search what a user may see.

Contract used by the portal, OAI, digitisation and oral history::

    search(user, query, filters=None, sort="relevance", page=1, per_page=20, facets=True)
        -> SearchResult(total, hits, facets)
    index_item(item_id) / index_items(ids) / remove_item(item_id) / reindex_all(progress)

Visibility is ``holdings.services.visible_items(user)``: the match is a narrowing of that
QuerySet, and totals, facets and snippets are computed over it only — nothing a user may not
see is counted, faceted or quoted. Pass the request's user (AnonymousUser for the public),
never None (None is the system and sees everything).

Indexed: title 题名; catalog fields (档号, 文号, 责任者, 主题词, 备注, the values of ``extra``,
the fonds' names 全宗名称 and its former names, the series name 机构(问题)); and the item's
full text 全文 (storage Components of role "text", read through ``storage.open_object``).
Traditional and simplified compare equal (OpenCC t2s on both sides).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from lantai.core.permissions import has
from lantai.holdings.models import (
    Category,
    Fonds,
    FondsName,
    Item,
    Openness,
    Retention,
    Series,
    Unit,
)
from lantai.holdings.services import visible_items
from lantai.search import text as tx
from lantai.search.backends import IndexRow, get_backend
from lantai.search.models import IndexState, SearchDocument
from lantai.search.text import SearchQueryError, parse_query

log = logging.getLogger(__name__)

__all__ = [
    "FACETS",
    "Hit",
    "SearchQueryError",
    "SearchResult",
    "index_item",
    "index_items",
    "index_items_on_commit",
    "reindex_all",
    "remove_item",
    "search",
]

VIEW = "holdings.view_holdings"

#: Facet names, in display order.
FACETS = ("fonds", "category", "year", "retention", "openness", "unit")
SORTS = ("relevance", "date", "-date")
MAX_PER_PAGE = 100
MAX_RESULTS_WINDOW = 10_000  # deepest result reachable by paging
MAX_TEXT_BYTES = 4 * 1024 * 1024  # of one text component
MAX_BODY_CHARS = 1_000_000  # of one item's full text
SNIPPET_CHARS = 120
FACET_LIMIT = 30
BATCH = 2000


_EMPTY = SafeString("")


@dataclass
class Hit:
    """A search result 命中条目. ``snippet_html`` and ``title_html`` are escaped text with the
    matches in <mark> (safe to render)."""

    item_id: int
    reference_code: str | None
    title: str
    snippet_html: SafeString
    date: date | None
    year: int
    fonds_code: str
    category_code: str
    score: float
    title_html: SafeString = _EMPTY
    openness: str = ""
    exact: bool = False


@dataclass
class SearchResult:
    """检索结果: ``facets[name]`` is a list of (value, label, count), value as the filter
    takes it."""

    total: int
    hits: list[Hit]
    #: False when the query matched more than ``exact_limit()`` items: ``total`` is then the
    #: limit (a lower bound: "more than N"), the facet counts are those of the newest N
    #: matches, and paging reaches the first N.
    total_exact: bool = True
    facets: dict[str, list[tuple[Any, str, int]]] = field(default_factory=dict)
    page: int = 1
    per_page: int = 20
    query: str = ""
    sort: str = "relevance"
    seconds: float = 0.0

    @property
    def pages(self) -> int:
        reachable = min(self.total, MAX_RESULTS_WINDOW)
        return max(1, -(-reachable // self.per_page))


# --- building index entries -----------------------------------------------------------------


def _extra_values(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _extra_values(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _extra_values(v)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield str(value)


def _fonds_names() -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for pk, code, name in Fonds.objects.values_list("pk", "code", "name"):
        names[pk] = [code, name]
    for fonds_id, name in FondsName.objects.values_list("fonds_id", "name"):
        if fonds_id in names and name not in names[fonds_id]:
            names[fonds_id].append(name)
    return names


def _read_text(component) -> str:
    from lantai.storage.services import open_object

    try:
        with open_object(component.object) as handle:
            data = handle.read(MAX_TEXT_BYTES)
    except Exception:  # a missing copy must not stop indexing the catalog fields
        log.warning(
            "search: cannot read text component %s of item %s", component.pk, component.item_id
        )
        return ""
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def _texts_for(ids: list[int]) -> dict[int, str]:
    from lantai.storage.models import Component, ComponentRole

    if not ids:
        return {}
    found: dict[int, list[str]] = {}
    components = (
        Component.objects.filter(item_id__in=ids, role=ComponentRole.TEXT)
        .select_related("object")
        .order_by("item_id", "sequence")
    )
    for component in components:
        found.setdefault(component.item_id, []).append(_read_text(component))
    return {pk: "\n".join(parts)[:MAX_BODY_CHARS] for pk, parts in found.items()}


_ITEM_FIELDS = (
    "pk",
    "title",
    "reference_code",
    "doc_number",
    "responsible",
    "keywords",
    "notes",
    "extra",
    "fonds_id",
    "series_id",
)


class _Builder:
    """Builds IndexRows; the small code tables are read once per run."""

    def __init__(self) -> None:
        self.fonds = _fonds_names()
        self.series = dict(Series.objects.values_list("pk", "name"))

    def rows(self, records: list[tuple], texts: dict[int, str], public: set[int]) -> list[IndexRow]:
        """``public``: the ids among ``records`` the public may see (they get PUBLIC_TOKEN)."""
        out = []
        segment_fields, sep = tx.segment_fields, f" {tx.FIELD_SEP} "
        for pk, title, code, doc_no, resp, keywords, notes, extra, fonds_id, series_id in records:
            own = [code or "", doc_no, resp, keywords, notes, *_extra_values(extra or {})]
            own = [v for v in own if v]
            names = list(self.fonds.get(fonds_id, ()))
            if series_id:
                names.append(self.series.get(series_id, ""))
            body = texts.get(pk, "")
            display = "\n".join(own)
            if body:
                display = f"{display}\n{body}" if display else body
            # One normalising pass over title + catalog fields (+ the 文号 once more, for the
            # exact-match column), split again at the separators.
            parts = segment_fields([title, *own, *names])
            out.append(
                IndexRow(
                    item_id=pk,
                    title=parts[0],
                    # The scope token first: PostgreSQL keeps no position past 16383.
                    meta=sep.join(
                        ([tx.PUBLIC_TOKEN] if pk in public else []) + [p for p in parts[1:] if p]
                    ),
                    body=tx.segment(body) if body else "",
                    text=display,
                    doc_number=tx.normalize(doc_no)[:100] if doc_no else "",
                    text_chars=len(body),
                )
            )
        return out


def _public_ids(ids: list[int]) -> set[int]:
    """Those of ``ids`` the public may see, by ``visible_items`` itself (one rule)."""
    from django.contrib.auth.models import AnonymousUser

    if not ids:
        return set()
    return set(
        visible_items(AnonymousUser())
        .filter(pk__range=(ids[0], ids[-1]))
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )


def index_items(ids: Iterable[int]) -> int:
    """(Re)index these items now 建立索引; ids of items that no longer exist are removed
    from the index. Returns the number indexed."""
    ids = sorted({int(pk) for pk in ids})
    if not ids:
        return 0
    backend = get_backend()
    builder = _Builder()
    done = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        records = list(Item.objects.filter(pk__in=chunk).order_by("pk").values_list(*_ITEM_FIELDS))
        found = {r[0] for r in records}
        rows = builder.rows(records, _texts_for(sorted(found)), _public_ids(sorted(found)))
        with transaction.atomic():
            backend.write(rows)
            gone = [pk for pk in chunk if pk not in found]
            if gone:
                backend.delete(gone)
            _bump_generation()
        done += len(rows)
    return done


def index_item(item_id: int) -> None:
    """(Re)index one item now."""
    index_items([item_id])


def remove_item(item_id: int) -> None:
    """Drop one item from the index."""
    with transaction.atomic():
        get_backend().delete([int(item_id)])
        _bump_generation()


def index_items_on_commit(ids: Iterable[int] | Callable[[], Iterable[int]]) -> None:
    """Index these items once the current transaction commits (nothing if it rolls back).
    ``ids`` may be a callable evaluated then — for bulk imports whose ids are known only at
    the end (accession acceptance)."""

    def run() -> None:
        try:
            index_items(ids() if callable(ids) else ids)
        except Exception:  # the catalog change stands; `lantai search-reindex` repairs
            log.exception("search: indexing after commit failed")

    if not callable(ids):
        ids = list(ids)
    transaction.on_commit(run)


#: A rebuild of at least this many items builds the entries in worker processes while this
#: one writes them: normalising, segmenting, bigrams and PostgreSQL's tsvector text are
#: Python work that one process cannot spread over the cores.
PARALLEL_MIN_ITEMS = 50_000


def reindex_workers() -> int:
    """Worker processes for a rebuild: ``LANTAI_SEARCH_REINDEX_WORKERS`` (settings or
    environment; 0 or 1: none), by default the number of cores."""
    import os

    from django.conf import settings

    value = getattr(settings, "LANTAI_SEARCH_REINDEX_WORKERS", None)
    if value is None:
        value = os.environ.get("LANTAI_SEARCH_REINDEX_WORKERS")
    try:
        return max(0, int(value)) if value not in (None, "") else (os.cpu_count() or 1)
    except (TypeError, ValueError):
        return 1


def _serial_batches(builder: _Builder, has_texts: bool) -> Iterable[list[IndexRow]]:
    last = 0
    while True:
        records = list(
            Item.objects.filter(pk__gt=last).order_by("pk").values_list(*_ITEM_FIELDS)[:BATCH]
        )
        if not records:
            return
        last = records[-1][0]
        batch = [r[0] for r in records]
        texts = _texts_for(batch) if has_texts else {}
        yield builder.rows(records, texts, _public_ids(batch))


def _id_ranges() -> list[tuple[int, int | None]]:
    """(first, last) ids of consecutive batches of BATCH items; the last one open-ended, so
    that items added meanwhile are still taken."""
    ranges: list[tuple[int, int | None]] = []
    low = 0
    while True:
        edge = (
            Item.objects.filter(pk__gt=low)
            .order_by("pk")
            .values_list("pk", flat=True)[BATCH - 1 : BATCH]
            .first()
        )
        if edge is None:
            ranges.append((low + 1, None))
            return ranges
        ranges.append((low + 1, edge))
        low = edge


_worker_state: dict[str, Any] = {}


def _worker_init(has_texts: bool) -> None:
    # A forked child: the parent closed its connections first, so Django opens new ones.
    _worker_state["builder"] = _Builder()
    _worker_state["has_texts"] = has_texts


def _build_range(bounds: tuple[int, int | None]) -> list[IndexRow]:
    """One batch's entries, built in a worker process (with what the backend writes)."""

    low, high = bounds
    items = Item.objects.filter(pk__gte=low)
    if high is not None:
        items = items.filter(pk__lte=high)
    records = list(items.order_by("pk").values_list(*_ITEM_FIELDS))
    batch = [r[0] for r in records]
    texts = _texts_for(batch) if _worker_state["has_texts"] else {}
    rows = _worker_state["builder"].rows(records, texts, _public_ids(batch))
    backend = get_backend()
    for row in rows:
        backend.prepare(row)
    return rows


def _parallel_batches(workers: int, has_texts: bool):
    """Batches built by ``workers`` forked processes, in id order, at most two per worker
    waiting (so a slow writer never piles the whole index up in memory). The pool starts
    here, before the caller opens its transaction: no connection may cross the fork."""
    import multiprocessing

    from django.db import connections

    ranges = _id_ranges()
    connections.close_all()
    pool = multiprocessing.get_context("fork").Pool(
        workers, initializer=_worker_init, initargs=(has_texts,)
    )
    return pool, _pooled(pool, iter(ranges), workers)


def _pooled(pool, ranges, workers: int) -> Iterable[list[IndexRow]]:
    from collections import deque

    try:
        pending: deque = deque()
        for bounds in ranges:
            pending.append(pool.apply_async(_build_range, (bounds,)))
            if len(pending) >= workers * 2:
                break
        while pending:
            rows = pending.popleft().get()
            bounds = next(ranges, None)
            if bounds is not None:
                pending.append(pool.apply_async(_build_range, (bounds,)))
            yield rows
    finally:
        pool.terminate()
        pool.join()


def _may_fork() -> bool:
    """Forked workers only from a single-threaded process (the command line): the child of a
    threaded one (a job worker, a server) could inherit a lock another thread held."""
    import threading

    return threading.active_count() == 1


def reindex_all(progress=None) -> int:
    """Rebuild the whole index 重建索引 in one transaction (searches see the old index until
    it commits). ``progress``: a core.progress ProgressLine (or None). Returns items indexed.
    Large rebuilds build the entries in ``reindex_workers()`` processes (not inside an
    outer transaction, whose uncommitted items they could not read, nor from a threaded
    process)."""
    from django.db import connection

    backend = get_backend()
    total = Item.objects.count()
    if progress is not None:
        progress.set(0, total)
    has_texts = _has_texts()
    workers = reindex_workers()
    pool = None
    if (
        workers > 1
        and total >= PARALLEL_MIN_ITEMS
        and not connection.in_atomic_block
        and _may_fork()
    ):
        pool, batches = _parallel_batches(workers, has_texts)
    else:
        batches = _serial_batches(_Builder(), has_texts)
    done = 0
    started = time.monotonic()
    try:
        with transaction.atomic():
            backend.clear()
            for rows in batches:
                backend.write(rows, fresh=True)
                done += len(rows)
                if progress is not None:
                    rate = done / max(time.monotonic() - started, 1e-6)
                    progress.set(done, max(total, done))
                    progress.message(_("%(rate)d 件/秒") % {"rate": rate})
            backend.optimize()
            # Every entry is now in the current format: searches may rely on its tokens.
            IndexState.objects.update_or_create(key=FORMAT_KEY, defaults={"value": str(FORMAT)})
            _bump_generation()
    finally:
        if pool is not None:  # also when a write failed: no worker outlives the rebuild
            pool.terminate()
            pool.join()
    _index_current.cache_clear()

    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Fresh statistics and a visibility map for the rebuilt table (outside any
        # transaction, as VACUUM requires): the document walks are index-only scans then.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) search_searchdocument")
    return done


def _has_texts() -> bool:
    from lantai.storage.models import Component, ComponentRole

    return Component.objects.filter(role=ComponentRole.TEXT).exists()


# --- searching -------------------------------------------------------------------------------

#: The index format 索引格式 written by this code: 2 = the public-scope token
#: (text.PUBLIC_TOKEN) and character bigrams (text.bigrams) besides the single characters.
#: IndexState "format" says which format every entry is in; an older index (an upgrade) is
#: searched the old way until ``lantai search-reindex`` rebuilds it.
FORMAT = 2
FORMAT_KEY = "format"


_format_seen: dict[str, float] = {}
#: How long a process trusts "the index is current" before asking again (a database
#: restored from an older backup may hold an older format).
FORMAT_SECONDS = 60.0


def _index_current() -> bool:
    """Whether every index entry is in the current FORMAT (one small query at most every
    FORMAT_SECONDS per process when it is; every time when it is not, so a rebuild takes
    effect at once)."""
    now = time.monotonic()
    if _format_seen.get("until", 0.0) > now:
        return True
    value = IndexState.objects.filter(key=FORMAT_KEY).values_list("value", flat=True).first()
    current = value is not None and value.isdigit() and int(value) >= FORMAT
    if current:
        _format_seen["until"] = now + FORMAT_SECONDS
    else:
        _format_seen.clear()
    return current


_index_current.cache_clear = _format_seen.clear  # type: ignore[attr-defined]


def _as_int(value: Any, label: str, *, low: int = 1, high: int = 2**31 - 1) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise SearchQueryError(_("%(f)s 应为整数。") % {"f": label}) from None
    if not low <= number <= high:
        raise SearchQueryError(_("%(f)s 超出范围。") % {"f": label})
    return number


_FILTER_LOOKUPS = {
    "fonds": "fonds_id",
    "category": "category_id",
    "unit": "unit_id",
    "year": "year",
    "retention": "retention",
    "openness": "openness",
}


def _filtered(qs: QuerySet, cleaned: dict[str, Any]) -> QuerySet:
    """``qs`` narrowed by cleaned filter values."""
    if cleaned:
        qs = qs.filter(**{_FILTER_LOOKUPS[k]: v for k, v in cleaned.items()})
    return qs


def _clean_filters(filters: dict | None) -> dict[str, Any]:
    """The facet filters checked and converted (a fonds or category by id or code); raises
    SearchQueryError for one that cannot be used."""
    cleaned: dict[str, Any] = {}
    for name, value in (filters or {}).items():
        if value in (None, ""):
            continue
        if name not in FACETS:
            raise SearchQueryError(_("不支持的筛选条件：%(f)s") % {"f": name})
        if name == "fonds":
            if str(value).strip().isdigit():
                cleaned[name] = _as_int(value, _("全宗"))
            else:
                code = str(value).strip()
                cleaned[name] = (
                    Fonds.objects.filter(code=code).values_list("pk", flat=True).first() or 0
                )
        elif name == "category":
            if str(value).strip().isdigit():
                cleaned[name] = _as_int(value, _("门类"))
            else:
                code = str(value).strip()
                cleaned[name] = (
                    Category.objects.filter(code=code).values_list("pk", flat=True).first() or 0
                )
        elif name == "unit":
            cleaned[name] = _as_int(value, _("移交单位"))
        elif name == "year":
            cleaned[name] = _as_int(value, _("年度"), low=1, high=9999)
        elif name == "retention":
            if value not in Retention.values:
                raise SearchQueryError(_("保管期限不正确：%(v)s") % {"v": str(value)[:20]})
            cleaned[name] = value
        elif name == "openness":
            if value not in Openness.values:
                raise SearchQueryError(_("开放状态不正确：%(v)s") % {"v": str(value)[:20]})
            cleaned[name] = value
    return cleaned


class _LazyItems:
    """Stands in for an item QuerySet and builds it on first use. A search usually needs only
    the SQL of its scope, which ``_scope_where`` keeps per process; building visible_items'
    rules through the ORM costs 1.5–4 ms, more than many searches spend in the index."""

    model = Item

    def __init__(self, build: Callable[[], QuerySet]) -> None:
        self._build = build
        self._qs: QuerySet | None = None

    def __getattr__(self, name: str) -> Any:
        # Only for what the instance does not have itself: everything but ``model``.
        if self._qs is None:
            self._qs = self._build()
        return getattr(self._qs, name)


_FACET_COLUMNS = ("fonds_id", "category_id", "year", "retention", "openness", "unit_id")
_CANDIDATE_COLUMNS = (*_FACET_COLUMNS, "date")
#: Default for ``LANTAI_SEARCH_EXACT_LIMIT``: how many matches a query counts, facets and
#: ranks exactly before it reports "more than N" (Elasticsearch does the same at 10,000 by
#: default). Bounds the work of a query on a common character.
EXACT_LIMIT = 1000


def exact_limit() -> int:
    """The matches counted exactly, from settings ``LANTAI_SEARCH_EXACT_LIMIT`` (or the
    environment), at least 100."""
    import os

    from django.conf import settings

    value = getattr(settings, "LANTAI_SEARCH_EXACT_LIMIT", None) or os.environ.get(
        "LANTAI_SEARCH_EXACT_LIMIT"
    )
    try:
        return max(100, int(value)) if value else EXACT_LIMIT
    except (TypeError, ValueError):
        return EXACT_LIMIT


#: Filters that narrow the items to a band of ids (a fonds, a year or a unit is catalogued
#: together), worth a MIN/MAX lookup to bound the full-text scan.
_NARROW = {"fonds", "year", "unit"}


_where_cache: dict[tuple, tuple[str, list] | None] = {}


def _scope_where(
    user, qs: QuerySet | _LazyItems, filters: dict[str, Any]
) -> tuple[str, list] | None:
    """``qs``'s conditions as SQL, compiled once per process for each visibility scope and
    set of filters: compiling visible_items' rules through the ORM takes ~1.5 ms, longer than
    most of the queries that use them. The SQL depends only on the scope's name
    (``visibility_key``: it changes with the user's roles, unit and fonds) and the filters;
    ``qs`` is always ``visible_items(user, per_row=True)``, unfiltered (pass a ``_LazyItems``,
    so that it is built only when the SQL is not known yet). None when ``qs``
    reads other tables too (its conditions would not apply to the item row alone)."""
    from django.db import connection

    from lantai.holdings.services import visibility_key
    from lantai.search.backends import compiled_where, only_table

    key = (connection.vendor, visibility_key(user))
    if key in _where_cache:
        found = _where_cache[key]
    else:
        if len(_where_cache) > 2_000:
            _where_cache.clear()
        found = _where_cache[key] = compiled_where(qs) if only_table(qs) else None
    if found is None or not filters:
        return found
    # The filters are plain column comparisons (the same as _filtered's lookups): appended
    # here, so that every fonds, year … shares the scope's compiled SQL.
    sql, params = found
    table = Item._meta.db_table
    parts = [f"({sql})"] if sql else []
    for name, value in sorted(filters.items()):
        parts.append(f'"{table}"."{_FILTER_LOOKUPS[name]}" = %s')
        params = [*params, value]
    return " AND ".join(parts), params


def _id_range(
    where: tuple[str, list] | None, qs: QuerySet | _LazyItems
) -> tuple[int | None, int | None]:
    """Lowest and highest id of the items matching ``where`` (two index lookups for a filtered
    set); of ``qs`` when its conditions are not plain SQL on the item table."""
    from django.db import connection
    from django.db.models import Max, Min

    if where is None:
        found = qs.aggregate(low=Min("pk"), high=Max("pk"))
        return found["low"], found["high"]
    sql, params = where
    select = f'SELECT "id" FROM "holdings_item" WHERE {sql or "1=1"}'  # noqa: S608
    if connection.vendor == "postgresql":
        # Fenced (OFFSET 0): left to itself PostgreSQL answered MIN and MAX by walking the
        # year index from either end, filtering by fonds (5-150 ms); the (fonds, year) index
        # finds the band's rows at once (~3 ms).
        select += " OFFSET 0"
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT MIN("id"), MAX("id") FROM ({select}) s', params)  # noqa: S608
        low, high = cursor.fetchone()
    return low, high


def _by_date(rows: list[tuple], *, descending: bool) -> list[int]:
    """Candidate ids in date order (undated last, then by year, then id), as the SQL sort."""
    year_at, date_at = 2 + _FACET_COLUMNS.index("year"), len(rows[0]) - 1 if rows else 0

    def key(row: tuple) -> tuple:
        value = row[date_at]
        if isinstance(value, str):  # SQLite returns dates as text from raw SQL
            value = date.fromisoformat(value)
        ordinal = value.toordinal() if value else 0
        if descending:
            return (value is None, -ordinal, -row[year_at], -row[0])
        return (value is None, ordinal, row[year_at], row[0])

    return [row[0] for row in sorted(rows, key=key)]


def _facet_counts(rows: list[tuple], start: int) -> dict[str, list[tuple[Any, str, int]]]:
    """Every facet from ONE pass over the matches' rows, whose facet columns (in FACETS
    order) begin at ``start``: a count per column, each a C-level pass over the rows, instead
    of six GROUP BYs that would each run the full-text match again."""
    from operator import itemgetter

    return _facet_entries(
        {name: Counter(map(itemgetter(start + i), rows)) for i, name in enumerate(FACETS)}
    )


def _facet_entries(counters: dict[str, Counter]) -> dict[str, list[tuple[Any, str, int]]]:
    """(value, label, count) per facet, the most frequent first (years newest first), at
    most FACET_LIMIT each; a missing value (no unit) is not a facet entry."""
    out: dict[str, list[tuple[Any, str, int]]] = {}
    for name in FACETS:
        counter = counters[name]
        counter.pop(None, None)
        top = sorted(counter.items(), key=lambda e: (-e[1], str(e[0])))[:FACET_LIMIT]
        values = [value for value, _n in top]
        if name in ("fonds", "category", "unit"):
            labels = _code_labels(name, values)
        elif name == "retention":
            labels = {k: str(v) for k, v in Retention.choices}
        elif name == "openness":
            labels = {k: str(v) for k, v in Openness.choices}
        else:
            labels = {}
        entries = [(value, labels.get(value, str(value)), n) for value, n in top]
        if name == "year":
            entries.sort(key=lambda e: -e[0])
        out[name] = entries
    return out


#: Labels of fonds, categories and units for the facets, kept this many seconds per process
#: (a rename shows within that time; three queries fewer for every search).
LABEL_SECONDS = 60.0
_label_cache: dict[tuple[str, int], tuple[str, float]] = {}


def _code_labels(name: str, values: list) -> dict:
    """{pk: label} of these fonds / categories / units, from a short-lived process cache
    (none when search caching is switched off: LANTAI_SEARCH_CACHE_SECONDS = 0)."""
    if _cache_seconds() <= 0:
        _label_cache.clear()
    now = time.monotonic()
    labels, missing = {}, []
    for value in values:
        entry = _label_cache.get((name, value))
        if entry is not None and entry[1] > now:
            labels[value] = entry[0]
        else:
            missing.append(value)
    if missing:
        if name == "unit":
            found = dict(Unit.objects.filter(pk__in=missing).values_list("pk", "name"))
        else:
            model = Fonds if name == "fonds" else Category
            found = {
                pk: f"{code} {nm}"
                for pk, code, nm in model.objects.filter(pk__in=missing).values_list(
                    "pk", "code", "name"
                )
            }
        if len(_label_cache) > 10_000:
            _label_cache.clear()
        if _cache_seconds() > 0:
            for pk, label in found.items():
                _label_cache[(name, pk)] = (label, now + LABEL_SECONDS)
        labels.update(found)
    return labels


def _order(qs: QuerySet, sort: str, scored: bool) -> QuerySet:
    from django.db.models import F

    if sort == "date":
        return qs.order_by(F("date").asc(nulls_last=True), "year", "pk")
    if sort == "-date":
        return qs.order_by(F("date").desc(nulls_last=True), "-year", "-pk")
    if scored:
        return qs.order_by("-score", "pk")
    return qs.order_by("fonds_id", "category_id", "year", "item_no", "pk")


def _exact_ids(qs: QuerySet, raw: str) -> list[int]:
    """Items whose 档号 or 文号 is exactly the query (they rank first)."""
    candidate = tx.exact_candidate(raw)
    # Every 档号 (… 年度 … 件号) and every 文号 (〔年份〕序号) holds digits: a query without any
    # cannot be one, and most queries are spared two lookups.
    if candidate is None or not any(ch.isdigit() for ch in candidate):
        return []
    # Look the code up in its own indexes first (unique 档号, 文号 of the documents), then
    # keep those ``qs`` (the visible items) holds: a handful of rows. Joined to the full-text
    # match instead, the planner walked every visible item (0.4 s at a million).
    ids = set(Item.objects.filter(reference_code=candidate).values_list("pk", flat=True)[:20])
    ids.update(
        SearchDocument.objects.filter(doc_number=tx.normalize(candidate)).values_list(
            "item_id", flat=True
        )[:20]
    )
    if not ids:
        return []
    return list(qs.filter(pk__in=ids).order_by("pk").values_list("pk", flat=True)[:20])


GENERATION_KEY = "generation"


def _bump_generation() -> None:
    """Mark every cached result stale 结果缓存失效: the index changed (an item indexed or
    removed, and with it what some scope may see). A random value rather than a counter, so
    that a rolled-back transaction can never bring back a value already used."""
    import uuid

    IndexState.objects.update_or_create(
        key=GENERATION_KEY, defaults={"value": uuid.uuid4().hex[:16]}
    )


def _cache_seconds() -> int:
    from django.conf import settings

    return int(getattr(settings, "LANTAI_SEARCH_CACHE_SECONDS", 0) or 0)


def search(
    user,
    query: str,
    *,
    filters: dict | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 20,
    facets: bool = True,
) -> SearchResult:
    """Search the items ``user`` may see 检索. ``query`` syntax: words separated by spaces all
    occur; ``"..."`` phrase; ``-word`` or ``NOT word`` excluded; an empty query lists
    everything visible (with filters). Raises SearchQueryError with a Chinese message for a
    query or filter that cannot be run.

    Results are kept in the "search" cache (``LANTAI_SEARCH_CACHE_SECONDS``, default 300; 0
    switches it off) per visibility scope (``holdings.services.visibility_key``: all members
    of the public share one entry), language and index generation — any index write starts
    a new generation, so a saved, opened or closed item is never answered from an older
    result. A cached page is checked against ``visible_items`` before it is returned (a bulk
    change that bypassed the index cannot show what the user may no longer see)."""
    seconds = _cache_seconds()
    # Only full-text queries: a filters-only listing reads the item table, not the index, so
    # the index generation does not follow its changes (and it is bounded anyway).
    if seconds <= 0 or not str(query or "").strip():
        return _search(
            user, query, filters=filters, sort=sort, page=page, per_page=per_page, facets=facets
        )
    import hashlib

    from django.core.cache import caches
    from django.utils import translation

    from lantai.holdings.services import visibility_key

    started = time.monotonic()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM search_indexstate WHERE key = %s", [GENERATION_KEY])
        row = cursor.fetchone()
    generation = row[0] if row else "0"
    spec = repr(
        (
            str(query or "").strip(),
            sorted((str(k), str(v)) for k, v in (filters or {}).items() if v not in (None, "")),
            str(sort),
            str(page),
            str(per_page),
            bool(facets),
        )
    )
    key = (
        "s:"
        + hashlib.sha256(
            f"{FORMAT}|{generation}|{visibility_key(user)}|{translation.get_language()}|{spec}".encode()
        ).hexdigest()
    )
    cache = caches["search"]
    cached = cache.get(key)
    if isinstance(cached, SearchResult):
        ids = [hit.item_id for hit in cached.hits]
        still = _still_visible(user, ids)
        if len(still) == len(set(ids)):
            cached.seconds = time.monotonic() - started
            return cached
    result = _search(
        user, query, filters=filters, sort=sort, page=page, per_page=per_page, facets=facets
    )
    cache.set(key, result, timeout=seconds)
    return result


def _still_visible(user, ids: list[int]) -> set[int]:
    """Those of ``ids`` that ``user`` may see now (a cached page's check)."""
    from django.db import connection

    if not ids:
        return set()
    where = _scope_where(user, _LazyItems(lambda: visible_items(user, per_row=True)), {})
    if where is None:
        return set(visible_items(user).filter(pk__in=ids).values_list("pk", flat=True))
    sql, params = where
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "id" FROM "holdings_item" WHERE "id" IN ({marks})'  # noqa: S608
            + (f" AND ({sql})" if sql else ""),
            [*ids, *params],
        )
        return {row[0] for row in cursor.fetchall()}


def _search(
    user,
    query: str,
    *,
    filters: dict | None,
    sort: str,
    page: int,
    per_page: int,
    facets: bool,
) -> SearchResult:
    started = time.monotonic()
    if sort not in SORTS:
        raise SearchQueryError(_("排序方式不正确：%(s)s") % {"s": str(sort)[:20]})
    page = _as_int(page, _("页码"), low=1, high=10**6)
    per_page = _as_int(per_page, _("每页条数"), low=1, high=MAX_PER_PAGE)
    offset = (page - 1) * per_page
    if offset >= MAX_RESULTS_WINDOW:
        raise SearchQueryError(
            _("只能翻到前 %(n)d 条结果，请增加检索词或筛选条件。") % {"n": MAX_RESULTS_WINDOW}
        )
    parsed = parse_query(query)
    # What the index is asked: bigram phrases, and for the public scope (visible_items' own
    # test) the public token, so the index skips what the public cannot see — visible_items
    # below still decides. ``parsed`` stays as typed, for highlighting.
    asked = parsed
    if not parsed.empty and _index_current():
        asked = tx.index_query(parsed)
        if user is not None and not has(user, VIEW):
            asked.required = [tx.PUBLIC_TOKEN]
    _cleaned = _clean_filters(filters)
    per_row = not parsed.empty
    base = _LazyItems(lambda: _filtered(visible_items(user, per_row=per_row), _cleaned))
    backend = get_backend()
    scored = not parsed.empty and sort == "relevance"
    page_ids: list[int] = []
    scores: dict[int, float] = {}
    exact: list[int] = []
    total_exact = True
    if parsed.empty:
        # Filters only: the same bound as for a query — count and facet at most ``limit``
        # items (the newest), so listing a large fonds never counts a million rows.
        limit = exact_limit()
        sample = list(base.order_by("-pk").values_list(*_FACET_COLUMNS)[: limit + 1])
        total_exact = len(sample) <= limit
        sample = sample[:limit]
        total = len(sample)
        facet_counts = _facet_counts(sample, 0) if facets else {}
        ordered = _order(base, sort, False)
        page_ids = list(ordered.values_list("pk", flat=True)[offset : offset + per_page])
    else:
        # One bounded pass: at most ``limit`` + 1 matches, newest first, with what the
        # facets and the ranking need. Below the limit everything is exact; above it the
        # total is a lower bound ("more than N"), the facets count the sample, relevance
        # ranks the sample, and a date sort walks the items by date (see date_page).
        limit = exact_limit()
        where = _scope_where(user, _LazyItems(lambda: visible_items(user, per_row=True)), _cleaned)
        id_range = _id_range(where, base) if _cleaned.keys() & _NARROW else None
        if id_range is not None and id_range[0] is None:
            id_range = (0, 0)  # nothing visible under these filters
        # The date only when a date sort may need it (it is parsed for every row).
        columns = _CANDIDATE_COLUMNS if sort != "relevance" else _FACET_COLUMNS
        rows = backend.candidates(
            base,
            asked,
            columns=columns,
            limit=limit + 1,
            score=False,
            id_range=id_range,
            where=where,
        )
        complete = len(rows) <= limit
        rows = rows[:limit]
        if scored and rows:
            if complete:
                # All the matches are here: rank them by BM25 / ts_rank, looked up by id.
                weight = backend.scores(asked, [row[0] for row in rows])
            else:
                # Too many to weigh every term's matches: title 题名 matches first.
                in_title = backend.title_matches(asked, [row[0] for row in rows])
                weight = {row[0]: (1.0 if row[0] in in_title else 0.5) for row in rows}
            rows = [(row[0], weight.get(row[0], 0.0), *row[2:]) for row in rows]
        total = len(rows)
        total_exact = complete
        facet_counts = _facet_counts(rows, 2) if facets else {}
        if scored and total:
            exact = _exact_ids(base, parsed.raw)
        scores = {row[0]: float(row[1]) for row in rows}
        if sort == "relevance":
            # Ties: the lower id first when every match was weighed (stable pages), the
            # newest first in the sample.
            sign = 1 if complete else -1
            ordered_ids = [row[0] for row in sorted(rows, key=lambda r: (-r[1], sign * r[0]))]
        elif complete:
            ordered_ids = _by_date(rows, descending=sort == "-date")
        else:
            ordered_ids = None  # fetched page by page below
        if offset < len(exact):
            page_ids = exact[offset : offset + per_page]
        rest_offset = max(0, offset - len(exact))
        need = per_page - len(page_ids)
        if need > 0 and offset < total:
            if ordered_ids is not None:
                taken = set(exact)
                rest = [pk for pk in ordered_ids if pk not in taken]
                page_ids += rest[rest_offset : rest_offset + need]
            else:
                # The date page may meet an exact hit shown first: fetch a few more.
                more = backend.date_page(
                    base,
                    asked,
                    sort=sort,
                    offset=rest_offset,
                    limit=need + len(exact),
                    where=where,
                )
                page_ids += [pk for pk in more if pk not in set(exact)][:need]
        if exact and scored:
            missing = [pk for pk in exact if pk not in scores]
            if missing:
                scores.update(backend.scores(asked, missing))

    hits = _hits(page_ids, parsed, scores, set(exact))
    result = SearchResult(
        total=total,
        total_exact=total_exact,
        hits=hits,
        facets=facet_counts,
        page=page,
        per_page=per_page,
        query=parsed.raw,
        sort=sort,
    )
    result.seconds = time.monotonic() - started
    return result


def _hits(ids: list[int], parsed, scores: dict[int, float], exact: set[int]) -> list[Hit]:
    if not ids:
        return []
    # Plain SQL and rows, not the ORM and model instances: this runs for every search, and
    # building the two queries cost more than running them.
    from django.db import connection

    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.id, i.reference_code, i.title, i.date, i.year, i.openness, f.code, c.code "  # noqa: S608
            "FROM holdings_item i JOIN holdings_fonds f ON f.id = i.fonds_id "
            f"JOIN holdings_category c ON c.id = i.category_id WHERE i.id IN ({marks})",
            ids,
        )
        items = {row[0]: row for row in cursor.fetchall()}
        cursor.execute(
            f"SELECT item_id, text FROM {SearchDocument._meta.db_table} "  # noqa: S608
            f"WHERE item_id IN ({marks})",
            ids,
        )
        texts = dict(cursor.fetchall())
    phrases = parsed.positive
    hits = []
    for pk in ids:
        row = items.get(pk)
        if row is None:
            continue
        _pk, reference_code, title, date_, year, openness, fonds_code, category_code = row
        body = texts.get(pk, "")
        hits.append(
            Hit(
                item_id=pk,
                reference_code=reference_code,
                title=title,
                snippet_html=mark_safe(tx.highlight(body, phrases, width=SNIPPET_CHARS)),
                date=date_,
                year=year,
                fonds_code=fonds_code,
                category_code=category_code,
                score=float(scores.get(pk) or 0.0),
                title_html=mark_safe(tx.highlight(title, phrases)),
                openness=openness,
                exact=pk in exact,
            )
        )
    return hits
