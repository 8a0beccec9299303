from django.urls import path

from lantai.accounts import views

app_name = "accounts"
urlpatterns: list = []
