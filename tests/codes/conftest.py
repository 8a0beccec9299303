"""Fixtures for the code-table screens: users of each role with a signed-in client, and a
small set of codes written through the services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from lantai.accounts.models import User
from lantai.accounts.roles import Role
from lantai.holdings import refcode, services
from lantai.holdings.models import Category, Fonds, Series, Unit


@pytest.fixture(autouse=True)
def _fresh_scheme_cache():
    # Test transactions roll back without a post_save: start every test from the database.
    refcode.clear_scheme_cache()
    yield
    refcode.clear_scheme_cache()


@pytest.fixture
def client_for(db):
    """client_for(role) → a Client signed in as a new user holding that role."""

    def make(role: str) -> Client:
        user = User.objects.create_user(username=f"u-{role}", password=None)
        user.groups.add(Group.objects.get(name=role))
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def archivist_client(client_for) -> Client:
    return client_for(Role.ARCHIVIST)


@pytest.fixture
def unit(db) -> Unit:
    return services.create_unit(None, {"code": "BGS-001", "name": "兰台区人民政府办公室"})


@pytest.fixture
def fonds(unit) -> Fonds:
    return services.create_fonds(None, {"code": "Z109", "name": "兰台区人民政府", "unit": unit})


@pytest.fixture
def series(fonds) -> Series:
    return services.create_series(None, {"fonds": fonds, "code": "BGS", "name": "办公室"})


@pytest.fixture
def ws(db) -> Category:
    return Category.objects.get(code="WS")
