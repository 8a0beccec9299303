"""宣传与编研 URLs."""

from django.urls import path  # noqa: F401

app_name = "outreach"
urlpatterns: list = []
