"""Public (portal) URLs of outreach."""

from django.urls import path

from lantai.outreach import views_public as views

app_name = "outreach_public"
urlpatterns = [
    path("visits/", views.visit_book, name="visit_book"),
    path("visits/booked/", views.visit_booked, name="visit_booked"),
    path("visits/status/", views.visit_status, name="visit_status"),
    path("exhibitions/", views.exhibition_list, name="exhibition_list"),
    path("exhibitions/<int:pk>/", views.exhibition_detail, name="exhibition_detail"),
    path("columns/<int:pk>/", views.column_detail, name="column_detail"),
    path("articles/<int:pk>/", views.article_detail, name="article_detail"),
    path("images/<int:pk>/<str:size>.jpg", views.image, name="image"),
    path("calls/<int:pk>/", views.call_detail, name="call_detail"),
]
