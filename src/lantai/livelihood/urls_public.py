"""Public (portal) URLs of livelihood: /portal/livelihood/."""

from django.urls import path

from lantai.livelihood import views_public as views

app_name = "livelihood_public"
urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("apply/", views.apply, name="apply"),
    path("requests/", views.my_requests, name="requests"),
    path("requests/<int:pk>/", views.request_detail, name="request"),
    path("requests/<int:pk>/certificate.pdf", views.certificate, name="certificate"),
]
