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
