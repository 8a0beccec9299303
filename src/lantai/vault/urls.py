"""Vault URLs 库房. Shelves (vaults, locations, boxes, labels, inventories, circulation, entry
log) come from ``views_shelves``; the environment screens (sensors, alarms, dashboards,
reports) append theirs from ``views_env`` below."""

from django.urls import path

from lantai.vault import views_shelves as shelves

app_name = "vault"
urlpatterns = [
    path("", shelves.home, name="home"),
]
