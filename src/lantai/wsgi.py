"""WSGI entry point (gunicorn ``lantai.wsgi``)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lantai.settings")
application = get_wsgi_application()


def warm_up() -> None:
    """Load now what the first request of each worker process would otherwise load: the URL
    configuration with the API's schemas, and the Chinese text converters (~1.5 s, paid when
    the worker starts instead of by a visitor); then set aside from the garbage collector.
    ``LANTAI_WARM_UP=0`` skips it."""
    from django.urls import get_resolver

    from lantai.search import text

    get_resolver().url_patterns  # noqa: B018 (imports every app's URLs and API routers)
    text.normalize("檔案館")
    # What is loaded by now lives as long as the process: kept out of the garbage collector's
    # full passes, each of which otherwise walks it all (~0.1 s at every few hundred requests).
    gc.collect()
    gc.freeze()


if os.environ.get("LANTAI_WARM_UP", "1") != "0":
    warm_up()
