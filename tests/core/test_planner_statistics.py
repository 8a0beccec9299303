"""Migrations end with ANALYZE, so a new index never meets the planner without statistics."""

import pytest
from django.db import connection

from lantai.core.db import refresh_planner_statistics

pytestmark = pytest.mark.django_db


def _category_stats() -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'holdings_category'")
        else:
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'holdings_category'")
        return cursor.fetchone()[0]


def test_migrate_left_statistics_and_refresh_keeps_them():
    # The test database was built by migrate, whose post_migrate hook ran ANALYZE over the
    # seeded categories.
    assert _category_stats() > 0
    refresh_planner_statistics()
    assert _category_stats() > 0
