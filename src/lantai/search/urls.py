"""全文检索 URLs."""

from django.urls import path  # noqa: F401

app_name = "search"
urlpatterns: list = []
