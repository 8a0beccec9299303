from django.urls import path

from lantai.audit import views

app_name = "audit"
urlpatterns: list = []
