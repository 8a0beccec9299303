"""A small archive for the UI and API tests: two units with a fonds each, users of every role,
items and a volume. Rows are written with the ORM (the holdings services have their own
tests); 档号 are composed by the real 档号 engine so they look like production data.

Imported by tests/ui/conftest.py and tests/api/conftest.py (``tests/`` is on sys.path).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from lantai.accounts.models import User
from lantai.accounts.roles import Role
from lantai.holdings import refcode
from lantai.holdings.models import (
    Category,
    Classification,
    Fonds,
    FondsName,
    Item,
    Openness,
    Series,
    Unit,
    Volume,
)


@dataclass
class World:
    unit_a: Unit
    unit_b: Unit
    fonds_a: Fonds
    fonds_b: Fonds
    ws: Category
    kj: Category
    series_a: Series
    items_a: list[Item] = field(default_factory=list)
    items_b: list[Item] = field(default_factory=list)
    restricted_a: Item | None = None
    volume_a: Volume | None = None
    users: dict[str, User] = field(default_factory=dict)

    def client(self, role: str) -> Client:
        client = Client()
        client.force_login(self.users[role])
        return client


def make_user(username: str, role: str | None, unit: Unit | None = None) -> User:
    # No password: the tests sign in with force_login (and skip Argon2 hashing time).
    user = User.objects.create_user(username=username, password=None, unit=unit)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_item(
    fonds: Fonds,
    category: Category,
    year: int,
    item_no: int,
    *,
    series: Series | None = None,
    volume: Volume | None = None,
    title: str = "关于做好档案工作的通知",
    openness: str = Openness.OPEN,
    classification: str = Classification.PUBLIC,
    retention: str = "Y",
    day: date | None = None,
) -> Item:
    item = Item(
        fonds=fonds,
        category=category,
        year=year,
        retention=retention,
        series=series,
        volume=volume,
        item_no=item_no,
        title=title,
        openness=openness,
        classification=classification,
        date=day,
        unit=fonds.unit,
    )
    item.reference_code = refcode.code_for_item(item)
    item.save()
    return item


def make_volume(fonds: Fonds, category: Category, year: int, volume_no: int) -> Volume:
    volume = Volume(
        fonds=fonds,
        category=category,
        year=year,
        retention="Y",
        volume_no=volume_no,
        title=f"{year}年科技项目案卷",
        openness=Openness.OPEN,
    )
    volume.reference_code = refcode.code_for_volume(volume)
    volume.save()
    return volume


def build_world() -> World:
    unit_a = Unit.objects.create(code="U001", name="区政府办公室", kind="agency")
    unit_b = Unit.objects.create(code="U002", name="区教育委员会", kind="agency")
    fonds_a = Fonds.objects.create(code="Z101", name="区政府办公室", unit=unit_a, start_year=1980)
    fonds_b = Fonds.objects.create(code="Z102", name="区教育委员会", unit=unit_b, start_year=1985)
    FondsName.objects.create(
        fonds=fonds_a, name="县人民政府办公室", start_year=1980, end_year=1999, note="撤县设区"
    )
    FondsName.objects.create(fonds=fonds_a, name="区政府办公室", start_year=2000)
    ws = Category.objects.get(code="WS")
    kj = Category.objects.get(code="KJ")
    series_a = Series.objects.create(fonds=fonds_a, code="BGS", name="办公室")
    world = World(unit_a, unit_b, fonds_a, fonds_b, ws, kj, series_a)
    titles = [
        "关于召开全区档案工作会议的通知",
        "年度工作总结",
        "关于申请经费的请示",
        "会议纪要",
        "关于机构调整的批复",
    ]
    for n in range(1, 6):
        world.items_a.append(
            make_item(
                fonds_a,
                ws,
                2011,
                n,
                series=series_a,
                title=titles[n - 1],
                day=date(2011, n, 10) if n != 3 else None,
            )
        )
    for n in range(1, 3):
        world.items_a.append(
            make_item(
                fonds_a, ws, 2012, n, series=series_a, title=f"2012年文件{n}", day=date(2012, 3, n)
            )
        )
    world.restricted_a = make_item(
        fonds_a,
        ws,
        2013,
        1,
        series=series_a,
        title="控制使用的文件",
        openness=Openness.RESTRICTED,
        day=date(2013, 5, 1),
    )
    for n in range(1, 4):
        world.items_b.append(
            make_item(fonds_b, ws, 2011, n, title=f"教委文件{n}", day=date(2011, 6, n))
        )
    world.volume_a = make_volume(fonds_a, kj, 1995, 1)
    for n in range(1, 3):
        make_item(fonds_a, kj, 1995, n, volume=world.volume_a, title=f"卷内文件{n}")

    world.users = {
        Role.ARCHIVIST: make_user("archivist", Role.ARCHIVIST),
        Role.KEEPER: make_user("keeper", Role.KEEPER),
        Role.SUPERVISOR: make_user("supervisor", Role.SUPERVISOR),
        Role.UNIT_OFFICER: make_user("officer", Role.UNIT_OFFICER, unit=unit_a),
        Role.PUBLIC: make_user("citizen", Role.PUBLIC),
        Role.AUDITOR: make_user("auditor", Role.AUDITOR),
        Role.SYSADMIN: make_user("sysadmin", Role.SYSADMIN),
        Role.SECADMIN: make_user("secadmin", Role.SECADMIN),
    }
    return world


@pytest.fixture
def world(db) -> World:
    return build_world()
