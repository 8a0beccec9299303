"""Search backends 检索后端: one interface, chosen by the database vendor.

- ``SQLiteBackend``: FTS5 table ``search_fts`` (title, meta, body), unicode61 tokenizer over
  character-segmented text; a term is an FTS5 phrase of its tokens; BM25 ranking.
- ``PostgresBackend``: a tsvector of the same tokens with positions, built in Python (so the
  server's parser and locale never decide what a token is), GIN index, phrases with ``<->``,
  ``ts_rank`` with weights A (title) / B (catalog fields) / D (full text).

Both narrow an item QuerySet (already scoped by ``holdings.services.visible_items``) to the
matching items and add a ``score`` (higher is better); counts and facets then come from the
same QuerySet, so they never include anything the user may not see.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.db import connection, transaction
from django.db.models import Count, F, QuerySet

from lantai.search.text import (
    _TOKEN_RE,
    FIELD_SEP,
    PUBLIC_TOKEN,
    ParsedQuery,
    _is_cjk_char,
    with_bigrams,
)

DOC_TABLE = "search_searchdocument"
FTS_TABLE = "search_fts"


@dataclass
class IndexRow:
    """One item's index entry: segmented columns, and the display text for snippets."""

    item_id: int
    title: str  # segmented
    meta: str  # segmented, fields joined by FIELD_SEP
    body: str  # segmented full text
    text: str  # original catalog fields + full text
    doc_number: str  # normalised 文号
    text_chars: int
    #: What the backend writes, when already built (``Backend.prepare``, in rebuild workers):
    #: SQLite's three FTS columns with their bigrams, or PostgreSQL's tsvector text.
    prepared: tuple | str | None = None


def only_table(qs: QuerySet) -> bool:
    """Whether ``qs`` reads its own table only (its conditions can then be put on a row of
    that table joined by hand). Aliases with no reference left are joins Django set up and
    then dropped: they are not in the SQL."""
    query_obj = qs.query
    table = qs.model._meta.db_table
    return not (
        {alias for alias in query_obj.alias_map if query_obj.alias_refcount.get(alias)} - {table}
    )


def compiled_where(qs: QuerySet) -> tuple[str, list]:
    """``qs``'s WHERE clause as SQL and parameters (empty SQL for no condition)."""
    query_obj = qs.query
    if not query_obj.where:
        return "", []
    sql, params = query_obj.get_compiler(using=qs.db).compile(query_obj.where)
    return sql, list(params)


