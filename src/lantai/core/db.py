"""Database helpers shared by every app."""

from __future__ import annotations

from django.db import connection


def vendor() -> str:
    return connection.vendor


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def is_sqlite() -> bool:
    return connection.vendor == "sqlite"


def refresh_planner_statistics(using: str = "default") -> None:
    """ANALYZE after migrations: a new index without statistics can mislead SQLite's planner
    (seen: a list sorted by 档号 within a fonds picked the (fonds, date) index and sorted 88,000
    rows instead of walking the 档号 index). About a second per million items."""
    from django.db import connections

    with connections[using].cursor() as cursor:
        cursor.execute("ANALYZE")
