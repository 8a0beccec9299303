"""A small archive with livelihood records for the livelihood tests: the ``ui/world.py``
archive plus marriage (HY) and social-insurance (SB) records naming 张三 (a registered
citizen), 李四 (another registered citizen), another 张三 with a different ID, and records
without ID numbers; rows through the ORM so the signals index them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from lantai.accounts.roles import Role
from lantai.holdings import refcode
from lantai.holdings.models import Category, Classification, Item, Openness
from lantai.livelihood.demo import make_id_number
from lantai.portal import services as portal
from lantai.portal.models import CitizenProfile
from ui.world import World, build_world, make_user

ZHANG_ID = make_id_number("张三", 1980, "男")
LI_ID = make_id_number("李四", 1982, "女")
OTHER_ZHANG_ID = make_id_number("张三", 1975, "男")


@dataclass
class LW:
    world: World
    hy: Category
    sb: Category
    zhang: object  # citizen user
    li: object  # citizen user
    marriage: Item  # 张三 & 李四, 控制使用 + 内部: served to both parties
    insurance: Item  # 张三, 未鉴定
    secret: Item  # 张三, 秘密: never on the portal
    old: Item  # 张三 without ID, born 1980: a possible match only
    other_zhang: Item  # another 张三 (other ID)
    ws_note: Item  # a 文书 item naming 张三: not a livelihood record

    @property
    def archivist(self):
        return self.world.users[Role.ARCHIVIST]

    def client(self, user) -> Client:
        client = Client()
        client.force_login(user)
        return client


def citizen(username: str, name: str, number: str):
    user = make_user(username, Role.PUBLIC)
    CitizenProfile.objects.create(
        user=user,
        real_name=name,
        id_hash=portal.id_number_hash(number),
        id_encrypted=portal.encrypt_id_number(number),
        id_masked=portal.mask_id_number(number),
        phone="13800000000",
    )
    return user


def record(category, year, no, title, extra, **fields) -> Item:
    world_fonds = fields.pop("fonds")
    item = Item(
        fonds=world_fonds,
        category=category,
        year=year,
        retention="Y",
        item_no=no,
        title=title,
        extra=extra,
        unit=world_fonds.unit,
        openness=fields.pop("openness", Openness.RESTRICTED),
        classification=fields.pop("classification", Classification.INTERNAL),
        **fields,
    )
    item.reference_code = refcode.code_for_item(item)
    item.save()
    return item


def build() -> LW:
    world = build_world()
    hy = Category.objects.get(code="HY")
    sb = Category.objects.get(code="SB")
    f = world.fonds_b
    marriage = record(
        hy,
        2005,
        1,
        "張三、李四结婚登记",
        {
            "男方": "張三",  # traditional characters in the register: still matched
            "男方出生年份": 1980,
            "男方身份证号": ZHANG_ID.lower(),
            "女方": "李四",
            "女方出生年份": 1982,
            "女方身份证号": LI_ID,
        },
        fonds=f,
    )
    insurance = record(
        sb,
        2010,
        1,
        "张三参保登记表",
        {"姓名": "张三", "出生年份": 1980, "身份证号": ZHANG_ID},
        fonds=f,
        openness=Openness.UNREVIEWED,
        classification=Classification.PUBLIC,
    )
    secret = record(
        sb,
        2011,
        1,
        "张三工伤保险待遇核定表（秘密）",
        {"姓名": "张三", "出生年份": 1980, "身份证号": ZHANG_ID},
        fonds=f,
        classification=Classification.SECRET,
    )
    old = record(sb, 1983, 1, "张三缴费年限认定材料", {"姓名": "张三", "出生年份": 1980}, fonds=f)
    other = record(
        sb,
        2012,
        1,
        "张三养老保险待遇核定表",
        {"姓名": "张三", "出生年份": 1975, "身份证号": OTHER_ZHANG_ID},
        fonds=f,
    )
    ws_note = record(
        world.ws,
        2015,
        9,
        "关于张三同志任职的通知",
        {"姓名": "张三", "身份证号": ZHANG_ID},
        fonds=world.fonds_a,
        series=world.series_a,
    )
    return LW(
        world,
        hy,
        sb,
        citizen("zhang", "张三", ZHANG_ID),
        citizen("li", "李四", LI_ID),
        marriage,
        insurance,
        secret,
        old,
        other,
        ws_note,
    )


@pytest.fixture
def lw(db) -> LW:
    return build()
