"""公众服务门户 URLs."""

from django.urls import path

from lantai.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
]
