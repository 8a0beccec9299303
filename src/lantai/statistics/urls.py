"""统计年报 URLs."""

from django.urls import path

from lantai.statistics import views

app_name = "statistics"
urlpatterns = [
    path("", views.annual, name="annual"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("export.pdf", views.export_pdf, name="export_pdf"),
]
