"""Fixtures for the job tests: users in roles, throw-away job kinds, a real huey queue."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PASSWORD = "Lantai-test-2024!"


@pytest.fixture
def make_user():
    """make_user("name", "role", ...); the test must ask for db or transactional_db."""
    from django.contrib.auth.models import Group

    from lantai.accounts.models import User

    def make(username: str, *roles: str) -> User:
        user = User.objects.create_user(username=username, password=PASSWORD)
        for role in roles:
            user.groups.add(Group.objects.get(name=role))
        return User.objects.get(pk=user.pk)  # fresh permission cache

    return make


@pytest.fixture
def job_kind() -> Iterator[Callable]:
    """job_kind("test.x", handler, perm=...) registers a handler for one test."""
    from lantai.jobs import services

    registered: list[str] = []

    def register(kind: str, handler, *, perm: str | None = "jobs.run_job", clean=None):
        services.register(kind, perm=perm, label=kind, clean=clean)(handler)
        registered.append(kind)
        return kind

    yield register
    for kind in registered:
        services.unregister(kind)


def database_url() -> str:
    """A URL for the database this test process uses, for a worker subprocess to share."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


class Worker:
    """A real ``lantai run_huey`` subprocess on a private queue, sharing the test database."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env = env
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        self.log_file = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lantai", "run_huey", "--workers", "1", "--no-periodic"],
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log_file.close()


def _start_real_queue(tmp_path: Path, queue_env: dict[str, str], storage) -> Iterator[Worker]:
    from django.conf import settings
    from huey.contrib.djhuey import HUEY

    env = {
        **os.environ,
        **queue_env,
        "DATABASE_URL": database_url(),
        "LANTAI_DATA_DIR": str(settings.DATA_DIR),
        "LANTAI_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    # This process enqueues onto the same private queue the worker reads.
    HUEY.immediate = False
    previous = HUEY.storage
    HUEY.storage = storage
    worker = Worker(env, tmp_path / "worker.log")
    try:
        yield worker
    finally:
        worker.stop()
        storage.flush_all()  # only this test's private queue
        HUEY.storage = previous
        HUEY.immediate = True


@pytest.fixture
def sqlite_queue_worker(transactional_db, tmp_path) -> Iterator[Worker]:
    from django.conf import settings
    from huey.storage import SqliteStorage

    # settings put the SQLite queue under the data dir, which the worker shares with this
    # process; a private queue name keeps parallel test processes apart.
    name = f"test-{uuid.uuid4().hex[:12]}"
    env = {"LANTAI_QUEUE": "sqlite", "LANTAI_QUEUE_NAME": name}
    filename = str(Path(settings.DATA_DIR) / "queue.sqlite3")
    yield from _start_real_queue(tmp_path, env, SqliteStorage(name, filename=filename))


@pytest.fixture
def redis_queue_worker(transactional_db, tmp_path, redis_url) -> Iterator[Worker]:
    from huey.storage import RedisStorage

    name = f"test-{uuid.uuid4().hex[:12]}"
    env = {"LANTAI_QUEUE": "redis", "REDIS_URL": redis_url, "LANTAI_QUEUE_NAME": name}
    yield from _start_real_queue(tmp_path, env, RedisStorage(name, url=redis_url))


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")
