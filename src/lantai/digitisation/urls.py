"""数字化与OCR URLs."""

from django.urls import path  # noqa: F401

app_name = "digitisation"
urlpatterns: list = []
