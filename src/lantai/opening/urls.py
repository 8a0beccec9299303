"""开放鉴定 URLs."""

from django.urls import path  # noqa: F401

app_name = "opening"
urlpatterns: list = []
