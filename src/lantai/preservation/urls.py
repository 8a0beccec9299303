from django.urls import path

from lantai.preservation import views

app_name = "preservation"

urlpatterns = [
    path("aips/<uuid:pk>/", views.aip_detail, name="aip_detail"),
    path("items/<int:pk>/aip/", views.item_aip, name="item_aip"),
    path("items/<int:pk>/dip/", views.item_dip, name="item_dip"),
    path("items/<int:pk>/eep/", views.item_eep, name="item_eep"),
    path("fixity/", views.fixity_list, name="fixity_list"),
    path("fixity/start/", views.fixity_start, name="fixity_start"),
    path("fixity/<int:pk>/", views.fixity_detail, name="fixity_detail"),
]
