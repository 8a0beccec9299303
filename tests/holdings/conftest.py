"""Fixtures for the holdings suite: roles as real groups, a unit, a fonds with series."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from lantai.accounts.models import User
from lantai.holdings import refcode, services
from lantai.holdings.models import Category, Fonds, Series, Unit


@pytest.fixture(autouse=True)
def _fresh_scheme_cache():
    # Test transactions roll back without a post_save, so start every test from the database.
    refcode.clear_scheme_cache()
    yield
    refcode.clear_scheme_cache()


@pytest.fixture
def make_user(db):
    def make(username: str, *roles: str, unit: Unit | None = None) -> User:
        user = User.objects.create_user(username=username, password="x-Unused-Passw0rd", unit=unit)
        for role in roles:
            user.groups.add(Group.objects.get(name=role))
        return User.objects.get(pk=user.pk)  # fresh: no cached permissions

    return make


@pytest.fixture
def archivist(make_user) -> User:
    return make_user("archivist", "archivist")


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


@pytest.fixture
def item_data(fonds, ws, series):
    def data(**overrides):
        values = {
            "fonds": fonds,
            "category": ws,
            "series": series,
            "year": 2011,
            "retention": "Y",
            "title": "关于开展档案工作检查的通知",
        }
        values.update(overrides)
        return values

    return data
