"""Fixtures for the portal tests: role users (shared), ID numbers made by the algorithm."""

from __future__ import annotations

import pytest
from portal_ids import make_id

from role_fixtures import (  # noqa: F401  (fixtures are found by name)
    archivist,
    make_user,
    password,
    sysadmin,
    unit,
)


@pytest.fixture
def citizen_data(password):  # noqa: F811 - the imported fixture
    return {
        "real_name": "陈公民",
        "id_number": make_id(seq="231"),
        "phone": "13812345678",
        "password": password,
    }


@pytest.fixture
def citizen(db, citizen_data):
    from lantai.portal.services import register_citizen

    return register_citizen(citizen_data)


@pytest.fixture(autouse=True)
def _fresh_scheme_cache():
    from lantai.holdings import refcode

    refcode.clear_scheme_cache()
    yield
    refcode.clear_scheme_cache()


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # Counters live in the cache across tests; each test starts with its own limits.
    from django.core.cache import cache

    cache.clear()
    settings.LANTAI_PORTAL_RATE_LIMITS = {}


@pytest.fixture
def store(db, tmp_path, monkeypatch):
    from lantai.storage import services
    from lantai.storage.models import BackendKind, LocationRole, StorageLocation

    monkeypatch.setattr(services, "_synced_env", True)
    return StorageLocation.objects.create(
        code="main",
        name="本地",
        backend=BackendKind.LOCAL,
        config={"root": str(tmp_path / "store")},
        role=LocationRole.PRIMARY,
    )


@pytest.fixture
def world(store):
    from portal_world import build

    made = build()
    try:
        from lantai.search.services import index_items
    except ImportError:  # the search app is not installed: the portal's catalog search
        return made
    from lantai.holdings.models import Item

    # Test transactions never commit, so the on-commit indexing never runs: index by hand.
    index_items(list(Item.objects.values_list("pk", flat=True)))
    return made


@pytest.fixture
def other_officer(make_user, world):  # noqa: F811
    """单位档案员 of the other unit (教育局)."""
    return make_user("officer_b", "unit_officer", unit=world["unit_b"])


@pytest.fixture
def own_officer(make_user, world):  # noqa: F811
    return make_user("officer_a", "unit_officer", unit=world["unit_a"])


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    # Argon2 costs a second per account on a loaded CI machine; these tests are not about it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
