"""Fixtures for the outreach suite: an archivist, a keeper (no outreach rights), a fonds with
a series, open and restricted items with image access copies, slots tomorrow and today."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone

from lantai.holdings import refcode
from lantai.holdings import services as holdings
from lantai.holdings.models import Category, Openness
from lantai.outreach.models import VisitSlot
from lantai.storage.services import attach, put_file
from outreach.world import png_bytes
from role_fixtures import archivist, make_user, password  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_scheme_cache():
    refcode.clear_scheme_cache()
    yield
    refcode.clear_scheme_cache()


@pytest.fixture
def keeper(make_user):  # noqa: F811
    return make_user("keeper1", "keeper", real_name="库管员")


@pytest.fixture
def fonds(db):
    unit = holdings.create_unit(None, {"code": "KJQ-001", "name": "兰台科技园区管委会"})
    return holdings.create_fonds(None, {"code": "Z201", "name": "兰台科技园区", "unit": unit})


@pytest.fixture
def series(fonds):
    return holdings.create_series(None, {"fonds": fonds, "code": "KS", "name": "口述历史"})


@pytest.fixture
def make_item(fonds, series):
    counter = iter(range(1, 1000))

    def make(openness=Openness.OPEN, title="园区建设照片", image=True):
        n = next(counter)
        item = holdings.create_item(
            None,
            {
                "fonds": fonds,
                "category": Category.objects.get(code="ZP"),
                "series": series,
                "year": 1990,
                "retention": "Y",
                "title": f"{title}{n}",
                "openness": openness,
            },
        )
        if image:
            content = png_bytes(color=(n * 7 % 255, 40, 90))
            stored = put_file(io.BytesIO(content), f"test/outreach/{item.pk}.png", purpose="test")
            attach(item, stored, role="access", filename=f"{item.pk}.png", mime="image/png")
        return item

    return make


@pytest.fixture
def tomorrow_slot(db):
    day = timezone.localdate() + dt.timedelta(days=1)
    return VisitSlot.objects.create(date=day, start=dt.time(9, 30), capacity=60)


@pytest.fixture
def today_slot(db):
    return VisitSlot.objects.create(date=timezone.localdate(), start=dt.time(14, 0), capacity=60)
