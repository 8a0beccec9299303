"""pytest plugin for Lantai's suite (loaded with ``-p lantai.core.testing``).

It is imported while pytest parses its arguments, before Django's settings are read, so the
environment it sets applies to the whole run: a private data directory per test process and
jobs run in-process unless a test starts real workers.

Service suites (PostgreSQL, Redis, Mosquitto, Chromium) skip when their service is missing on a
developer's machine, and fail under CI=true, where they are mandatory.
"""

from __future__ import annotations

import os
import socket
import tempfile
from urllib.parse import urlparse

import pytest

_CREATED_DATA_DIR = "LANTAI_DATA_DIR" not in os.environ or bool(
    os.environ.get("PYTEST_XDIST_WORKER")
)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # xdist workers inherit the controller's environment; each gets a data dir of its own,
    # or two workers (each with its own test database and id sequences) would write the
    # same batch-N folders and storage keys.
    os.environ["LANTAI_DATA_DIR"] = tempfile.mkdtemp(
        prefix=f"lantai-test-{os.environ['PYTEST_XDIST_WORKER']}-"
    )
else:
    os.environ.setdefault("LANTAI_DATA_DIR", tempfile.mkdtemp(prefix="lantai-test-"))
os.environ.setdefault("LANTAI_QUEUE", "immediate")
# Search results are cached across requests in production; tests roll the database back
# between them (ids and all), so a cache would carry results from one test into the next.
# The cache's own tests switch it on with a fresh location.
os.environ.setdefault("LANTAI_SEARCH_CACHE_SECONDS", "0")
os.environ.setdefault("LANTAI_SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REDIS_URL = os.environ.get("LANTAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
MQTT_HOST = os.environ.get("LANTAI_TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("LANTAI_TEST_MQTT_PORT", "1883"))
CHROMIUM = os.environ.get("LANTAI_CHROMIUM", "/usr/bin/chromium")


def service_missing(what: str, why: str) -> None:
    """Skip on a developer machine; fail under CI, where every service suite is mandatory."""
    message = f"{what} unavailable: {why}"
    if IN_CI:
        pytest.fail(f"{message} (mandatory under CI=true)", pytrace=False)
    pytest.skip(message)


def tcp_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def using_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def pytest_sessionstart(session: pytest.Session) -> None:
    # The PostgreSQL pass: refuse to "pass" silently when the server is not there.
    if not using_postgres():
        return
    url = urlparse(os.environ["DATABASE_URL"])
    if not tcp_reachable(url.hostname or "127.0.0.1", url.port or 5432):
        if IN_CI:
            pytest.exit(
                f"PostgreSQL at {url.hostname}:{url.port or 5432} is unreachable "
                "(mandatory under CI=true)",
                returncode=3,
            )
        pytest.exit("PostgreSQL unreachable: PostgreSQL pass skipped", returncode=0)


def pytest_report_header(config: pytest.Config) -> str:
    db = "PostgreSQL" if using_postgres() else "SQLite"
    return f"lantai: database={db} CI={IN_CI} data_dir={os.environ['LANTAI_DATA_DIR']}"


@pytest.fixture
def postgres_only(db) -> None:
    """For tests that prove PostgreSQL behaviour; they run in the PostgreSQL pass."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL-only test: runs in the PostgreSQL pass (make test-postgres)")


@pytest.fixture
def redis_url() -> str:
    """The test Redis URL; tests must use private key names (e.g. a unique queue name)."""
    url = urlparse(REDIS_URL)
    if not tcp_reachable(url.hostname or "127.0.0.1", url.port or 6379):
        service_missing("Redis", REDIS_URL)
    # No FLUSHDB: parallel test processes share this database, each on its own queue name.
    return REDIS_URL


@pytest.fixture
def mqtt_broker() -> tuple[str, int]:
    if not tcp_reachable(MQTT_HOST, MQTT_PORT):
        service_missing("Mosquitto", f"{MQTT_HOST}:{MQTT_PORT}")
    return MQTT_HOST, MQTT_PORT


#: Chromium flags for a closed network: without the background-networking ones Chromium keeps
#: trying (and failing) to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        service_missing("Chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def browser(chromium_path):
    """Debian's Chromium driven by Playwright (never a browser download)."""
    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are
    # ordinary synchronous code, so let Django allow them.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def pytest_configure(config: pytest.Config) -> None:
    # Transactional tests end with a flush of every table. The audit table refuses DELETE and
    # TRUNCATE by design, so the flush leaves it alone; entries from one test then stay, which
    # keeps the chain valid (tests filter entries by their own objects).
    from django.db.backends.base import introspection

    original = introspection.BaseDatabaseIntrospection.django_table_names

    def django_table_names(self, only_existing=False, include_views=True):
        names = original(self, only_existing, include_views)
        return [name for name in names if name != "audit_auditentry"]

    introspection.BaseDatabaseIntrospection.django_table_names = django_table_names


def pytest_unconfigure(config: pytest.Config) -> None:
    # Remove the data dir this process made (files, SQLite test DB, queue), not one a
    # developer pointed the suite at.
    if _CREATED_DATA_DIR and not os.environ.get("LANTAI_KEEP_TEST_DATA"):
        import shutil

        shutil.rmtree(os.environ["LANTAI_DATA_DIR"], ignore_errors=True)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests marked xdist_group share something that admits one user at a time (the shared
    # MQTT broker's topics, Chromium, a PostgreSQL restart): with --dist loadgroup each xdist
    # worker names them "<test>@<group>" so that one worker runs the whole group. Under
    # pytest 9 that renaming silently stopped working and such tests ran on both workers at
    # once (CI failures that looked like stray broker traffic): refuse to run instead.
    if not os.environ.get("PYTEST_XDIST_WORKER") or not getattr(config.option, "loadgroup", False):
        return
    lost = [
        item.nodeid
        for item in items
        if item.get_closest_marker("xdist_group") is not None and "@" not in item.nodeid
    ]
    if lost:
        raise pytest.UsageError(
            f"--dist loadgroup does not group {len(lost)} xdist_group tests (e.g. {lost[0]}) "
            "with this pytest / pytest-xdist pair; install the versions pyproject.toml allows"
        )
