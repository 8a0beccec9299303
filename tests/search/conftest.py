"""Fixtures for the search suite: a small archive with items of every openness in two units'
fonds, a closed and an open volume, and users in each role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group

from lantai.accounts.models import User
from lantai.holdings import refcode
from lantai.holdings import services as hs
from lantai.holdings.models import Category
from lantai.search import services


@pytest.fixture(autouse=True)
def _fresh_caches():
    refcode.clear_scheme_cache()
    from django.core.cache import cache

    cache.clear()
    yield
    refcode.clear_scheme_cache()


@pytest.fixture
def make_user(db):
    def make(username: str, *roles: str, unit=None) -> User:
        user = User.objects.create_user(username=username, password=None, unit=unit)
        for role in roles:
            user.groups.add(Group.objects.get(name=role))
        return User.objects.get(pk=user.pk)

    return make


class World:
    """Handles on the made objects: ``items[name]``, units, fonds, users."""

    def __init__(self) -> None:
        self.items: dict = {}

    def titles(self, result) -> set[str]:
        return {hit.title for hit in result.hits}


@pytest.fixture
def world(db, make_user, django_capture_on_commit_callbacks) -> World:
    w = World()
    w.unit = hs.create_unit(None, {"code": "BGS-001", "name": "兰台区人民政府办公室"})
    w.other_unit = hs.create_unit(None, {"code": "JYJ", "name": "兰台区教育局"})
    w.fonds = hs.create_fonds(None, {"code": "Z109", "name": "兰台区人民政府", "unit": w.unit})
    w.other = hs.create_fonds(None, {"code": "X013", "name": "兰台区教育局", "unit": w.other_unit})
    w.series = hs.create_series(None, {"fonds": w.fonds, "code": "BGS", "name": "办公室"})
    ws = Category.objects.get(code="WS")
    kj = Category.objects.get(code="KJ")
    base = {"fonds": w.fonds, "category": ws, "series": w.series, "year": 2011, "retention": "Y"}
    specs = {
        # name: (title, extra fields)
        "open": (
            "國家檔案館關於開展檔案工作檢查的通知",
            {"openness": "open", "date": "2011-03-01"},
        ),
        "open2": (
            "关于国家档案局工作会议的报告",
            {"openness": "open", "date": "2011-06-01", "doc_number": "兰政发〔2011〕12号"},
        ),
        "unreviewed": ("国家秘密事项的未鉴定通知", {"date": "2011-01-05"}),
        "restricted": ("控制使用的国家档案清单", {"openness": "restricted", "date": "2011-02-02"}),
        "open_internal": (
            "内部国家档案工作简报",
            {"openness": "open", "classification": "internal"},
        ),
        "rare": ("罕见字𠀀与𡒄的档案", {"openness": "open", "responsible": "張三"}),
        "latin": ("Annual report 2011 国家", {"openness": "open", "keywords": "ARCHIVES"}),
    }
    with django_capture_on_commit_callbacks(execute=True):
        for name, (title, extra) in specs.items():
            w.items[name] = hs.create_item(None, {**base, "title": title, **extra})
        w.items["other_open"] = hs.create_item(
            None,
            {
                **base,
                "fonds": w.other,
                "series": None,
                "title": "教育局国家档案开放目录",
                "openness": "open",
            },
        )
        vol_base = {"fonds": w.fonds, "category": kj, "year": 1990, "retention": "Y"}
        w.closed_volume = hs.create_volume(
            None, {**vol_base, "title": "闭卷", "openness": "restricted"}
        )
        w.open_volume = hs.create_volume(None, {**vol_base, "title": "开卷", "openness": "open"})
        w.items["open_in_closed"] = hs.create_item(
            None,
            {
                **vol_base,
                "volume": w.closed_volume,
                "title": "闭卷内的国家档案",
                "openness": "open",
            },
        )
        w.items["open_in_open"] = hs.create_item(
            None,
            {**vol_base, "volume": w.open_volume, "title": "开卷内的国家档案", "openness": "open"},
        )
    w.archivist = make_user("s_archivist", "archivist")
    w.supervisor = make_user("s_supervisor", "supervisor")  # no view_restricted
    w.officer = make_user("s_officer", "unit_officer", unit=w.unit)
    w.other_officer = make_user("s_officer2", "unit_officer", unit=w.other_unit)
    w.citizen = make_user("s_citizen", "public")
    w.anonymous = AnonymousUser()
    return w


@pytest.fixture
def search():
    return services.search
