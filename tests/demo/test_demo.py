"""``lantai demo``: a small load (2,000 items) must be a complete, consistent archive."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max
from django.test import Client

from lantai.accounts.models import User
from lantai.accounts.roles import Role
from lantai.audit.models import AuditEntry
from lantai.audit.services import verify_chain
from lantai.holdings import refcode, services
from lantai.holdings.demo import generator
from lantai.holdings.demo.generator import apportion, load_demo, plan
from lantai.holdings.models import (
    Category,
    Fonds,
    FondsName,
    Item,
    NumberSequence,
    Openness,
    ReferenceScheme,
    Series,
    Unit,
    Volume,
)

SMALL = 2000


@pytest.fixture
def loaded(db):
    return load_demo(items=SMALL, seed=11)


def test_every_category_fonds_and_role_is_present(loaded):
    assert loaded.items == SMALL == Item.objects.count()
    # Every seeded category holds items, livelihood and oral history included.
    codes = set(Category.objects.values_list("code", flat=True))
    held = set(Item.objects.values_list("category__code", flat=True).distinct())
    assert held == codes
    assert {"HY", "ZG", "XJ", "KS", "WS"} <= held
    assert loaded.categories == dict(
        Item.objects.values_list("category__code").annotate(n=Count("pk")).order_by()
    )
    assert Unit.objects.count() == Fonds.objects.count() == loaded.fonds >= 40
    # Some fonds carry a name history (a bureau renamed in a reform).
    renamed = FondsName.objects.values("fonds").annotate(n=Count("pk")).filter(n__gt=1)
    assert renamed.count() >= 10
    assert set(User.objects.values_list("groups__name", flat=True)) >= set(Role.values)
    officer = User.objects.get(username="unit_officer")
    assert officer.unit.code == generator.UNIT_OFFICER_UNIT


def test_records_look_like_an_archive(loaded):
    assert Item.objects.filter(year__lt=1960).exists() and Item.objects.filter(year=2025).exists()
    # Dates fall inside their year.
    for item in Item.objects.only("year", "date")[:500]:
        assert item.date.year == item.year
    # Marriage records describe both parties.
    marriage = Item.objects.filter(category__code="HY").first()
    assert {"男方", "女方", "登记类型"} <= set(marriage.extra)
    oral = Item.objects.filter(category__code="KS").first()
    assert {"受访者", "采访者", "时长（分钟）"} <= set(oral.extra)
    assert Item.objects.filter(doc_number__regex=r"^兰.+〔\d{4}〕\d+号$").count() > 100
    openness = Counter(Item.objects.values_list("openness", flat=True))
    assert set(openness) == {Openness.OPEN, Openness.RESTRICTED, Openness.UNREVIEWED}
    # Older records are more often open than recent ones.
    old_open = Item.objects.filter(year__lt=1990, category__code="WS")
    new_open = Item.objects.filter(year__gte=2010, category__code="WS")
    share = lambda qs: qs.filter(openness=Openness.OPEN).count() / max(qs.count(), 1)  # noqa: E731
    assert share(old_open) > share(new_open)
    # Older holdings are arranged by volume, modern WS by item.
    assert Item.objects.filter(year__lt=1990, category__code="WS", volume__isnull=True).count() == 0
    assert not Item.objects.filter(
        year__gt=2005, category__code="WS", volume__isnull=False
    ).exists()


def test_reference_codes_are_unique_parseable_and_agree(loaded):
    codes = list(Item.objects.values_list("reference_code", flat=True))
    assert None not in codes and len(set(codes)) == len(codes)
    items = Item.objects.select_related("fonds", "category", "series", "volume")
    for item in items:
        assert refcode.code_for_item(item) == item.reference_code
        assert refcode.check_agreement(item.reference_code, item) == []
    for volume in Volume.objects.select_related("fonds", "category", "series"):
        assert refcode.code_for_volume(volume) == volume.reference_code
        assert refcode.check_agreement(volume.reference_code, volume) == []
    # The archive's own fonds uses the DA/T 13-2022 style.
    dat13 = Item.objects.filter(fonds__code=generator.DAT13_FONDS, volume=None).first()
    assert "·" in dat13.reference_code.split("-")[1]
    scheme = ReferenceScheme.objects.get(fonds__code=generator.DAT13_FONDS)
    assert refcode.parse(scheme.item_template, dat13.reference_code).item == dat13.item_no


def test_numbering_is_gapless_and_sequences_continue(loaded):
    # 件号 run 1..n within each numbering scope, and 卷内件号 1..n within each volume.
    standalone = (
        Item.objects.filter(volume=None)
        .values("fonds", "category", "year", "retention", "series")
        .annotate(n=Count("pk"), top=Max("item_no"))
    )
    assert all(row["n"] == row["top"] for row in standalone)
    inside = (
        Item.objects.exclude(volume=None)
        .values("volume")
        .annotate(n=Count("pk"), top=Max("item_no"))
    )
    assert all(row["n"] == row["top"] for row in inside)
    # The services continue after the demo's numbers.
    item = Item.objects.filter(volume=None).order_by("-item_no").select_related("series").first()
    scope_top = Item.objects.filter(
        volume=None,
        fonds=item.fonds,
        category=item.category,
        year=item.year,
        retention=item.retention,
        series=item.series,
    ).aggregate(top=Max("item_no"))["top"]
    assert NumberSequence.objects.filter(last=scope_top).exists()
    nxt = services.allocate_item_no(
        item.fonds, item.category, item.year, item.retention, item.series
    )
    assert nxt == scope_top + 1


def test_holdings_are_counted_in_volumes_and_items(loaded):
    counts = services.holdings_count()
    assert counts["volumes"] == loaded.volumes == Volume.objects.count()
    assert counts["items_standalone"] == loaded.items_standalone
    assert counts["items_in_volumes"] == loaded.items_in_volumes
    assert counts["total"] == loaded.holdings_count == loaded.volumes + loaded.items_standalone
    assert loaded.items_standalone + loaded.items_in_volumes == SMALL
    # No empty volume; a volume's items share its fonds, category, year and retention.
    assert not Volume.objects.annotate(n=Count("items")).filter(n=0).exists()
    for volume in Volume.objects.prefetch_related("items")[:200]:
        for item in volume.items.all():
            key = (item.fonds_id, item.category_id, item.year, item.retention, item.openness)
            assert key == (
                volume.fonds_id,
                volume.category_id,
                volume.year,
                volume.retention,
                volume.openness,
            )


def test_one_summary_audit_entry_and_the_chain_verifies(loaded):
    entries = AuditEntry.objects.filter(object_type="holdings.demo")
    assert entries.count() == 1
    entry = entries.get()
    assert entry.detail["items"] == SMALL and entry.detail["seed"] == 11
    assert not AuditEntry.objects.filter(
        object_type__in=["holdings.item", "holdings.volume"]
    ).exists()
    assert verify_chain().ok


def test_every_demo_user_can_sign_in(loaded):
    assert [u.role for u in loaded.users] == [str(r) for r, _u, _n in generator.DEMO_USERS]
    for user in loaded.users:
        assert user.created and len(user.password) >= 10
        client = Client()
        response = client.post(
            "/accounts/login/", {"username": user.username, "password": user.password}
        )
        assert response.status_code == 302, user.username
        assert "_auth_user_id" in client.session
        account = User.objects.get(username=user.username)
        assert account.role_codes == {user.role}
        assert not account.is_superuser


def test_unit_officer_sees_only_own_fonds(loaded):
    officer = User.objects.get(username="unit_officer")
    fonds = set(services.visible_items(officer).values_list("fonds__code", flat=True).distinct())
    assert fonds == {"Z008"}


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


def _wipe() -> None:
    Item.objects.all().delete()
    Volume.objects.all().delete()
    Series.objects.all().delete()
    ReferenceScheme.objects.exclude(fonds=None).delete()
    Fonds.objects.all().delete()
    Unit.objects.filter(parent__isnull=False).delete()
    Unit.objects.all().delete()
    NumberSequence.objects.all().delete()


def test_same_seed_same_holdings(db):
    load_demo(items=600, seed=7, with_users=False)
    first = _fingerprint()
    _wipe()
    load_demo(items=600, seed=7, with_users=False)
    assert _fingerprint() == first
    _wipe()
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
