"""公众服务门户 URLs."""

from django.urls import path

from lantai.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("register/", views.register, name="register"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", views.PortalLogoutView.as_view(), name="logout"),
    path("me/", views.me, name="me"),
    path("me/password/", views.password_change, name="password"),
    path("search/", views.search, name="search"),
    path("browse/", views.browse, name="browse"),
    path("browse/<int:fonds_id>/", views.browse, name="browse_fonds"),
    path("browse/<int:fonds_id>/<int:category_id>/", views.browse, name="browse_category"),
    path(
        "browse/<int:fonds_id>/<int:category_id>/<int:year>/",
        views.browse_items,
        name="browse_items",
    ),
    path("items/<int:pk>/", views.item_detail, name="item"),
    path("items/<int:pk>/files/<int:component_id>/", views.item_file, name="item_file"),
]
