"""Dashboard figures per role, the browse tree's 卷(件) counts, fonds pages."""

import json
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from lantai.accounts.roles import Role
from lantai.holdings import services
from lantai.holdings.models import Item, Volume

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def stat(body: str, name: str) -> int:
    match = re.search(rf'id="stat-{name}">([\d,]+)<', body)
    assert match, name
    return int(match.group(1).replace(",", ""))


def test_dashboard_counts_in_volumes_and_items(world):
    body = world.client(Role.ARCHIVIST).get(reverse("core:dashboard")).content.decode()
    standalone = Item.objects.filter(volume__isnull=True).count()
    volumes = Volume.objects.count()
    assert stat(body, "total") == standalone + volumes
    assert stat(body, "volumes") == volumes
    assert stat(body, "items") == standalone
    assert stat(body, "in-volumes") == Item.objects.filter(volume__isnull=False).count()
    data = json.loads(
        re.search(r'id="dashboard-data" type="application/json">(.*?)</script>', body, re.S).group(
            1
        )
    )
    by_name = dict(zip(data["categories"], data["totals"], strict=True))
    assert by_name[world.ws.name] == Item.objects.filter(category=world.ws).count()
    assert by_name[world.kj.name] == 1  # one volume; its items are not counted again
    assert "lantai/vendor/echarts.min.js" in body
    assert "cdn" not in body.lower()


def test_dashboard_unit_officer_sees_own_unit_only(world):
    body = world.client(Role.UNIT_OFFICER).get(reverse("core:dashboard")).content.decode()
    expected = services.holdings_count(
        Item.objects.filter(fonds=world.fonds_a), Volume.objects.filter(fonds=world.fonds_a)
    )
    assert stat(body, "total") == expected["total"]
    assert stat(body, "total") < Item.objects.filter(volume__isnull=True).count()


def test_dashboard_supervisor_does_not_count_restricted(world):
    body = world.client(Role.SUPERVISOR).get(reverse("core:dashboard")).content.decode()
    standalone = Item.objects.filter(volume__isnull=True).exclude(openness="restricted").count()
    assert stat(body, "items") == standalone


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.SYSADMIN, Role.SECADMIN, Role.PUBLIC])
def test_dashboard_without_holdings_figures(world, role):
    response = world.client(role).get(reverse("core:dashboard"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="holdings-figures"' not in body
    assert "dashboard-data" not in body


def test_dashboard_figures_are_cached_per_scope(world, django_assert_max_num_queries):
    archivist = world.client(Role.ARCHIVIST)
    archivist.get(reverse("core:dashboard"))
    # A second archivist-scope request reuses the figures: no GROUP BY again.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        archivist.get(reverse("core:dashboard"))
    assert not any("GROUP BY" in q["sql"].upper() for q in ctx.captured_queries)
    # A unit officer has another scope and his own figures.
    officer = world.client(Role.UNIT_OFFICER).get(reverse("core:dashboard")).content.decode()
    assert stat(officer, "total") != Item.objects.filter(volume__isnull=True).count() + 1


def test_dashboard_lists_own_recent_changes(world):
    item = world.items_a[0]
    archivist = world.users[Role.ARCHIVIST]
    services.update_item(archivist, item, {"title": "修改后的题名"})
    body = world.client(Role.ARCHIVIST).get(reverse("core:dashboard")).content.decode()
    section = body[body.index('id="recent-changes"') :]
    assert reverse("holdings:item_detail", args=[item.pk]) in section
    other = world.client(Role.KEEPER).get(reverse("core:dashboard")).content.decode()
    keeper_section = other[other.index('id="recent-changes"') :]
    assert reverse("holdings:item_detail", args=[item.pk]) not in keeper_section


def test_browse_levels_count_volumes_and_items(world):
    client = world.client(Role.ARCHIVIST)
    url = reverse("holdings:browse")
    top = client.get(url).content.decode()
    assert world.fonds_a.code in top and world.fonds_b.code in top
    by_category = client.get(url, {"fonds": world.fonds_a.pk}).content.decode()
    assert world.ws.name in by_category and world.kj.name in by_category
    by_year = client.get(url, {"fonds": world.fonds_a.pk, "category": world.ws.pk})
    body = by_year.content.decode()
    for year in (2011, 2012, 2013):
        link = f"?fonds={world.fonds_a.pk}&amp;category={world.ws.pk}&amp;year={year}"
        assert link in body
    # Breadcrumbs lead back up the tree.
    assert 'class="breadcrumbs"' in body and f"?fonds={world.fonds_a.pk}" in body
    # The year rows hold what the service counts.
    rows = services.browse_counts(
        world.users[Role.ARCHIVIST], fonds=world.fonds_a, category=world.ws
    )
    assert (
        sum(r["total"] for r in rows)
        == Item.objects.filter(fonds=world.fonds_a, category=world.ws).count()
    )


def test_fonds_detail_shows_name_history(world):
    body = (
        world.client(Role.ARCHIVIST)
        .get(reverse("holdings:fonds_detail", args=[world.fonds_a.pk]))
        .content.decode()
    )
    assert "县人民政府办公室" in body and "撤县设区" in body
