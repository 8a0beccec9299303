"""``lantai serve``: the web server and a worker side by side, stopped together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from lantai.jobs import services
from lantai.jobs.models import Job, JobStatus
from lantai.jobs.services import pid_alive

from .conftest import wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@pytest.fixture
def serve(sqlite_queue_worker, tmp_path):
    """Start ``lantai serve`` on a free port; yields (process, base url)."""
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lantai", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=sqlite_queue_worker.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_status(f"{base}/accounts/login/") == 200, timeout=30, step=0.2)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def _worker_pid_after_a_job(user) -> int:
    job = services.enqueue("jobs.selftest", {"steps": 2, "delay": 0}, user=user)
    wait_for(lambda: Job.objects.get(pk=job.pk).finished, timeout=30)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    return int(job.worker.rpartition(":")[2])


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_runs_web_and_worker_and_stops_both(serve, make_user, tmp_path, stop):
    proc, base = serve
    worker_pid = _worker_pid_after_a_job(make_user("archivist1", "archivist"))
    assert worker_pid != proc.pid
    proc.send_signal(stop)
    assert proc.wait(timeout=20) == 0
    assert not pid_alive(worker_pid)
    assert http_status(f"{base}/accounts/login/") is None
    assert "兰台已启动：http://127.0.0.1:" in (tmp_path / "serve.log").read_text()


def test_serve_exits_when_the_worker_dies(serve, make_user):
    proc, base = serve
    worker_pid = _worker_pid_after_a_job(make_user("archivist1", "archivist"))
    os.kill(worker_pid, signal.SIGKILL)
    assert proc.wait(timeout=20) != 0
    assert http_status(f"{base}/accounts/login/") is None  # the web server went with it
