"""民生档案 staff URLs."""

from django.urls import path

from lantai.livelihood import views

app_name = "livelihood"
urlpatterns = [
    path("", views.home, name="home"),
    path("requests/new/", views.walk_in, name="walk_in"),
    path("requests/<str:which>/", views.queue, name="queue"),
    path("request/<int:pk>/", views.request_detail, name="request"),
    path("request/<int:pk>/certificate.pdf", views.certificate, name="certificate"),
    path("request/<int:pk>/<str:step>/", views.request_step, name="step"),
    path("partners/", views.partners, name="partners"),
    path("partners/<int:pk>/", views.partner_edit, name="partner_edit"),
]
