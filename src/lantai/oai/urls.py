"""OAI-PMH 目录发布 URLs: the endpoint is exactly /oai."""

from django.urls import path

from lantai.oai import views

app_name = "oai"
urlpatterns = [
    path("", views.endpoint, name="endpoint"),
]
