"""OAI-PMH 目录发布 URLs."""

from django.urls import path  # noqa: F401

app_name = "oai"
urlpatterns: list = []
