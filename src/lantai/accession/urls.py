from django.urls import path

from lantai.accession import views

app_name = "accession"
urlpatterns = [
    path("", views.batch_list, name="batch_list"),
    path("batches/new/", views.batch_create, name="batch_create"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/status/", views.batch_status, name="batch_status"),
    path("batches/<int:pk>/issues/", views.batch_issues, name="batch_issues"),
    path("batches/<int:pk>/upload/", views.batch_upload, name="batch_upload"),
    path("batches/<int:pk>/submit/", views.batch_submit, name="batch_submit"),
    path("batches/<int:pk>/accept/", views.batch_accept, name="batch_accept"),
    path("batches/<int:pk>/return/", views.batch_return, name="batch_return"),
    path("batches/<int:pk>/report.xlsx", views.batch_report, name="batch_report"),
    path("batches/<int:pk>/handover.pdf", views.batch_handover, name="batch_handover"),
    path("mappings/", views.mapping_list, name="mapping_list"),
    path("mappings/new/", views.mapping_edit, name="mapping_create"),
    path("mappings/<int:pk>/", views.mapping_edit, name="mapping_edit"),
    path("mappings/<int:pk>/delete/", views.mapping_delete, name="mapping_delete"),
    path("plans/", views.plan_list, name="plan_list"),
    path("plans/new/", views.plan_edit, name="plan_create"),
    path("plans/<int:pk>/", views.plan_edit, name="plan_edit"),
    path("plans/<int:pk>/delete/", views.plan_delete, name="plan_delete"),
    path("acquisitions/", views.acquisition_list, name="acquisition_list"),
    path("acquisitions/new/", views.acquisition_edit, name="acquisition_create"),
    path("acquisitions/<int:pk>/", views.acquisition_detail, name="acquisition_detail"),
    path("acquisitions/<int:pk>/edit/", views.acquisition_edit, name="acquisition_edit"),
    path("campaigns/new/", views.campaign_edit, name="campaign_create"),
    path("campaigns/<int:pk>/", views.campaign_edit, name="campaign_edit"),
    path("statistics/", views.statistics, name="statistics"),
    path("statistics/export.xlsx", views.statistics_export, name="statistics_export"),
]
