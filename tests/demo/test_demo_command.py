"""``lantai demo`` as a command: --if-empty, refusal of a second load, seeds, rollback, plan."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import CommandError, call_command

from lantai.accounts.models import User
from lantai.audit.models import AuditEntry
from lantai.holdings import refcode
from lantai.holdings.demo import generator
from lantai.holdings.demo.generator import apportion, load_demo, plan
from lantai.holdings.models import Category, Item, Unit, Volume


def test_if_empty_is_idempotent_and_a_second_load_is_refused(db):
    out = io.StringIO()
    call_command("demo", items=300, if_empty=True, stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    for _role, username, _name in generator.DEMO_USERS:
        assert username in text
    assert "角色" in text and "密码" in text
    before = (Item.objects.count(), Volume.objects.count(), User.objects.count())
    out = io.StringIO()
    call_command("demo", items=300, if_empty=True, stdout=out, stderr=io.StringIO())
    assert "未加载" in out.getvalue()
    assert (Item.objects.count(), Volume.objects.count(), User.objects.count()) == before
    with pytest.raises(CommandError, match="已有数据"):
        call_command("demo", items=300, stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.parametrize(
    ("options", "message"),
    [({"items": -5}, "--items 不能为负数"), ({"items": 50, "env_days": 0}, "--env-days 至少为 1")],
)
def test_bad_options_are_refused_before_anything_is_loaded(db, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("demo", **options, stdout=io.StringIO(), stderr=io.StringIO())
    assert not Unit.objects.exists() and not Item.objects.exists()
    assert not User.objects.exists()
    assert not AuditEntry.objects.filter(object_type="holdings.demo").exists()


def _fingerprint() -> str:
    rows = Item.objects.order_by("reference_code").values_list(
        "reference_code",
        "title",
        "responsible",
        "doc_number",
        "date",
        "retention",
        "openness",
        "classification",
        "carrier",
        "pages",
        "extra",
        "volume__reference_code",
    )
    blob = json.dumps([list(r) for r in rows], default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def test_same_seed_same_holdings(db, wipe_demo):
    load_demo(items=600, seed=7, with_users=False)
    first = _fingerprint()
    wipe_demo()
    load_demo(items=600, seed=7, with_users=False)
    assert _fingerprint() == first
    wipe_demo()
    load_demo(items=600, seed=8, with_users=False)
    assert _fingerprint() != first


def test_a_failed_load_leaves_nothing(db, monkeypatch):
    def boom(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(generator.Loader, "write_sequences", boom)
    with pytest.raises(RuntimeError):
        load_demo(items=500, seed=3)
    assert not Unit.objects.exists() and not Item.objects.exists()
    assert not Volume.objects.exists() and not User.objects.exists()
    assert not AuditEntry.objects.filter(object_type="holdings.demo").exists()
    # The scheme cache forgot the rolled-back DA/T 13 scheme.
    assert refcode.scheme_for(None, None).fonds_id is None


def test_plan_is_exact_and_covers_every_category(db):
    assert apportion(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(apportion(1_000_003, [0.3, 2.5, 7, 0.01])) == 1_000_003
    assert min(apportion(50, [1000, 1, 1], minimum=1)) == 1
    categories = list(Category.objects.order_by("sort_order", "code"))
    for total in (25, 999, 123_457):
        cells = plan(total, categories)
        assert sum(c.count for c in cells) == total
        assert {c.category.code for c in cells} == {c.code for c in categories}
        assert all(1950 <= c.year <= 2025 for c in cells)
