"""档案利用 URLs (staff, mounted at /use/)."""

from django.urls import path

from lantai.utilization import views

app_name = "utilization"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.walk_in, name="walk_in"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/act/", views.act, name="act"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/items/add/", views.add_item, name="add_item"),
    path("<int:pk>/items/<int:item_pk>/approve/", views.approve_item, name="approve_item"),
    path("<int:pk>/certificate/", views.certificate, name="certificate"),
    path(
        "<int:pk>/attachments/<int:file_pk>/",
        views.attachment_download,
        name="attachment_download",
    ),
    path(
        "<int:pk>/certificates/<int:file_pk>/",
        views.certificate_download,
        name="certificate_download",
    ),
    path("<int:pk>/ecopies/<int:file_pk>/", views.ecopy_download, name="ecopy_download"),
    path(
        "<int:pk>/certificates/<int:file_pk>/revoke/",
        views.certificate_revoke,
        name="certificate_revoke",
    ),
    path("config/", views.config, name="config"),
    path("config/purposes/", views.purpose_save, name="purpose_add"),
    path("config/purposes/<int:purpose_pk>/", views.purpose_save, name="purpose_save"),
    path("config/holidays/", views.holiday_save, name="holiday_save"),
    path("config/holidays/<int:holiday_pk>/delete/", views.holiday_delete, name="holiday_delete"),
]
