"""Who may open which holdings page: login, 403 for roles without 查看馆藏, 404 for what a
user may not see (never revealing that it exists)."""

import pytest
from django.test import Client
from django.urls import reverse

from lantai.accounts.roles import Role

pytestmark = pytest.mark.django_db


def holdings_urls(world):
    item = world.items_a[0]
    return [
        reverse("holdings:browse"),
        reverse("holdings:item_list"),
        reverse("holdings:item_detail", args=[item.pk]),
        reverse("holdings:item_edit", args=[item.pk]),
        reverse("holdings:item_create"),
        reverse("holdings:item_delete", args=[item.pk]),
        reverse("holdings:volume_list"),
        reverse("holdings:volume_detail", args=[world.volume_a.pk]),
        reverse("holdings:fonds_list"),
        reverse("holdings:fonds_detail", args=[world.fonds_a.pk]),
    ]


def test_anonymous_is_sent_to_login(world):
    client = Client()
    login = reverse("accounts:login")
    for url in [reverse("core:dashboard"), *holdings_urls(world)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(login), url


@pytest.mark.parametrize("role", [Role.PUBLIC, Role.AUDITOR, Role.SYSADMIN, Role.SECADMIN])
def test_roles_without_view_holdings_get_403(world, role):
    client = world.client(role)
    for url in holdings_urls(world):
        response = client.get(url)
        assert response.status_code == 403, (role, url)
    response = client.post(reverse("holdings:item_delete", args=[world.items_a[0].pk]))
    assert response.status_code == 403
    assert type(world.items_a[0]).objects.filter(pk=world.items_a[0].pk).exists()


def test_unit_officer_sees_only_own_fonds(world):
    client = world.client(Role.UNIT_OFFICER)
    own, other = world.items_a[0], world.items_b[0]
    assert client.get(reverse("holdings:item_detail", args=[own.pk])).status_code == 200
    # Another unit's item is "not found", exactly like an id that does not exist.
    assert client.get(reverse("holdings:item_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("holdings:item_detail", args=[10**9])).status_code == 404
    assert client.get(reverse("holdings:fonds_detail", args=[world.fonds_b.pk])).status_code == 404
    browse_other = reverse("holdings:browse") + f"?fonds={world.fonds_b.pk}"
    assert client.get(browse_other).status_code == 404

    listing = client.get(reverse("holdings:item_list")).content.decode()
    assert own.reference_code in listing
    assert all(item.reference_code not in listing for item in world.items_b)
    fonds_page = client.get(reverse("holdings:fonds_list")).content.decode()
    assert world.fonds_a.code in fonds_page and world.fonds_b.code not in fonds_page
    # The officer's filter offers only his fonds; asking for another is a field error.
    response = client.get(reverse("holdings:item_list") + f"?fonds={world.fonds_b.pk}")
    body = response.content.decode()
    assert response.status_code == 200
    assert "has-error" in body
    assert all(item.reference_code not in body for item in world.items_b)


def test_unit_officer_cannot_edit(world):
    client = world.client(Role.UNIT_OFFICER)
    item = world.items_a[0]
    assert client.get(reverse("holdings:item_edit", args=[item.pk])).status_code == 403
    # Another unit's item stays a 404 even on the edit page.
    other = world.items_b[0]
    assert client.get(reverse("holdings:item_edit", args=[other.pk])).status_code == 404


def test_keeper_reads_but_cannot_change(world):
    client = world.client(Role.KEEPER)
    item = world.items_a[0]
    assert client.get(reverse("holdings:item_detail", args=[item.pk])).status_code == 200
    assert client.get(reverse("holdings:item_edit", args=[item.pk])).status_code == 403
    assert client.post(reverse("holdings:item_delete", args=[item.pk])).status_code == 403
    assert client.get(reverse("holdings:item_create")).status_code == 403


def test_supervisor_does_not_see_restricted(world):
    client = world.client(Role.SUPERVISOR)
    restricted = world.restricted_a
    assert client.get(reverse("holdings:item_detail", args=[restricted.pk])).status_code == 404
    listing = client.get(reverse("holdings:item_list")).content.decode()
    assert restricted.reference_code not in listing
    # The archivist holds view_restricted and sees it.
    archivist = world.client(Role.ARCHIVIST)
    assert archivist.get(reverse("holdings:item_detail", args=[restricted.pk])).status_code == 200


def test_archivist_can_open_edit_and_create(world):
    client = world.client(Role.ARCHIVIST)
    item = world.items_a[0]
    assert client.get(reverse("holdings:item_edit", args=[item.pk])).status_code == 200
    assert client.get(reverse("holdings:item_create")).status_code == 200


def test_refusal_and_not_found_pages_are_chinese(world):
    client = world.client(Role.AUDITOR)
    response = client.get(reverse("holdings:item_list"))
    assert response.status_code == 403
    assert "没有权限" in response.content.decode()
    officer = world.client(Role.UNIT_OFFICER)
    response = officer.get(reverse("holdings:item_detail", args=[world.items_b[0].pk]))
    body = response.content.decode()
    assert response.status_code == 404
    assert "不存在" in body and world.items_b[0].title not in body
