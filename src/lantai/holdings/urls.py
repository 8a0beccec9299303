from django.urls import include, path

from lantai.holdings import views

app_name = "holdings"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("items/", views.item_list, name="item_list"),
    path("items/new/", views.item_create, name="item_create"),
    path("items/<int:pk>/", views.item_detail, name="item_detail"),
    path("items/<int:pk>/edit/", views.item_edit, name="item_edit"),
    path("items/<int:pk>/delete/", views.item_delete, name="item_delete"),
    path("volumes/", views.volume_list, name="volume_list"),
    path("volumes/<int:pk>/", views.volume_detail, name="volume_detail"),
    path("fonds/", views.fonds_list, name="fonds_list"),
    path("fonds/<int:pk>/", views.fonds_detail, name="fonds_detail"),
]

# Code tables 代码与规则 (units, fonds, series, categories, 档号 rules): holdings:codes_home …
urlpatterns += [path("codes/", include("lantai.holdings.urls_codes"))]
