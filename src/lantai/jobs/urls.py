from django.urls import path

from lantai.jobs import views

app_name = "jobs"
urlpatterns: list = []
