"""The WSGI entry point warms a worker up before its first request: URLs and API schemas
loaded, the text converters ready, the start-up heap set aside from the garbage collector."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import gc, json, sys
import lantai.wsgi
from django.urls import get_resolver
resolver = get_resolver()
print(json.dumps({
    "urls_loaded": "url_patterns" in resolver.__dict__,
    "api_loaded": "lantai.api.api" in sys.modules,
    "frozen": gc.get_freeze_count(),
}))
"""


@pytest.mark.parametrize(("warm", "expected"), [("1", True), ("0", False)])
def test_wsgi_warms_up_unless_told_not_to(tmp_path, warm, expected):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lantai.settings",
        "LANTAI_DATA_DIR": str(tmp_path),
        "LANTAI_SECRET_KEY": "wsgi-test-secret-key-not-for-production-xxxxxxxxxxxx",
        "LANTAI_WARM_UP": warm,
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout.strip().splitlines()[-1])
    assert state["urls_loaded"] is expected
    assert state["api_loaded"] is expected
    assert (state["frozen"] > 0) is expected
