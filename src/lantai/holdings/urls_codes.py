"""URLs of the code-table screens 代码与规则, included under ``holdings/codes/`` in the
``holdings`` namespace (``holdings:unit_list``, ``holdings:scheme_edit`` …)."""

from django.urls import path

from lantai.holdings import views_codes as views

urlpatterns = [
    path("", views.codes_home, name="codes_home"),
    path("units/", views.unit_list, name="unit_list"),
    path("units/new/", views.unit_create, name="unit_create"),
    path("units/<int:pk>/edit/", views.unit_edit, name="unit_edit"),
    path("fonds/", views.fonds_list, name="codes_fonds_list"),
    path("fonds/new/", views.fonds_create, name="codes_fonds_create"),
    path("fonds/<int:pk>/edit/", views.fonds_edit, name="codes_fonds_edit"),
    path("fonds/<int:pk>/names/new/", views.fonds_name_create, name="fonds_name_create"),
    path("fonds/<int:pk>/names/<int:name_pk>/edit/", views.fonds_name_edit, name="fonds_name_edit"),
    path(
        "fonds/<int:pk>/names/<int:name_pk>/delete/",
        views.fonds_name_delete,
        name="fonds_name_delete",
    ),
    path("fonds/<int:pk>/series/", views.series_list, name="series_list"),
    path("series/<int:pk>/edit/", views.series_edit, name="series_edit"),
    path("series/<int:pk>/delete/", views.series_delete, name="series_delete"),
    path("categories/", views.category_list, name="category_list"),
    path("categories/new/", views.category_create, name="category_create"),
    path("categories/<int:pk>/edit/", views.category_edit, name="category_edit"),
    path("schemes/", views.scheme_list, name="scheme_list"),
    path("schemes/new/", views.scheme_create, name="scheme_create"),
    path("schemes/preview/", views.scheme_preview, name="scheme_preview"),
    path("schemes/<int:pk>/edit/", views.scheme_edit, name="scheme_edit"),
    path("schemes/<int:pk>/delete/", views.scheme_delete, name="scheme_delete"),
]
