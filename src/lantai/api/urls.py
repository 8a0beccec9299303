"""Mounted at /api/v1/ by the root URLconf; the OpenAPI document is /api/v1/openapi.json."""

from lantai.api.api import api

app_name = "api"  # the NinjaAPI's urls_namespace: its docs page reverses "api:openapi-json"
urlpatterns = api.urls[0]
