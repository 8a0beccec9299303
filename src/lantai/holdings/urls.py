from django.urls import path

from lantai.holdings import views

app_name = "holdings"
urlpatterns: list = []