class Backend:
    vendor = ""

    def write(self, rows: list[IndexRow], *, fresh: bool = False) -> None:
        """Replace the index entries of these items (``fresh``: none exist yet)."""
        raise NotImplementedError

    def prepare(self, row: IndexRow) -> None:
        """Build what ``write`` will store for ``row`` (Python work a rebuild does in its
        worker processes)."""

    def delete(self, ids: list[int]) -> None:
        with connection.cursor() as cursor:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(f"DELETE FROM {DOC_TABLE} WHERE item_id IN ({marks})", chunk)  # noqa: S608
                self._delete_tokens(cursor, chunk, marks)

    def _delete_tokens(self, cursor, ids: list[int], marks: str) -> None:
        pass

    def clear(self) -> None:
        """Drop every entry (before a full rebuild)."""
        raise NotImplementedError

    def match(self, qs: QuerySet, query: ParsedQuery, *, score: bool = True) -> QuerySet:
        raise NotImplementedError

    def optimize(self) -> None:
        pass

    # Counting, facets and ranked pages. The generic versions go through ``match``; SQLite
    # overrides them to make the full-text match drive the join.

    def candidates(
        self,
        qs: QuerySet,
        query: ParsedQuery,
        *,
        columns: tuple[str, ...],
        limit: int,
        score: bool,
        id_range: tuple[int, int] | None = None,
        where: tuple[str, list] | None = None,
    ) -> list[tuple]:
        """(id, score, columns...) of at most ``limit`` matches in ``qs``, the most recently
        catalogued first (highest id): one bounded pass that yields the count, the facets and
        the ranking when the matches are fewer than ``limit``, and a sample otherwise. The
        cost is bounded by ``limit``, not by how common the query is. ``id_range``: the
        lowest and highest id ``qs`` can hold (known when it is filtered), to skip the rest
        of the index. ``where``: ``qs``'s conditions already compiled to SQL (see
        ``compiled_where``), to spare compiling them again."""
        if id_range is not None:
            qs = qs.filter(pk__range=id_range)
        matched = self.match(qs, query, score=score).order_by("-pk")
        if score:
            return list(matched.values_list("pk", "score", *columns)[:limit])
        return [(pk, 0.0, *rest) for pk, *rest in matched.values_list("pk", *columns)[:limit]]

    def date_page(
        self,
        qs: QuerySet,
        query: ParsedQuery,
        *,
        sort: str,
        offset: int,
        limit: int,
        where: tuple[str, list] | None = None,
    ) -> list[int]:
        """Ids of one page of matches by date, walking the items in date order and testing
        each against the full-text index: quick when the query matches many items (that is
        when it is used), where sorting every match would not be."""
        table = qs.model._meta.db_table
        sql, params = self.probe(table, query)
        matched = qs.extra(where=[sql], params=params)  # noqa: S610 (fixed SQL, bound params)
        if sort == "date":
            matched = matched.order_by(F("date").asc(nulls_last=True), "year", "pk")
        else:
            matched = matched.order_by(F("date").desc(nulls_last=True), "-year", "-pk")
        return list(matched.values_list("pk", flat=True)[offset : offset + limit])

    def probe(self, table: str, query: ParsedQuery) -> tuple[str, list]:
        """SQL condition: the item row of ``table`` matches ``query``."""
        raise NotImplementedError

    def scores(self, query: ParsedQuery, ids: list[int]) -> dict[int, float]:
        """{id: relevance} of these matches (BM25 / ts_rank, higher is better), given that
        each of ``ids`` matches ``query`` (they come from ``candidates``, which applied the
        visibility rules): the items are looked up by id, not found again through the index.
        ``query.required`` (the scope's token) is left out of the weighing — it says who may
        see an item, not what it is about, and SQLite's BM25 would count every item holding
        it (a fifth of the index) to weigh it."""
        raise NotImplementedError

    def title_matches(self, query: ParsedQuery, ids: list[int]) -> set[int]:
        """Those of ``ids`` whose title 题名 holds every positive term: the ranking used when
        a query matches too many items for BM25 to be worth its cost (BM25's term weights
        count every match of every term first: 20-30 ms for a common character at 1M)."""
        raise NotImplementedError

    def grouped(self, qs: QuerySet, query: ParsedQuery, columns: tuple[str, ...]) -> list[tuple]:
        """(columns..., count) over the matches in ``qs``."""
        matched = self.match(qs, query, score=False).order_by()
        return list(matched.values_list(*columns).annotate(n=Count("pk")))

    def count(self, qs: QuerySet, query: ParsedQuery) -> int:
        return self.match(qs, query, score=False).order_by().count()

    def ranked(
        self,
        qs: QuerySet,
        query: ParsedQuery,
        *,
        sort: str,
        exclude: list[int],
        offset: int,
        limit: int,
    ) -> list[tuple[int, float]]:
        """(item id, score) of one page, best first (or by date for ``date``/``-date``)."""
        scored = sort == "relevance"
        matched = self.match(qs, query, score=scored)
        if exclude:
            matched = matched.exclude(pk__in=exclude)
        if sort == "date":
            matched = matched.order_by(F("date").asc(nulls_last=True), "year", "pk")
        elif sort == "-date":
            matched = matched.order_by(F("date").desc(nulls_last=True), "-year", "-pk")
        else:
            matched = matched.order_by("-score", "pk")
        if scored:
            return list(matched.values_list("pk", "score")[offset : offset + limit])
        return [(pk, 0.0) for pk in matched.values_list("pk", flat=True)[offset : offset + limit]]


def _doc_values(row: IndexRow, now) -> tuple:
    return (row.item_id, row.text, row.doc_number, row.text_chars, now)


