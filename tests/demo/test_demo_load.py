"""``lantai demo``: a small load (2,000 items) must be a complete, consistent archive."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db.models import Count, Max
from django.test import Client

from lantai.accounts.models import User
from lantai.accounts.roles import Role
from lantai.audit.models import AuditEntry
from lantai.audit.services import verify_chain
from lantai.holdings import refcode, services
from lantai.holdings.demo import generator
from lantai.holdings.demo.generator import load_demo
from lantai.holdings.models import (
    Category,
    Fonds,
    FondsName,
    Item,
    NumberSequence,
    Openness,
    ReferenceScheme,
    Unit,
    Volume,
)

SMALL = 2000


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker, wipe_demo):
    """One committed load shared by the module's tests (each test still runs in its own
    transaction on top of it); removed again at the end of the module."""
    with django_db_blocker.unblock():
        result = load_demo(items=SMALL, seed=11)
    try:
        yield result
    finally:
        with django_db_blocker.unblock():
            wipe_demo()


@pytest.fixture(autouse=True)
def _in_transaction(db):
    """Every test runs in a transaction rolled back at its end."""


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
    # Agencies, schools, hospitals and enterprises, as a district archive receives from.
    kinds = Counter(Unit.objects.values_list("kind", flat=True))
    assert all(kinds[k] >= 2 for k in ("agency", "school", "hospital", "enterprise")), kinds
    assert generator.DEFAULT_ITEMS == 50_000
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


def test_demo_records_pass_the_services_validation(loaded):
    # What the demo writes in bulk is what an archivist could have entered one by one.
    for item in Item.objects.all()[:600]:
        services.validate_item({"title": item.title}, item)
    for volume in Volume.objects.all()[:300]:
        services.validate_volume({"title": volume.title}, volume)
