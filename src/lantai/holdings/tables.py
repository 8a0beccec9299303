"""Sorting and keyset (cursor) paging for holdings lists 条目列表.

A list of a million items must not COUNT(*) its result nor skip rows with a deep OFFSET: each
page fetches ``size + 1`` rows after (or before) the last row seen, ordered by the sort field
and the primary key, so the database walks an index from a known position.

Nullable sort fields (档号 before it is assigned, 形成日期) are kept portable by splitting the
order into two sections: rows with a value first (in the requested direction), then rows
without one (by id). Each section is a plain indexable query, so neither SQLite's nor
PostgreSQL's NULL ordering matters.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connections, models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from lantai.holdings.models import Item

DEFAULT_SORT = "code"

#: sort name → (model field, label, nullable, unique)
SORT_FIELDS: dict[str, tuple[str, Any, bool, bool]] = {
    "code": ("reference_code", _("档号"), True, True),
    "year": ("year", _("年度"), False, False),
    "date": ("date", _("形成日期"), True, False),
    "title": ("title", _("题名"), False, False),
    "updated": ("updated_at", _("修改时间"), False, False),
}
#: Volumes have no single 形成日期; the other orders apply.
VOLUME_SORT_FIELDS = {name: spec for name, spec in SORT_FIELDS.items() if name != "date"}


class CursorError(ValueError):
    """A cursor that cannot be decoded or does not belong to the current sort."""


@dataclass(frozen=True)
class Sort:
    """One sort order: a field, its direction, and whether it may be NULL."""

    name: str
    field: str
    descending: bool
    nullable: bool
    unique: bool

    @property
    def value(self) -> str:
        return f"-{self.name}" if self.descending else self.name

    @property
    def sections(self) -> list[int]:
        # 0: rows with a value; 1: rows where the value is NULL.
        return [0, 1] if self.nullable else [0]


def sort_choices(fields: dict = SORT_FIELDS) -> list[tuple[str, str]]:
    """(value, label) pairs for a sort select, ascending then descending."""
    choices = []
    for name, (_field, label, _nullable, _unique) in fields.items():
        choices.append((name, _("%(label)s ↑") % {"label": label}))
        choices.append((f"-{name}", _("%(label)s ↓") % {"label": label}))
    return choices


def is_valid_sort(value: str | None, fields: dict = SORT_FIELDS) -> bool:
    if not value or value.count("-") > 1:
        return False
    return value.removeprefix("-") in fields


def parse_sort(value: str | None, default: str = DEFAULT_SORT, fields: dict = SORT_FIELDS) -> Sort:
    """The Sort for ``value`` ("code", "-date", …); unknown values fall back to ``default``."""
    if not is_valid_sort(value, fields):
        value = default
    descending = value.startswith("-")
    name = value.removeprefix("-")
    field, _label, nullable, unique = fields[name]
    return Sort(name, field, descending, nullable, unique)


@dataclass(frozen=True)
class Cursor:
    section: int
    value: Any
    pk: int


def _field(model: type[models.Model], name: str) -> models.Field:
    return model._meta.get_field(name)


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _from_json(field: models.Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, models.DateTimeField):
        return datetime.fromisoformat(value)
    if isinstance(field, models.DateField):
        return date.fromisoformat(value)
    if isinstance(field, models.IntegerField):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("integer expected")
        return value
    if not isinstance(value, str):
        raise TypeError("string expected")
    return value


def encode_cursor(sort: Sort, row: models.Model) -> str:
    value = getattr(row, sort.field)
    section = 1 if value is None else 0
    payload = [sort.value, section, _to_json(value), row.pk]
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: Sort, token: str, model: type[models.Model] = Item) -> Cursor:
    """Decode a cursor made by ``encode_cursor`` for the same sort; CursorError otherwise."""
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        sort_value, section, value, pk = payload
        if sort_value != sort.value or section not in sort.sections:
            raise CursorError(_("翻页位置与当前排序不符，请从第一页开始。"))
        if isinstance(pk, bool) or not isinstance(pk, int):
            raise TypeError("pk")
        value = None if section == 1 else _from_json(_field(model, sort.field), value)
        if section == 0 and value is None:
            raise TypeError("value")
    except CursorError:
        raise
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise CursorError(_("翻页位置无效，请从第一页开始。")) from exc
    return Cursor(section, value, pk)


@dataclass
class KeysetPage:
    rows: list
    sort: Sort
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


def _section(qs: QuerySet, sort: Sort, section: int) -> QuerySet:
    if not sort.nullable:
        return qs
    return qs.filter(**{f"{sort.field}__isnull": section == 1})


def _ordering(sort: Sort, section: int, reverse: bool) -> list[str]:
    desc = sort.descending != reverse
    if section == 1:
        fields = ["pk"]
    elif sort.unique:
        fields = [sort.field]
    else:
        fields = [sort.field, "pk"]
    return [f"-{f}" if desc else f for f in fields]


def _beyond(sort: Sort, cursor: Cursor, reverse: bool) -> Q:
    """Rows strictly after ``cursor`` in the (possibly reversed) order of its section."""
    desc = sort.descending != reverse
    strict, loose = ("lt", "lte") if desc else ("gt", "gte")
    if cursor.section == 1:
        return Q(**{f"pk__{strict}": cursor.pk})
    if sort.unique:
        return Q(**{f"{sort.field}__{strict}": cursor.value})
    # "field >= v AND (field > v OR pk > last)": the first term is an index range, the rest
    # breaks ties; an OR at the top level would keep the planner from using the index.
    return Q(**{f"{sort.field}__{loose}": cursor.value}) & (
        Q(**{f"{sort.field}__{strict}": cursor.value}) | Q(**{f"pk__{strict}": cursor.pk})
    )


def _walk(
    qs: QuerySet,
    sort: Sort,
    cursor: Cursor | None,
    reverse: bool,
    limit: int,
    code_prefix: str | None = None,
) -> list:
    sections = sort.sections[::-1] if reverse else sort.sections
    if cursor is not None:
        sections = sections[sections.index(cursor.section) :]
    rows: list = []
    for section in sections:
        part = _section(qs, sort, section)
        if code_prefix and section == 0 and sort.field == "reference_code":
            # Every 档号 of a fonds begins with its 全宗号 (templates must start with {fonds}),
            # so the walk may start at that prefix. Without it PostgreSQL walks the 档号 index
            # from the first fonds and filters, which is slow for a fonds late in the order.
            part = code_prefix_filter(part, code_prefix)
        if cursor is not None and section == cursor.section:
            part = part.filter(_beyond(sort, cursor, reverse))
        rows.extend(part.order_by(*_ordering(sort, section, reverse))[: limit - len(rows)])
        if len(rows) >= limit:
            break
    return rows


def keyset_page(
    qs: QuerySet,
    sort: Sort,
    *,
    after: str | None = None,
    before: str | None = None,
    size: int = 50,
    code_prefix: str | None = None,
) -> KeysetPage:
    """One page of ``qs`` in ``sort`` order, after or before a cursor; never counts.

    ``code_prefix``: the 全宗号 when ``qs`` is limited to one fonds (see ``fonds_code_prefix``).
    Raises CursorError for a cursor that cannot be used.
    """
    model = qs.model
    if before:
        cursor = decode_cursor(sort, before, model)
        rows = _walk(qs, sort, cursor, True, size + 1, code_prefix)
        has_prev = len(rows) > size
        rows = rows[:size][::-1]
        return KeysetPage(
            rows=rows,
            sort=sort,
            next_cursor=encode_cursor(sort, rows[-1]) if rows else None,
            prev_cursor=encode_cursor(sort, rows[0]) if rows and has_prev else None,
        )
    cursor = decode_cursor(sort, after, model) if after else None
    rows = _walk(qs, sort, cursor, False, size + 1, code_prefix)
    has_next = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        rows=rows,
        sort=sort,
        next_cursor=encode_cursor(sort, rows[-1]) if rows and has_next else None,
        # Coming from a cursor there were rows before this page.
        prev_cursor=encode_cursor(sort, rows[0]) if rows and cursor is not None else None,
    )


def code_prefix_filter(qs: QuerySet, prefix: str, field: str = "reference_code") -> QuerySet:
    """档号前缀: rows whose code starts with ``prefix`` (case-sensitive), index-friendly.

    A LIKE 'p%' cannot use the 档号 index on SQLite (its LIKE ignores case) nor on a
    PostgreSQL database whose collation is not "C"; a range [p, p + U+10FFFF) can, wherever
    strings compare by code point. The LIKE stays as the exact test.
    """
    qs = qs.filter(**{f"{field}__startswith": prefix})
    if _codepoint_collation(qs.db):
        qs = qs.filter(**{f"{field}__gte": prefix, f"{field}__lt": prefix + "\U0010ffff"})
    return qs


_COLLATION_CACHE: dict[str, bool] = {}


def _codepoint_collation(alias: str) -> bool:
    connection = connections[alias]
    if connection.vendor == "sqlite":
        return True  # BINARY collation by default
    if connection.vendor != "postgresql":
        return False
    key = f"{alias}:{connection.settings_dict.get('NAME')}"
    if key not in _COLLATION_CACHE:
        with connection.cursor() as cursor:
            cursor.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            row = cursor.fetchone()
        collate = (row[0] if row else "") or ""
        _COLLATION_CACHE[key] = collate in {"C", "POSIX"} or collate.upper().startswith("C.")
    return _COLLATION_CACHE[key]
