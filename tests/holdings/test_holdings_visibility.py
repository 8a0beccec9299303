"""Who sees what: staff, restricted access, unit officers, the public; counts 卷(件)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from lantai.audit.models import AuditEntry
from lantai.holdings import services
from lantai.holdings.models import Category, Item, Volume


@pytest.fixture
def holdings(archivist, item_data, fonds, unit):
    """One fonds of each unit; items of every openness and classification."""
    other_unit = services.create_unit(None, {"code": "JYJ", "name": "兰台区教育局"})
    other = services.create_fonds(
        None, {"code": "X013", "name": "兰台区教育局", "unit": other_unit}
    )
    made = {}
    for name, extra in {
        "open": {"openness": "open"},
        "unreviewed": {},
        "restricted": {"openness": "restricted"},
        "open_internal": {"openness": "open", "classification": "internal"},
        "open_secret": {"openness": "open", "classification": "secret"},
    }.items():
        made[name] = services.create_item(archivist, item_data(title=name, **extra))
    made["other_open"] = services.create_item(
        archivist, item_data(fonds=other, series=None, title="他单位", openness="open")
    )
    kj = Category.objects.get(code="KJ")
    base = {"fonds": fonds, "category": kj, "year": 1990, "retention": "Y"}
    made["closed_volume"] = services.create_volume(
        archivist, {**base, "title": "闭卷", "openness": "restricted"}
    )
    made["open_volume"] = services.create_volume(
        archivist, {**base, "title": "开卷", "openness": "open"}
    )
    made["open_in_closed"] = services.create_item(
        archivist,
        {**base, "volume": made["closed_volume"], "title": "闭卷内开放件", "openness": "open"},
    )
    made["open_in_open"] = services.create_item(
        archivist,
        {**base, "volume": made["open_volume"], "title": "开卷内开放件", "openness": "open"},
    )
    made["other_unit"] = other_unit
    return made


def titles(queryset) -> set[str]:
    return set(queryset.values_list("title", flat=True))


ALL_ITEMS = {
    "open",
    "unreviewed",
    "restricted",
    "open_internal",
    "open_secret",
    "他单位",
    "闭卷内开放件",
    "开卷内开放件",
}


def test_system_and_archivist_see_everything(holdings, archivist):
    assert titles(services.visible_items(None)) == ALL_ITEMS
    assert titles(services.visible_items(archivist)) == ALL_ITEMS
    assert titles(services.visible_volumes(archivist)) == {"闭卷", "开卷"}


def test_staff_without_view_restricted(holdings, make_user):
    supervisor = make_user("supervisor", "supervisor")
    assert titles(services.visible_items(supervisor)) == ALL_ITEMS - {"restricted", "闭卷内开放件"}
    assert titles(services.visible_volumes(supervisor)) == {"开卷"}
    with pytest.raises(Item.DoesNotExist):
        services.get_item(supervisor, holdings["restricted"].pk)


def test_unit_officer_sees_only_own_units_fonds(holdings, make_user, unit):
    officer = make_user("officer", "unit_officer", unit=holdings["other_unit"])
    assert titles(services.visible_items(officer)) == {"他单位"}
    assert list(services.visible_fonds(officer).values_list("code", flat=True)) == ["X013"]
    assert not services.visible_volumes(officer).exists()
    home = make_user("home", "unit_officer", unit=unit)
    assert "restricted" in titles(services.visible_items(home))  # own unit's restricted
    assert "他单位" not in titles(services.visible_items(home))
    nowhere = make_user("nowhere", "unit_officer")
    assert not services.visible_items(nowhere).exists()
    assert not services.visible_fonds(nowhere).exists()
    with pytest.raises(Item.DoesNotExist):
        services.get_item(officer, holdings["open"].pk)


@pytest.mark.parametrize("who", ["anonymous", "citizen", "no_roles"])
def test_public_sees_only_open_public_items(holdings, make_user, who):
    user = {
        "anonymous": AnonymousUser(),
        "citizen": make_user("citizen", "public"),
        "no_roles": make_user("plain"),
    }[who]
    assert titles(services.visible_items(user)) == {"open", "他单位", "开卷内开放件"}
    assert titles(services.visible_volumes(user)) == {"开卷"}
    assert set(services.visible_fonds(user).values_list("code", flat=True)) == {"Z109", "X013"}
    for hidden in ("restricted", "unreviewed", "open_internal", "open_secret", "open_in_closed"):
        with pytest.raises(Item.DoesNotExist):
            services.get_item(user, holdings[hidden].pk)
    with pytest.raises(Volume.DoesNotExist):
        services.get_volume(user, holdings["closed_volume"].pk)
    with pytest.raises(Item.DoesNotExist):
        services.get_item(user, "not-a-number")
    assert services.get_item(user, holdings["open"].pk).title == "open"


def test_reading_restricted_is_audited(holdings, archivist):
    before = AuditEntry.objects.filter(action="view").count()
    services.get_item(archivist, holdings["open"].pk)
    assert AuditEntry.objects.filter(action="view").count() == before
    item = services.get_item(archivist, holdings["restricted"].pk)
    entry = AuditEntry.objects.filter(action="view").order_by("-seq").first()
    assert (entry.object_id, entry.actor_id) == (str(item.pk), archivist.pk)
    services.get_item(archivist, holdings["open_in_closed"].pk)
    services.get_volume(archivist, holdings["closed_volume"].pk)
    assert AuditEntry.objects.filter(action="view").count() == before + 3


def test_holdings_count_in_volumes_and_items(holdings, make_user):
    counts = services.holdings_count()
    assert counts == {"volumes": 2, "items_standalone": 6, "items_in_volumes": 2, "total": 8}
    public = make_user("citizen", "public")
    counts = services.holdings_count(
        services.visible_items(public), services.visible_volumes(public)
    )
    assert counts == {"volumes": 1, "items_standalone": 2, "items_in_volumes": 1, "total": 3}


def test_browse_counts_drill_down(holdings, archivist, make_user, fonds):
    top = services.browse_counts(archivist)
    assert [(r["code"], r["total"]) for r in top] == [("X013", 1), ("Z109", 7)]
    z109 = next(r for r in top if r["code"] == "Z109")
    assert (z109["volumes"], z109["items_standalone"], z109["items_in_volumes"]) == (2, 5, 2)
    by_category = services.browse_counts(archivist, fonds=fonds)
    assert {r["code"]: r["total"] for r in by_category} == {"WS": 5, "KJ": 2}
    ws = Category.objects.get(code="WS")
    years = services.browse_counts(archivist, fonds=fonds.pk, category=ws)
    assert [(r["key"], r["items_standalone"]) for r in years] == [(2011, 5)]
    public = make_user("citizen", "public")
    public_top = services.browse_counts(public)
    assert {r["code"]: r["total"] for r in public_top} == {"X013": 1, "Z109": 2}


def test_browse_counts_is_a_fixed_number_of_queries(
    holdings, archivist, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        services.browse_counts(archivist)
