"""Database helpers shared by every app."""

from __future__ import annotations

from django.db import connection


def vendor() -> str:
    return connection.vendor


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def is_sqlite() -> bool:
    return connection.vendor == "sqlite"
