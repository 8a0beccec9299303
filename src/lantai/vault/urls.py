"""Vault URLs 库房. Shelves (vaults, locations, boxes, labels, inventories, circulation, entry
log) come from ``views_shelves``; the environment screens (sensors, alarms, dashboards,
reports) append theirs from ``views_env`` below."""

from django.urls import path

from lantai.vault import views_shelves as shelves

app_name = "vault"
urlpatterns = [
    path("", shelves.home, name="home"),
    path("new/", shelves.vault_create, name="vault_create"),
    path("<int:pk>/", shelves.vault_detail, name="vault_detail"),
    path("<int:pk>/edit/", shelves.vault_edit, name="vault_edit"),
    path("<int:pk>/locations/", shelves.locations_create, name="locations_create"),
    path("<int:pk>/labels.pdf", shelves.labels, name="labels"),
    path("<int:pk>/inventories/new/", shelves.inventory_start, name="inventory_start"),
    path("boxes/", shelves.box_list, name="box_list"),
    path("place/", shelves.place, name="place"),
    path("inventories/<int:pk>/", shelves.inventory_detail, name="inventory_detail"),
    path("inventories/<int:pk>/scan/", shelves.inventory_scan, name="inventory_scan"),
    path("inventories/<int:pk>/close/", shelves.inventory_close, name="inventory_close"),
    path("circulations/", shelves.circulation_list, name="circulation_list"),
    path("circulations/new/", shelves.circulation_create, name="circulation_create"),
    path("circulations/remind/", shelves.circulation_remind, name="circulation_remind"),
    path("circulations/<int:pk>/", shelves.circulation_detail, name="circulation_detail"),
    path(
        "circulations/<int:pk>/<str:action>/",
        shelves.circulation_action,
        name="circulation_action",
    ),
    path("entries/", shelves.entry_list, name="entry_list"),
    path("entries/<int:pk>/exit/", shelves.entry_exit, name="entry_exit"),
    path("label/<str:kind>/<int:pk>.pdf", shelves.holding_labels, name="holding_label"),
]

# 库房环境 (sensors, alarms, charts, reports) from views_env.
from lantai.vault import views_env  # noqa: E402

urlpatterns += views_env.urlpatterns
