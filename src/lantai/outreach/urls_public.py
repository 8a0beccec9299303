"""Public (portal) URLs of outreach."""

from django.urls import path  # noqa: F401

app_name = "outreach_public"
urlpatterns: list = []
