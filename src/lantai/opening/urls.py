"""开放鉴定 URLs."""

from django.urls import path

from lantai.opening import views

app_name = "opening"
urlpatterns = [
    path("", views.due_list, name="due_list"),
    path("batches/", views.batch_list, name="batch_list"),
    path("batches/new/", views.batch_create, name="batch_create"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/decide/", views.batch_decide, name="batch_decide"),
    path("batches/<int:pk>/opinion/", views.batch_opinion, name="batch_opinion"),
    path("batches/<int:pk>/submit/", views.batch_submit, name="batch_submit"),
    path("batches/<int:pk>/approve/", views.batch_approve, name="batch_approve"),
    path("batches/<int:pk>/return/", views.batch_return, name="batch_return"),
    path("report/", views.report, name="report"),
    path("report/export.xlsx", views.report_export, name="report_export"),
]
