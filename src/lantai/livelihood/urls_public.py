"""Public (portal) URLs of livelihood."""

from django.urls import path  # noqa: F401

app_name = "livelihood_public"
urlpatterns: list = []
