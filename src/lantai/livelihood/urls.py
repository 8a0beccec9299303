"""民生档案 URLs."""

from django.urls import path  # noqa: F401

app_name = "livelihood"
urlpatterns: list = []
