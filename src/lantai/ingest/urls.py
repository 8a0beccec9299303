import importlib.util

from django.urls import path

from lantai.ingest import views

app_name = "ingest"

urlpatterns = [
    path("sips/", views.sip_list, name="sip_list"),
    path("sips/new/", views.sip_submit, name="sip_submit"),
    path("sips/<uuid:pk>/", views.sip_detail, name="sip_detail"),
    path("sips/<uuid:pk>/report.pdf", views.sip_report_pdf, name="sip_report_pdf"),
    path("tokens/", views.token_list, name="token_list"),
]

# The check-rule configuration screens (四性检测规则) live in views_checks.py, with their own
# ``urlpatterns`` list.
if importlib.util.find_spec("lantai.ingest.views_checks") is not None:
    from lantai.ingest.views_checks import urlpatterns as _check_patterns

    urlpatterns += _check_patterns
