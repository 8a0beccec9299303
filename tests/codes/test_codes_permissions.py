"""Who may open the code-table screens: archivists and the system administrator; everyone
else gets a 403 (and a POST changes nothing); anonymous users are sent to sign in."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from lantai.accounts.roles import Role
from lantai.holdings.models import FondsName, ReferenceScheme, Unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def urls(fonds, series):
    name = FondsName.objects.create(fonds=fonds, name="兰台县人民政府", start_year=1950)
    default = ReferenceScheme.objects.get(fonds=None, category=None)
    return [
        reverse("holdings:codes_home"),
        reverse("holdings:unit_list"),
        reverse("holdings:unit_create"),
        reverse("holdings:unit_edit", args=[fonds.unit_id]),
        reverse("holdings:codes_fonds_list"),
        reverse("holdings:codes_fonds_create"),
        reverse("holdings:codes_fonds_edit", args=[fonds.pk]),
        reverse("holdings:fonds_name_edit", args=[fonds.pk, name.pk]),
        reverse("holdings:fonds_name_delete", args=[fonds.pk, name.pk]),
        reverse("holdings:series_list", args=[fonds.pk]),
        reverse("holdings:series_edit", args=[series.pk]),
        reverse("holdings:series_delete", args=[series.pk]),
        reverse("holdings:category_list"),
        reverse("holdings:category_create"),
        reverse("holdings:scheme_list"),
        reverse("holdings:scheme_create"),
        reverse("holdings:scheme_edit", args=[default.pk]),
        reverse("holdings:scheme_preview") + "?item_template={fonds}-{item}",
    ]


@pytest.mark.parametrize("role", [Role.ARCHIVIST, Role.SYSADMIN])
def test_code_managers_open_every_page(client_for, urls, role):
    client = client_for(role)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (role, url)


def test_nav_link_only_for_code_managers(client_for):
    home = reverse("holdings:codes_home")
    assert home in client_for(Role.ARCHIVIST).get(reverse("core:dashboard")).content.decode()
    assert home not in client_for(Role.KEEPER).get(reverse("core:dashboard")).content.decode()


@pytest.mark.parametrize(
    "role", [Role.KEEPER, Role.AUDITOR, Role.PUBLIC, Role.SUPERVISOR, Role.UNIT_OFFICER]
)
def test_other_roles_get_403(client_for, urls, role):
    client = client_for(role)
    for url in urls:
        assert client.get(url).status_code == 403, (role, url)
    response = client.post(reverse("holdings:unit_create"), {"code": "X1", "name": "某单位"})
    assert response.status_code == 403
    assert not Unit.objects.filter(code="X1").exists()


def test_anonymous_is_sent_to_login(urls):
    login = reverse("accounts:login")
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(login), url
