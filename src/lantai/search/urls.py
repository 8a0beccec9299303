"""全文检索 URLs."""

from django.urls import path

from lantai.search import views

app_name = "search"
urlpatterns = [path("", views.search_page, name="search")]
