"""Public (portal) URLs of utilization."""

from django.urls import path  # noqa: F401

app_name = "utilization_public"
urlpatterns: list = []
