"""Public (portal) URLs of utilization, mounted at /portal/requests/."""

from django.urls import path

from lantai.utilization import views_public as views

app_name = "utilization_public"
urlpatterns = [
    path("", views.my_requests, name="list"),
    path("new/", views.apply, name="apply"),
    path("verify/", views.verify, name="verify"),
    path("verify/<str:code>/", views.verify_code, name="verify_code"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/ecopies/<int:file_pk>/", views.ecopy_download, name="ecopy_download"),
    path(
        "<int:pk>/certificates/<int:file_pk>/",
        views.certificate_download,
        name="certificate_download",
    ),
    path(
        "<int:pk>/attachments/<int:file_pk>/",
        views.attachment_download,
        name="attachment_download",
    ),
]
