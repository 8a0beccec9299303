"""Fixtures for the 业务指导 tests: two units, a supervisor, an officer of each unit, an
archivist and a published indicator set."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from role_fixtures import archivist, make_user, password  # noqa: F401


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """Users are made per test; Argon2 would spend seconds on their passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db, make_user, archivist):  # noqa: F811
    from lantai.holdings.models import Unit, UnitKind
    from lantai.supervision import services

    unit_a = Unit.objects.create(code="A01", name="区教育局", kind=UnitKind.AGENCY)
    unit_b = Unit.objects.create(code="B02", name="区卫健委", kind=UnitKind.AGENCY)
    supervisor = make_user("sup1", "supervisor", real_name="周指导")
    officer_a = make_user("off_a", "unit_officer", unit=unit_a, real_name="甲档案员")
    officer_b = make_user("off_b", "unit_officer", unit=unit_b, real_name="乙档案员")
    public = make_user("citizen", "public")
    iset = services.save_indicator_set(supervisor, {"year": 2024, "name": "机关档案工作测评"})
    sec1 = services.save_indicator(supervisor, iset, {"code": "1", "title": "组织管理"})
    services.save_indicator(
        supervisor, iset,
        {"code": "1.1", "parent": sec1, "title": "档案工作责任制", "max_points": "40",
         "key_item": "required", "sort_order": 1},
    )  # fmt: skip
    services.save_indicator(
        supervisor, iset,
        {"code": "1.2", "parent": "1", "title": "档案安全", "max_points": "30",
         "key_item": "veto", "sort_order": 2},
    )  # fmt: skip
    sec2 = services.save_indicator(
        supervisor, iset, {"code": "2", "title": "业务建设", "sort_order": 5}
    )
    services.save_indicator(
        supervisor, iset, {"code": "2.1", "parent": sec2, "title": "归档与整理", "max_points": "30"}
    )
    services.publish_set(supervisor, iset)
    return SimpleNamespace(
        unit_a=unit_a, unit_b=unit_b, supervisor=supervisor, officer_a=officer_a,
        officer_b=officer_b, archivist=archivist, public=public, iset=iset,
        Decimal=Decimal,
    )  # fmt: skip
