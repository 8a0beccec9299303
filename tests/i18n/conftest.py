"""Fixtures for the English-language tests.

The compiled catalog (django.mo) is a build product of ``make`` and is git-ignored, so a
checkout that ran pytest directly may hold a stale one (or none). These tests judge the .po
that is committed: the catalog is compiled first when the .mo is missing or older than the .po,
exactly as ``make messages`` would, and Django's translation cache is dropped so the fresh
catalog is the one in use.
"""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from asgiref.local import Local
from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real

from ui.world import world  # noqa: F401  (fixture)

LOCALE_DIR = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
PO_PATH = LOCALE_DIR / "django.po"
MO_PATH = LOCALE_DIR / "django.mo"


def _forget_loaded_catalogs() -> None:
    # What django.test.signals does when LOCALE_PATHS changes, plus gettext's own cache of
    # parsed .mo files (keyed by path, so a recompiled file would otherwise go unseen).
    gettext._translations.clear()
    trans_real._translations = {}
    trans_real._default = None
    trans_real._active = Local()
    trans_real.translation_catalog_exists.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def english_catalog() -> Path:
    stale = not MO_PATH.exists() or MO_PATH.stat().st_mtime < PO_PATH.stat().st_mtime
    if stale:
        msgfmt = shutil.which("msgfmt")
        if msgfmt is None:
            pytest.fail(
                "The English catalog is not compiled and msgfmt is missing: install gettext "
                "(make system-deps) or run `make messages`."
            )
        # Compile beside the target and rename: parallel workers never read half a file.
        fd, tmp = tempfile.mkstemp(dir=LOCALE_DIR, suffix=".mo.tmp")
        os.close(fd)
        try:
            subprocess.run([msgfmt, "--check-format", "-o", tmp, str(PO_PATH)], check=True)
            os.replace(tmp, MO_PATH)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        _forget_loaded_catalogs()
    return MO_PATH


@pytest.fixture(autouse=True)
def restore_language():
    """Put back the language that was active before the test.

    LocaleMiddleware activates the request's language for the thread and nothing deactivates it
    after the test client's request, so without this, "en" would leak into whichever tests this
    worker runs next (and their Chinese assertions would fail)."""
    before = translation.get_language()
    yield
    if before:
        translation.activate(before)
    else:
        translation.deactivate()
