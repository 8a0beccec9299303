import pytest
from django.urls import reverse

from lantai.accounts.roles import Role

pytestmark = pytest.mark.django_db


def test_pages_render_for_archivist(world):
    client = world.client(Role.ARCHIVIST)
    item = world.items_a[0]
    for url in [
        reverse("core:dashboard"),
        reverse("holdings:browse"),
        reverse("holdings:browse") + f"?fonds={world.fonds_a.pk}",
        reverse("holdings:browse") + f"?fonds={world.fonds_a.pk}&category={world.ws.pk}",
        reverse("holdings:item_list"),
        reverse("holdings:item_detail", args=[item.pk]),
        reverse("holdings:volume_list"),
        reverse("holdings:volume_detail", args=[world.volume_a.pk]),
        reverse("holdings:fonds_list"),
        reverse("holdings:fonds_detail", args=[world.fonds_a.pk]),
        reverse("holdings:item_delete", args=[item.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
