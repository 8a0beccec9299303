"""宣传与编研 URLs (staff)."""

from django.urls import path

from lantai.outreach import views

app_name = "outreach"
urlpatterns = [
    path("", views.home, name="home"),
    path("visits/", views.booking_list, name="booking_list"),
    path("visits/<int:pk>/", views.booking_detail, name="booking_detail"),
    path("visits/<int:pk>/<str:action>/", views.booking_action, name="booking_action"),
    path("slots/", views.slot_list, name="slot_list"),
    path("slots/new/", views.slot_edit, name="slot_create"),
    path("slots/<int:pk>/", views.slot_edit, name="slot_edit"),
    path("visits-statistics/", views.visit_stats, name="visit_stats"),
    path("exhibitions/", views.exhibition_list, name="exhibition_list"),
    path("exhibitions/new/", views.exhibition_edit, name="exhibition_create"),
    path("exhibitions/<int:pk>/", views.exhibition_detail, name="exhibition_detail"),
    path("exhibitions/<int:pk>/edit/", views.exhibition_edit, name="exhibition_edit"),
    path("sections/<int:section_pk>/exhibits/", views.exhibit_add, name="exhibit_add"),
    path("exhibits/<int:pk>/remove/", views.exhibit_remove, name="exhibit_remove"),
    path("publish/<str:kind>/<int:pk>/", views.publish, name="publish"),
    path("columns/new/", views.column_edit, name="column_create"),
    path("columns/<int:pk>/", views.column_edit, name="column_edit"),
    path("articles/new/", views.article_edit, name="article_create"),
    path("articles/<int:pk>/", views.article_edit, name="article_edit"),
    path("calls/new/", views.call_edit, name="call_create"),
    path("calls/<int:pk>/", views.call_edit, name="call_edit"),
    path("offers/", views.offer_list, name="offer_list"),
    path("offers/<int:pk>/", views.offer_detail, name="offer_detail"),
    path("offer-photos/<int:pk>/", views.offer_photo, name="offer_photo"),
    path("compilation/", views.project_list, name="project_list"),
    path("compilation/new/", views.project_edit, name="project_create"),
    path("compilation/<int:pk>/", views.project_detail, name="project_detail"),
    path("compilation/<int:pk>/edit/", views.project_edit, name="project_edit"),
    path("publications/<int:pk>/file/", views.publication_file, name="publication_file"),
    path("oral/", views.oral_list, name="oral_list"),
    path("oral/new/", views.oral_edit, name="oral_create"),
    path("oral/<int:pk>/", views.oral_detail, name="oral_detail"),
    path("oral/<int:pk>/edit/", views.oral_edit, name="oral_edit"),
    path(
        "oral/<int:project_pk>/interviewees/new/", views.interviewee_edit, name="interviewee_create"
    ),
    path(
        "oral/<int:project_pk>/interviewees/<int:pk>/",
        views.interviewee_edit,
        name="interviewee_edit",
    ),
    path("oral/<int:project_pk>/interviews/new/", views.interview_edit, name="interview_create"),
    path(
        "oral/<int:project_pk>/interviews/<int:pk>/edit/",
        views.interview_edit,
        name="interview_edit",
    ),
    path("interviews/<int:pk>/", views.interview_detail, name="interview_detail"),
    path("interviews/<int:pk>/transcript.vtt", views.interview_vtt, name="interview_vtt"),
    path(
        "interviews/<int:pk>/consent/",
        views.interview_file,
        {"kind": "consent"},
        name="interview_consent",
    ),
    path(
        "interviews/<int:pk>/media/<int:file_pk>/",
        views.interview_file,
        {"kind": "media"},
        name="interview_media",
    ),
]