class SQLiteBackend(Backend):
    vendor = "sqlite"
    # bm25 column weights: a match in the title counts most, then catalog fields, then text.
    WEIGHTS = (10.0, 4.0, 1.0)
    #: Ids scored per statement (SQLite binds at most 32,766 parameters).
    SCORE_CHUNK = 10_000

    def write(self, rows: list[IndexRow], *, fresh: bool = False) -> None:
        from django.utils import timezone

        if not rows:
            return
        now = timezone.now()
        with connection.cursor() as cursor:
            if not fresh:
                # The trigger on the document table drops the FTS row too.
                self.delete([row.item_id for row in rows])
            cursor.executemany(
                f"INSERT INTO {DOC_TABLE} (item_id, text, doc_number, text_chars, indexed_at) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s)",
                [_doc_values(row, now) for row in rows],
            )
            # Each column followed by its character bigrams (text.with_bigrams): FTS5 keeps
            # every position, so they may simply follow.
            cursor.executemany(
                f"INSERT INTO {FTS_TABLE} (rowid, title, meta, body) VALUES (%s, %s, %s, %s)",  # noqa: S608
                [(row.item_id, *self._columns(row)) for row in rows],
            )

    @staticmethod
    def _columns(row: IndexRow) -> tuple:
        if isinstance(row.prepared, tuple):
            return row.prepared
        return (with_bigrams(row.title), with_bigrams(row.meta), with_bigrams(row.body))

    def prepare(self, row: IndexRow) -> None:
        row.prepared = self._columns(row)

    def clear(self) -> None:
        with connection.cursor() as cursor:
            # Dropping and re-creating is far quicker than deleting a million FTS rows.
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
            cursor.execute(
                f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, meta, body, "
                "tokenize = 'unicode61 remove_diacritics 0')"
            )
            cursor.execute(f"DELETE FROM {DOC_TABLE}")  # noqa: S608

    @staticmethod
    def expression(query: ParsedQuery) -> str:
        """The FTS5 query: every term a quoted phrase of its tokens (tokens never contain a
        double quote: they are letters, digits or single CJK characters)."""

        def phrase(toks: list[str]) -> str:
            return '"' + " ".join(toks) + '"'

        expr = " AND ".join(phrase(t) for t in query.positive)
        for token in query.required:
            expr += f' AND "{token}"'
        for toks in query.negative:
            expr += " NOT " + phrase(toks)
        return expr

    def match(self, qs: QuerySet, query: ParsedQuery, *, score: bool = True) -> QuerySet:
        table = qs.model._meta.db_table
        extra: dict = {
            "tables": [FTS_TABLE],
            "where": [f'{FTS_TABLE}.rowid = "{table}"."id"', f"{FTS_TABLE} MATCH %s"],
            "params": [self.expression(query)],
        }
        if score:
            weights = ", ".join(str(w) for w in self.WEIGHTS)
            extra["select"] = {"score": f"-bm25({FTS_TABLE}, {weights})"}
        return qs.extra(**extra)

    def _driven(
        self,
        qs: QuerySet,
        query: ParsedQuery,
        id_range: tuple[int, int] | None = None,
        where: tuple[str, list] | None = None,
    ) -> tuple[str, list] | None:
        """FROM … WHERE … with the FTS table first (CROSS JOIN fixes SQLite's join order) and
        the item QuerySet's own conditions on the joined row. Left to itself the planner
        walked the items (e.g. every open one for the public) probing the FTS index for
        each: ~1 s at 200,000 items whatever the query. None if ``qs`` joins other tables."""
        table = qs.model._meta.db_table
        if where is None:
            # (A caller passing ``where`` has checked only_table itself: see
            # services._scope_where, which spares building the QuerySet at all.)
            if not only_table(qs):
                return None
            where = compiled_where(qs)
        where_sql, where_params = where
        sql = (
            f'FROM {FTS_TABLE} CROSS JOIN "{table}" ON "{table}"."id" = {FTS_TABLE}.rowid '
            f"WHERE {FTS_TABLE} MATCH %s"
        )
        params: list = [self.expression(query)]
        if id_range is not None:
            # FTS5 seeks its doclists to the range: a fonds or a year is a narrow band of ids.
            sql += f" AND {FTS_TABLE}.rowid BETWEEN %s AND %s"
            params += list(id_range)
        if where_sql:
            sql += f" AND ({where_sql})"
            params += list(where_params)
        return sql, params

    def _fetch(self, sql: str, params: list) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def grouped(self, qs: QuerySet, query: ParsedQuery, columns: tuple[str, ...]) -> list[tuple]:
        driven = self._driven(qs, query)
        if driven is None:
            return super().grouped(qs, query, columns)
        body, params = driven
        table = qs.model._meta.db_table
        names = [
            qs.model._meta.get_field(c).column if not c.endswith("_id") else c for c in columns
        ]
        cols = ", ".join(f'"{table}"."{n}"' for n in names)
        return self._fetch(f"SELECT {cols}, COUNT(*) {body} GROUP BY {cols}", params)

    def count(self, qs: QuerySet, query: ParsedQuery) -> int:
        driven = self._driven(qs, query)
        if driven is None:
            return super().count(qs, query)
        body, params = driven
        return self._fetch(f"SELECT COUNT(*) {body}", params)[0][0]

    def ranked(self, qs, query, *, sort, exclude, offset, limit):
        driven = self._driven(qs, query)
        if driven is None:
            return super().ranked(qs, query, sort=sort, exclude=exclude, offset=offset, limit=limit)
        body, params = driven
        table = qs.model._meta.db_table
        if exclude:
            body += f' AND "{table}"."id" NOT IN ({", ".join(["%s"] * len(exclude))})'
            params = [*params, *exclude]
        weights = ", ".join(str(w) for w in self.WEIGHTS)
        score = f"-bm25({FTS_TABLE}, {weights})"
        if sort == "date":
            order = f'"{table}"."date" IS NULL, "{table}"."date", "{table}"."year", "{table}"."id"'
            score = "0.0"
        elif sort == "-date":
            order = (
                f'"{table}"."date" IS NULL, "{table}"."date" DESC, "{table}"."year" DESC, '
                f'"{table}"."id" DESC'
            )
            score = "0.0"
        else:
            order = f'2 DESC, "{table}"."id"'
        sql = f'SELECT "{table}"."id", {score} {body} ORDER BY {order} LIMIT %s OFFSET %s'
        return [(pk, float(sc)) for pk, sc in self._fetch(sql, [*params, limit, offset])]

    def candidates(self, qs, query, *, columns, limit, score, id_range=None, where=None):
        driven = self._driven(qs, query, id_range, where)
        if driven is None:
            return super().candidates(
                qs, query, columns=columns, limit=limit, score=score, id_range=id_range
            )
        body, params = driven
        table = qs.model._meta.db_table
        names = [
            qs.model._meta.get_field(c).column if not c.endswith("_id") else c for c in columns
        ]
        cols = "".join(f', "{table}"."{n}"' for n in names)
        weights = ", ".join(str(w) for w in self.WEIGHTS)
        rank = f"-bm25({FTS_TABLE}, {weights})" if score else "0.0"
        # FTS5 hands rows out in rowid order itself (DESC included), so LIMIT stops the
        # scan early: no sort, no visit of the other matches.
        sql = f'SELECT "{table}"."id", {rank}{cols} {body} ORDER BY {FTS_TABLE}.rowid DESC LIMIT %s'
        return self._fetch(sql, [*params, limit])

    def date_page(self, qs, query, *, sort, offset, limit, where=None):
        # Left to itself the planner gathered every visible item, probed the index for each
        # and sorted (10 s for the public at a million items). Walking the date index instead
        # probes only until the page is full — few probes, since this runs only when the
        # query matches many items. Undated items come after the dated ones, as in SQL's
        # NULLS LAST.
        table = qs.model._meta.db_table
        if where is None:
            if not only_table(qs):
                return super().date_page(qs, query, sort=sort, offset=offset, limit=limit)
            where = compiled_where(qs)
        where_sql, where_params = where
        probe_sql, probe_params = self.probe(table, query)
        desc = " DESC" if sort == "-date" else ""
        visible = f"({where_sql}) AND " if where_sql else ""

        def run(dated: bool, skip: int, take: int) -> list[int]:
            if dated:
                source = f'"{table}" INDEXED BY item_date'
                cond = f'"{table}"."date" IS NOT NULL'
                order = f'"{table}"."date"{desc}, "{table}"."year"{desc}, "{table}"."id"{desc}'
            else:
                source = f'"{table}"'
                cond = f'"{table}"."date" IS NULL'
                order = f'"{table}"."year"{desc}, "{table}"."id"{desc}'
            sql = (
                f'SELECT "{table}"."id" FROM {source} WHERE {cond} AND {visible}{probe_sql} '  # noqa: S608
                f"ORDER BY {order} LIMIT %s OFFSET %s"
            )
            return [row[0] for row in self._fetch(sql, [*where_params, *probe_params, take, skip])]

        page = run(True, offset, limit)
        if len(page) < limit:
            # Past the dated matches: how many there were (bounded by the page's end).
            if page:
                dated = offset + len(page)
            else:
                counted = run(True, 0, offset)
                dated = len(counted)
            page += run(False, max(0, offset - dated), limit - len(page))
        return page

    def scores(self, query: ParsedQuery, ids: list[int]) -> dict[int, float]:
        if not ids:
            return {}
        expr = self.expression(replace(query, required=[]))
        weights = ", ".join(str(w) for w in self.WEIGHTS)
        # BM25 is computed only for the rows that pass the WHERE clause, and its term weights
        # once per statement. "+rowid IN" keeps the list away from FTS5's rowid lookup (which
        # would restart the query, term weights included, for every id); the range lets
        # FTS5 skip to the ids' span of each term's doclist.
        out: dict[int, float] = {}
        # In chunks below SQLite's limit on bound parameters (a raised
        # LANTAI_SEARCH_EXACT_LIMIT may hand over more ids than one statement takes).
        for start in range(0, len(ids), self.SCORE_CHUNK):
            chunk = ids[start : start + self.SCORE_CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            rows = self._fetch(
                f"SELECT rowid, -bm25({FTS_TABLE}, {weights}) FROM {FTS_TABLE} "  # noqa: S608
                f"WHERE {FTS_TABLE} MATCH %s AND rowid BETWEEN %s AND %s "
                f"AND +rowid IN ({marks})",
                [expr, min(chunk), max(chunk), *chunk],
            )
            out.update((pk, float(score)) for pk, score in rows)
        return out

    def title_matches(self, query: ParsedQuery, ids: list[int]) -> set[int]:
        if not ids or not query.positive:
            return set()
        expr = "{title} : (" + " AND ".join('"' + " ".join(t) + '"' for t in query.positive) + ")"
        expr += "".join(f' AND "{token}"' for token in query.required)
        # The ids are the newest matches: scan the title column's doclist down to the lowest.
        rows = self._fetch(
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND rowid >= %s",  # noqa: S608
            [expr, min(ids)],
        )
        wanted = set(ids)
        return {row[0] for row in rows if row[0] in wanted}

    def probe(self, table: str, query: ParsedQuery) -> tuple[str, list]:
        # rowid = ? AND MATCH: FTS5 seeks each token's doclist to that row.
        return (
            f'EXISTS (SELECT 1 FROM {FTS_TABLE} WHERE {FTS_TABLE}.rowid = "{table}"."id" '  # noqa: S608
            f"AND {FTS_TABLE} MATCH %s)",
            [self.expression(query)],
        )

    def optimize(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")  # noqa: S608


# PostgreSQL: positions above 16383 are not stored, a lexeme keeps at most 256 positions.
_PG_MAX_POS = 16383
_PG_MAX_LEXEME_POS = 256


def tsvector_literal(title: str, meta: str, body: str) -> str:
    """The tsvector of the three columns, as its text form: ``'国':1A,5B '家':2A``. A field
    separator leaves a gap of one position, so ``<->`` never joins two fields.

    The tokens are those of ``text.tokens`` (the FTS5 side's); this is the rebuild's hot loop,
    so the segmented text is split on spaces first — a chunk that is all letters/digits (every
    CJK character, every plain word) is one token as it stands, only the rest (``Z109-WS``)
    goes through the token pattern.

    The columns hold single tokens only (text.with_bigrams is SQLite's); the character
    bigrams (text.bigrams) are added here, each at the position of its first character, so
    they share the positions (a tsvector keeps none past 16383) and ``'人民' <-> '民政'``
    still means adjacent."""
    positions: dict[str, list[str]] = {}
    pos = 0
    findall = _TOKEN_RE.findall
    cjk = _is_cjk_char

    def add(tok: str, at: int, weight: str) -> None:
        slots = positions.get(tok)
        if slots is None:
            positions[tok] = [f"{at}{weight}"]
        elif len(slots) < _PG_MAX_LEXEME_POS:
            slots.append(f"{at}{weight}")

    for text, weight in ((title, "A"), (meta, "B"), (body, "")):
        pos += 1  # gap between columns
        if not text:
            continue
        for index, part in enumerate(text.split(FIELD_SEP)):
            if index:
                pos += 1  # the separator holds a position
            prev = ""  # the CJK character at pos - 1, if that is one
            for chunk in part.split():
                whole = chunk.isalnum() or chunk == PUBLIC_TOKEN
                for tok in (chunk,) if whole else findall(chunk):
                    pos += 1
                    if pos > _PG_MAX_POS:
                        break
                    if len(tok) > 200:
                        tok = tok[:200]
                    add(tok, pos, weight)
                    if cjk(tok):
                        if prev:
                            add(prev + tok, pos - 1, weight)
                        prev = tok
                    else:
                        prev = ""
    return " ".join([f"'{tok}':{','.join(slots)}" for tok, slots in positions.items()])


class PostgresBackend(Backend):
    vendor = "postgresql"
    # ts_rank weights for {D, C, B, A}.
    WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"

    def write(self, rows: list[IndexRow], *, fresh: bool = False) -> None:
        from django.utils import timezone

        if not rows:
            return
        now = timezone.now()
        sql = (
            f"INSERT INTO {DOC_TABLE} (item_id, text, doc_number, text_chars, indexed_at, vector) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s, %s::tsvector)"
        )
        if not fresh:
            sql += (
                " ON CONFLICT (item_id) DO UPDATE SET text = EXCLUDED.text, "
                "doc_number = EXCLUDED.doc_number, text_chars = EXCLUDED.text_chars, "
                "indexed_at = EXCLUDED.indexed_at, vector = EXCLUDED.vector"
            )
        values = [(*_doc_values(row, now), self._vector(row)) for row in rows]
        with connection.cursor() as cursor:
            if fresh:
                # A rebuild: COPY is several times quicker than INSERTs (the server parses
                # each tsvector either way); a bigger GIN pending list lets the index take
                # the new entries in large merges instead of one insertion per lexeme.
                cursor.execute("SET LOCAL gin_pending_list_limit = '64MB'")
                with cursor.cursor.copy(
                    f"COPY {DOC_TABLE} (item_id, text, doc_number, text_chars, indexed_at, "
                    "vector) FROM STDIN"
                ) as copy:
                    for value in values:
                        copy.write_row(value)
            else:
                cursor.executemany(sql, values)

    @staticmethod
    def _vector(row: IndexRow) -> str:
        if isinstance(row.prepared, str):
            return row.prepared
        return tsvector_literal(row.title, row.meta, row.body)

    def prepare(self, row: IndexRow) -> None:
        row.prepared = self._vector(row)

    def clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {DOC_TABLE}")  # noqa: S608

    @staticmethod
    def expression(query: ParsedQuery) -> str:
        """The tsquery text: ``('国' <-> '家') & !('秘' <-> '密')``."""

        def phrase(toks: list[str]) -> str:
            return "(" + " <-> ".join(f"'{t[:200]}'" for t in toks) + ")"

        parts = [phrase(t) for t in query.positive]
        parts += [f"'{token}'" for token in query.required]
        parts += ["!" + phrase(t) for t in query.negative]
        return " & ".join(parts)

    def match(self, qs: QuerySet, query: ParsedQuery, *, score: bool = True) -> QuerySet:
        table = qs.model._meta.db_table
        expr = self.expression(query)
        extra: dict = {
            "tables": [DOC_TABLE],
            "where": [
                f'{DOC_TABLE}.item_id = "{table}"."id"',
                f"{DOC_TABLE}.vector @@ %s::tsquery",
            ],
            "params": [expr],
        }
        if score:
            extra["select"] = {
                "score": f"ts_rank('{self.WEIGHTS}', {DOC_TABLE}.vector, %s::tsquery)"
            }
            extra["select_params"] = [expr]
        return qs.extra(**extra)

    #: The walking pass reads the newest documents in windows of this many, at most
    #: ``WALK_WINDOWS`` of them (about 2 µs a document).
    WALK = 20_000
    WALK_WINDOWS = 3
    #: With statistics: a query matching less than this share of the documents goes to the
    #: GIN index at once (walking would read limit / share documents at ~2 µs each, the index
    #: costs a few µs per match: they break even near 2-3 % at a million documents) …
    GIN_BELOW_SHARE = 0.025
    #: … and a commoner one walks one window sized to fill the limit (at most this many).
    WALK_MAX = 60_000
    STATS_SECONDS = 600.0
    _stats: tuple[float, dict[str, float], float, float] | None = None

    def _lexeme_stats(self) -> tuple[dict[str, float], float, float] | None:
        """ANALYZE's most common lexemes of the document vectors with the share of documents
        holding each, the smallest share listed (rarer lexemes are not listed), and the number
        of documents; None before the table was analysed. Kept per process for a while."""
        import time as _time

        now = _time.monotonic()
        cached = PostgresBackend._stats
        if cached is not None and cached[0] > now:
            return (cached[1], cached[2], cached[3]) if cached[1] else None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
                "WHERE tablename = %s AND attname = 'vector'",
                [DOC_TABLE],
            )
            row = cursor.fetchone()
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [DOC_TABLE])
            docs = cursor.fetchone()
        shares: dict[str, float] = {}
        floor = 0.0
        if row and row[0] and row[1]:
            elems, freqs = row
            # The last three numbers are the smallest and largest share and the nulls'.
            shares = dict(zip(elems, freqs[: len(elems)], strict=False))
            floor = min(shares.values()) if shares else 0.0
        total = float(docs[0]) if docs and docs[0] and docs[0] > 0 else 0.0
        if not total:
            shares = {}
        PostgresBackend._stats = (now + self.STATS_SECONDS, shares, floor, total)
        return (shares, floor, total) if shares else None

    def estimated_share(self, query: ParsedQuery) -> float | None:
        """The share of documents ``query`` matches, from the lexeme statistics: a phrase at
        most its rarest lexeme, terms taken as independent (None: no statistics)."""
        stats = self._lexeme_stats()
        if stats is None:
            return None
        shares, floor, _total = stats

        def lexeme(tok: str) -> float:
            return shares.get(tok[:200], floor / 2)

        share = 1.0
        for toks in query.positive:
            share *= min(lexeme(t) for t in toks)
        for token in query.required:
            share *= lexeme(token)
        return share

    def candidates(self, qs, query, *, columns, limit, score, id_range=None, where=None):
        """PostgreSQL cannot estimate how many documents a phrase of single characters
        matches (it guessed 89 for 工作, which matches 173,000 of a million), and its GIN
        index reads such long posting lists slowly (0.7 s for 关). So a query is first
        answered by walking the newest documents by id in windows, testing each: a common
        query fills ``limit`` within a window or two. Only a query too rare for that goes to
        the GIN index, with nested loops, since its matches are then few."""
        table = qs.model._meta.db_table
        if where is None:
            if not only_table(qs):
                return super().candidates(
                    qs, query, columns=columns, limit=limit, score=score, id_range=id_range
                )
            where = compiled_where(qs)
        where_sql, where_params = where
        names = [
            qs.model._meta.get_field(c).column if not c.endswith("_id") else c for c in columns
        ]
        out_cols = ", ".join(f'"{table}"."{n}"' for n in ["id", *names])
        # The item row of each document by primary key (LATERAL: documents drive, always;
        # left free, the planner looped over every visible item with the documents inside),
        # named as the table so the visibility conditions apply to it unchanged.
        # (OFFSET 0 keeps PostgreSQL from flattening it into an ordinary join.)
        lateral = (
            f'CROSS JOIN LATERAL (SELECT * FROM "{table}" hi WHERE hi."id" = d.item_id '  # noqa: S608
            f'OFFSET 0) "{table}"'
        )
        visible = f" AND ({where_sql})" if where_sql else ""
        expr = self.expression(query)
        low, high = id_range if id_range is not None else (None, None)
        with transaction.atomic(), connection.cursor() as cursor:
            # The cost estimates of these plans are huge (the phrase estimate is off by
            # 1,000x): JIT compilation would add half a second to each.
            cursor.execute("SET LOCAL jit = off")
            share = None if id_range is not None else self.estimated_share(query)
            walk, windows = self.WALK, self.WALK_WINDOWS
            if share is not None:
                walk = max(2_000, min(self.WALK_MAX, int(1.5 * limit / max(share, 1e-9))))
            if not score and (share is None or share >= self.GIN_BELOW_SHARE):
                rows: list[tuple] = []
                below = high + 1 if high is not None else None
                for _window in range(windows):
                    bounds, bound_params = [], []
                    if below is not None:
                        bounds.append("item_id < %s")
                        bound_params.append(below)
                    if low is not None:
                        bounds.append("item_id >= %s")
                        bound_params.append(low)
                    where_window = (" WHERE " + " AND ".join(bounds)) if bounds else ""
                    # The window as a LIMITed subquery: the planner cannot fold it into a
                    # GIN bitmap scan of every match (which it would, misjudging the count).
                    window = (
                        f"(SELECT item_id, vector FROM {DOC_TABLE}{where_window} "  # noqa: S608
                        "ORDER BY item_id DESC LIMIT %s) d"
                    )
                    cursor.execute(
                        f"SELECT count(*), min(d.item_id), "  # noqa: S608
                        f"count(*) FILTER (WHERE d.vector @@ %s::tsquery) FROM {window}",
                        [expr, *bound_params, walk],
                    )
                    seen, floor, hits = cursor.fetchone()
                    if not seen:
                        return rows  # every document read: the rows are all the matches
                    if hits:
                        window_floor = (
                            f"(SELECT item_id, vector FROM {DOC_TABLE} WHERE item_id >= %s"  # noqa: S608
                            f"{' AND item_id < %s' if below else ''} "
                            "ORDER BY item_id DESC LIMIT %s) d"
                        )
                        cursor.execute(
                            f"SELECT {out_cols} FROM {window_floor} {lateral} "  # noqa: S608
                            f"WHERE d.vector @@ %s::tsquery{visible} "
                            "ORDER BY d.item_id DESC LIMIT %s",
                            [
                                floor,
                                *([below] if below else []),
                                walk,
                                expr,
                                *where_params,
                                limit - len(rows),
                            ],
                        )
                        rows += [(row[0], 0.0, *row[1:]) for row in cursor.fetchall()]
                    if len(rows) >= limit or seen < walk:
                        return rows
                    below = floor
            # Few matches by now: look them up in the GIN index (enough memory that its
            # bitmap stays exact) and fetch their items by primary key.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            rank = f"ts_rank('{self.WEIGHTS}', d.vector, %s::tsquery)" if score else "0.0"
            full = (
                f"SELECT {rank}, {out_cols} FROM {DOC_TABLE} d {lateral} "  # noqa: S608
                f"WHERE d.vector @@ %s::tsquery{visible}"
                + (" AND d.item_id BETWEEN %s AND %s" if id_range is not None else "")
                + " ORDER BY d.item_id DESC LIMIT %s"
            )
            cursor.execute(
                full,
                [*([expr] if score else []), expr, *where_params, *(id_range or ()), limit],
            )
            return [(row[1], float(row[0]), *row[2:]) for row in cursor.fetchall()]

    def scores(self, query: ParsedQuery, ids: list[int]) -> dict[int, float]:
        if not ids:
            return {}
        expr = self.expression(replace(query, required=[]))
        with connection.cursor() as cursor:
            # By primary key: ts_rank needs the document's vector only, not the GIN index
            # (which the ranked pass used to scan for every match again; OFFSET 0 keeps the
            # planner from going back to it for the @@ test).
            cursor.execute(
                f"SELECT item_id, ts_rank('{self.WEIGHTS}', vector, %s::tsquery) "  # noqa: S608
                f"FROM (SELECT item_id, vector FROM {DOC_TABLE} WHERE item_id = ANY(%s) "
                "OFFSET 0) d WHERE vector @@ %s::tsquery",
                [expr, list(ids), expr],
            )
            return {pk: float(score) for pk, score in cursor.fetchall()}

    def title_matches(self, query: ParsedQuery, ids: list[int]) -> set[int]:
        if not ids or not query.positive:
            return set()

        def phrase(toks: list[str]) -> str:
            return "(" + " <-> ".join(f"'{t[:200]}':A" for t in toks) + ")"

        expr = " & ".join(phrase(t) for t in query.positive)
        expr += "".join(f" & '{token}'" for token in query.required)
        with connection.cursor() as cursor:
            cursor.execute(
                # OFFSET 0 keeps the planner from a GIN scan of every title match.
                f"SELECT item_id FROM (SELECT item_id, vector FROM {DOC_TABLE} "  # noqa: S608
                "WHERE item_id = ANY(%s) OFFSET 0) d WHERE vector @@ %s::tsquery",
                [list(ids), expr],
            )
            return {row[0] for row in cursor.fetchall()}

    def probe(self, table: str, query: ParsedQuery) -> tuple[str, list]:
        return (
            f'EXISTS (SELECT 1 FROM {DOC_TABLE} d WHERE d.item_id = "{table}"."id" '  # noqa: S608
            "AND d.vector @@ %s::tsquery)",
            [self.expression(query)],
        )


def get_backend() -> Backend:
    if connection.vendor == "postgresql":
        return PostgresBackend()
    return SQLiteBackend()
