"""档案利用 URLs."""

from django.urls import path  # noqa: F401

app_name = "utilization"
urlpatterns: list = []
