"""Pulling the database away from a running instance: a private PostgreSQL cluster (so the
shared server is never stopped) under a gunicorn web process and a job worker.

An ingest is acknowledged (202), then PostgreSQL stops: the web answers 503 with a clear
message, /readyz names the database, the worker keeps the job message instead of losing it.
PostgreSQL comes back: the instance recovers by itself and the acknowledged SIP is archived,
exactly once.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

from .test_deployment import SETUP, STATE, Site, _bag, _free_port, _login, _wait

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("ops-outage")]

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class Cluster:
    """A throw-away PostgreSQL cluster, run by the postgres system user when we are root."""

    def __init__(self):
        # Not under pytest's tmp dir: that is private to root (0700) and the postgres user
        # could not reach its data directory there.
        self.root = Path(tempfile.mkdtemp(prefix="lantai-pg-"))
        self.root.chmod(0o755)
        self.dir = self.root / "data"
        self.dir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self.port = _free_port()
        self._pg("initdb", "-D", str(self.dir), "-A", "trust", "-U", "postgres", "--no-sync")

    def _pg(self, tool: str, *args: str) -> None:
        argv = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{tool}: {done.stdout}\n{done.stderr}"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = f"{self.dir}/server.log"
        self._pg("pg_ctl", "-D", str(self.dir), "-o", options, "-w", "-l", log, "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.dir), "-m", mode, "-w", "stop")


@pytest.fixture
def cluster(tmp_path, postgres_only):
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    cluster = Cluster()
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(AssertionError):  # already stopped
            cluster.stop("immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)


def test_database_outage_gives_clear_errors_and_loses_no_acknowledged_ingest(cluster, tmp_path):
    site = Site.__new__(Site)
    site.tmp = tmp_path
    site.database = None
    site.procs = {}
    site.env = {
        **os.environ,
        "DATABASE_URL": cluster.url,
        "LANTAI_QUEUE": "sqlite",  # the queue survives the database outage on its own file
        "LANTAI_QUEUE_NAME": "outage",
        "LANTAI_DATA_DIR": str(tmp_path / "data"),
        "LANTAI_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "LANTAI_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    site.env.pop("REDIS_URL", None)
    try:
        site.lantai("migrate", "-v0")
        token = site.shell(SETUP, "SETUP")["token"]
        web = site.web("web")
        bag = _bag(tmp_path)
        with open(bag, "rb") as fh:
            answer = requests.post(
                web + "/api/v1/sips",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": (bag.name, fh, "application/zip")},
                timeout=60,
            )
        assert answer.status_code == 202, answer.text
        sip_id = answer.json()["id"]

        session = _login(web, "dep_archivist")
        # The database goes away before any worker has run the job.
        cluster.stop("fast")
        ready = requests.get(web + "/readyz", timeout=30)
        assert ready.status_code == 503
        assert not ready.json()["checks"]["database"]["ok"]
        page = session.get(web + "/jobs/", timeout=30)
        assert page.status_code == 503 and "数据库暂时无法连接" in page.text
        assert page.headers["Retry-After"]
        api = requests.get(
            f"{web}/api/v1/sips/{sip_id}", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert api.status_code == 503 and "数据库" in api.json()["detail"]

        # A worker starts meanwhile: it cannot claim the job, and keeps it.
        site.worker("worker")
        time.sleep(8)
        assert site.procs["worker"].poll() is None, site.log("worker")

        # The database returns: the instance recovers by itself.
        cluster.start()

        def stored():
            body = requests.get(
                f"{web}/api/v1/sips/{sip_id}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            if body.status_code != 200:
                return None
            return body.json() if body.json()["status"] in {"stored", "failed", "error"} else None

        assert _wait(stored, timeout=180, what="the SIP after the outage")["status"] == "stored"
        assert requests.get(web + "/readyz", timeout=30).status_code == 200
        state = site.shell(STATE, "STATE")
        assert state["sips"] == ["stored"] and state["items"] == 1
        assert [j["status"] for j in state["jobs"]] == ["succeeded"]
        assert "database unavailable" in site.log("web")
    finally:
        for proc in site.procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)
            proc.log.close()
