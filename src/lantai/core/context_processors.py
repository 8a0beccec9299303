from django.conf import settings
from django.http import HttpRequest

from lantai import __version__


def site(request: HttpRequest) -> dict:
    return {
        "ARCHIVE_NAME": settings.LANTAI_ARCHIVE_NAME,
        "LANTAI_VERSION": __version__,
    }
