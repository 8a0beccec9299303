"""JSON API 接口 (/api/v1/), built with django-ninja over the apps' services."""
