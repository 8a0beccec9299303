"""A small world for the opening-review tests: two units with a fonds each, categories with
different opening terms (WS 25 years, a 10-year one), items and a volume of several years,
two archivists, a unit records officer per unit and a public user."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.test import Client

from lantai.accounts.models import User
from lantai.holdings import refcode
from lantai.holdings import services as holdings
from lantai.holdings.models import Category, Fonds, Item, Unit, Volume

REVIEW_YEAR = 2026


@dataclass
class World:
    unit_a: Unit
    unit_b: Unit
    fonds_a: Fonds
    fonds_b: Fonds
    ws: Category
    kj: Category
    users: dict[str, User] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    volume: Volume | None = None

    def client(self, name: str) -> Client:
        client = Client()
        client.force_login(self.users[name])
        return client

    @property
    def anonymous(self):
        return AnonymousUser()


def _user(username: str, *roles: str, unit=None) -> User:
    # No password: clients use force_login, and hashing six passwords per test is slow.
    user = User.objects.create_user(username=username, password=None, unit=unit)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


@pytest.fixture(autouse=True)
def _fresh_scheme_cache():
    refcode.clear_scheme_cache()
    yield
    refcode.clear_scheme_cache()


@pytest.fixture
def world(db) -> World:
    unit_a = holdings.create_unit(None, {"code": "U-A", "name": "兰台区人民政府办公室"})
    unit_b = holdings.create_unit(None, {"code": "U-B", "name": "兰台区教育局"})
    fonds_a = holdings.create_fonds(
        None, {"code": "Z109", "name": "兰台区人民政府", "unit": unit_a}
    )
    fonds_b = holdings.create_fonds(None, {"code": "Z110", "name": "兰台区教育局", "unit": unit_b})
    ws = Category.objects.get(code="WS")
    kj = Category.objects.get(code="KJ")
    kj.opening_years = 10  # 科技: may open earlier (档案法 Art. 27)
    kj.save()
    w = World(unit_a, unit_b, fonds_a, fonds_b, ws, kj)
    w.users = {
        "archivist": _user("archivist", "archivist"),
        "approver": _user("approver", "archivist"),
        "officer_a": _user("officer_a", "unit_officer", unit=unit_a),
        "officer_b": _user("officer_b", "unit_officer", unit=unit_b),
        "public": _user("citizen", "public"),
        "keeper": _user("keeper", "keeper"),
    }

    def item(key, fonds, category, year, **extra):
        w.items[key] = holdings.create_item(
            None,
            {
                "fonds": fonds,
                "category": category,
                "year": year,
                "retention": "Y",
                "title": f"{key}：关于{year}年工作的通知",
                **extra,
            },
        )

    # WS, 25 years: 2000 and 2001 are due in 2026, 2002 is not.
    item("a2000", fonds_a, ws, 2000)
    item("a2001", fonds_a, ws, 2001)
    item("a2002", fonds_a, ws, 2002)
    item("b2000", fonds_b, ws, 2000)
    # KJ, 10 years: 2016 is due in 2026, 2017 is not.
    item("k2016", fonds_a, kj, 2016)
    item("k2017", fonds_a, kj, 2017)
    # Already reviewed ones are never due.
    item("open1999", fonds_a, ws, 1999, openness="open")
    item("closed1999", fonds_a, ws, 1999, openness="restricted")
    w.volume = holdings.create_volume(
        None,
        {
            "fonds": fonds_b,
            "category": ws,
            "year": 1995,
            "retention": "Y",
            "title": "1995年教育工作案卷",
        },
    )
    item("inside", fonds_b, ws, 1995, volume=w.volume)
    return w
