"""数字化与OCR URLs."""

from django.urls import path

from lantai.digitisation import views

app_name = "digitisation"
urlpatterns = [
    path("items/<int:pk>/", views.item_page, name="item"),
    path("items/<int:pk>/upload/", views.upload, name="upload"),
    path("batches/<int:pk>/report.json", views.batch_json, name="batch_json"),
    path("batches/<int:pk>/ocr/", views.batch_ocr, name="batch_ocr"),
    path("batches/<int:pk>/discard/", views.batch_discard, name="batch_discard"),
    path("files/<int:pk>/", views.output_file, name="file"),
    path("profiles/", views.profile_list, name="profiles"),
    path("profiles/<int:pk>/", views.profile_list, name="profile_edit"),
    path("profiles/<int:pk>/delete/", views.profile_delete, name="profile_delete"),
]
