"""业务指导 URLs."""

from django.urls import path

from lantai.supervision import views

app_name = "supervision"
urlpatterns = [
    path("", views.home, name="home"),
    path("sets/", views.set_list, name="set_list"),
    path("sets/new/", views.set_edit, name="set_create"),
    path("sets/<int:pk>/", views.set_detail, name="set_detail"),
    path("sets/<int:pk>/edit/", views.set_edit, name="set_edit"),
    path("sets/<int:pk>/publish/", views.set_publish, name="set_publish"),
    path("sets/<int:pk>/copy/", views.set_copy, name="set_copy"),
    path("sets/<int:pk>/export.xlsx", views.set_export, name="set_export"),
    path("sets/<int:pk>/import/", views.set_import, name="set_import"),
    path("indicators/<int:pk>/", views.indicator_edit, name="indicator_edit"),
    path("indicators/<int:pk>/delete/", views.indicator_delete, name="indicator_delete"),
    path("evaluations/", views.evaluation_list, name="evaluation_list"),
    path("evaluations/start/", views.evaluation_start, name="evaluation_start"),
    path("evaluations/grades/", views.grade_chart, name="grade_chart"),
    path("evaluations/<int:pk>/", views.evaluation_detail, name="evaluation_detail"),
    path("evaluations/<int:pk>/submit/", views.evaluation_submit, name="evaluation_submit"),
    path("evaluations/<int:pk>/return/", views.evaluation_return, name="evaluation_return"),
    path("evaluations/<int:pk>/publish/", views.evaluation_publish, name="evaluation_publish"),
    path("evaluations/<int:pk>/evidence/", views.evidence_upload, name="evidence_upload"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence_download"),
    path("inspections/", views.inspection_list, name="inspection_list"),
    path("inspections/new/", views.inspection_edit, name="inspection_create"),
    path("inspections/<int:pk>/", views.inspection_detail, name="inspection_detail"),
    path("inspections/<int:pk>/edit/", views.inspection_edit, name="inspection_edit"),
    path("inspections/<int:pk>/findings/", views.finding_add, name="finding_add"),
    path("inspections/<int:pk>/rectifications/", views.rectification_add, name="rectification_add"),
    path("inspections/<int:pk>/close/", views.inspection_close, name="inspection_close"),
    path("rectifications/", views.rectification_list, name="rectification_list"),
    path(
        "rectifications/<int:pk>/respond/",
        views.rectification_respond,
        name="rectification_respond",
    ),
    path(
        "rectifications/<int:pk>/verify/", views.rectification_verify, name="rectification_verify"
    ),
    path("training/", views.session_list, name="session_list"),
    path("training/new/", views.session_edit, name="session_create"),
    path("training/hours/", views.training_hours, name="training_hours"),
    path("training/<int:pk>/", views.session_detail, name="session_detail"),
    path("training/<int:pk>/edit/", views.session_edit, name="session_edit"),
    path("training/<int:pk>/import/", views.session_import, name="session_import"),
    path("attendances/<int:pk>/delete/", views.attendance_remove, name="attendance_remove"),
    path("professionals/", views.professional_list, name="professional_list"),
    path("professionals/new/", views.professional_edit, name="professional_create"),
    path("professionals/<int:pk>/", views.professional_edit, name="professional_edit"),
]
