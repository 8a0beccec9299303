from django.urls import path

from lantai.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.entry_list, name="list"),
    path("entries/<int:seq>/", views.entry_detail, name="detail"),
    path("verify/", views.verify, name="verify"),
    path("export.csv", views.export_csv, name="export"),
]
