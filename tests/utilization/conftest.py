"""Fixtures of the use request suite (the world lives in use_world.py)."""

import pytest
from django.core.cache import cache

from utilization.use_world import world  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # Rate-limit counters live in the cache; ids and addresses repeat between tests.
    cache.clear()
    yield
    cache.clear()
