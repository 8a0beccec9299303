"""Lantai across processes as docs/deployment.md describes it, proven on this machine: two
gunicorn web processes and two job workers (``lantai run_huey`` on a Redis queue) sharing one
PostgreSQL database, one Redis, one storage directory and an S3 replica (moto's server).

* a citizen-facing session made on one web process is valid on the other;
* an ingest (over the API), an OCR job, a fixity audit and a batch of jobs are spread over
  both workers;
* a worker killed mid-job: its job is reaped and retried on the other worker, finishing once;
* the ingested SIP became exactly one item (nothing done twice), its AIP verified.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.xdist_group("ops-deployment"),
]

BIN = Path(sys.executable).parent
PG_BASE = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PASSWORD = "Deploy-test-2026!"

SETUP = """
import json
from lantai.accounts.services import create_user
from lantai.holdings import services as holdings
from lantai.holdings.models import Series
from lantai.ingest.services import issue_token
unit = holdings.create_unit(None, {"code": "QZF", "name": "区政府办公室", "kind": "agency"})
fonds = holdings.create_fonds(None, {"code": "Z109", "name": "区政府办公室", "unit": unit})
Series.objects.create(fonds=fonds, code="BGS", name="办公室")
admin = create_user(None, username="dep_admin", password=PASSWORD, roles=["sysadmin"])
create_user(None, username="dep_archivist", password=PASSWORD, roles=["archivist"])
token = issue_token(admin, unit, "OA 系统")[1]
print("SETUP" + json.dumps({"token": token}))
""".replace("PASSWORD", repr(PASSWORD))

STATE = """
import json
from lantai.storage.models import ObjectCopy, StoredObject
from lantai.holdings.models import Item
from lantai.ingest.models import Sip
from lantai.jobs.models import Job
jobs = [
    {"id": str(j.pk), "kind": j.kind, "status": j.status, "worker": j.worker,
     "attempts": j.attempts}
    for j in Job.objects.all()
]
sips = list(Sip.objects.values_list("status", flat=True))
copies = {
    loc: ObjectCopy.objects.filter(location__backend=loc, status="ok").count()
    for loc in ("local", "s3")
}
print("STATE" + json.dumps({
    "jobs": jobs, "items": Item.objects.count(), "sips": sips,
    "objects": StoredObject.objects.count(), "copies": copies,
}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_BASE, "-qc", sql], check=True, capture_output=True)


class Site:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.database = f"lantai_deploy_{uuid.uuid4().hex[:8]}"
        _psql(f'CREATE DATABASE "{self.database}"')
        self.env = {
            **os.environ,
            "DATABASE_URL": PG_BASE.rsplit("/", 1)[0] + "/" + self.database,
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "LANTAI_QUEUE": "redis",
            "LANTAI_QUEUE_NAME": f"deploy-{uuid.uuid4().hex[:8]}",
            "LANTAI_DATA_DIR": str(tmp / "data"),
            "LANTAI_STORAGE_DIR": str(tmp / "shared-store"),
            # Every web process must share the key, or sessions made by one fail on another.
            "LANTAI_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "LANTAI_WORKERS": "1",
            "LANTAI_JOB_STALE_SECONDS": "5",
            "PYTHONUNBUFFERED": "1",
        }
        self.procs: dict[str, subprocess.Popen] = {}

    def lantai(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [str(BIN / "lantai"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"lantai {args[0]}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def shell(self, code: str, marker: str) -> dict:
        out = self.lantai("shell", "-c", code)
        line = next(x for x in out.splitlines() if x.startswith(marker))
        return json.loads(line[len(marker) :])

    def start(self, name: str, *argv: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop)
        proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        proc.log = log
        self.procs[name] = proc
        return proc

    def web(self, name: str) -> str:
        port = _free_port()
        self.start(
            name,
            str(BIN / "gunicorn"),
            "lantai.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--timeout",
            "120",
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=10).status_code == 200:
                    return url
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{name} did not start: {self.log(name)}")

    def worker(self, name: str) -> subprocess.Popen:
        return self.start(name, str(BIN / "lantai"), "run_huey")

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            proc.log.close()
        _psql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def _wait(predicate, timeout: float = 120, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _login(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        base + "/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD},
        headers={"Referer": base + "/accounts/login/"},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:500]
    return session


@pytest.fixture
def site(tmp_path, redis_url, postgres_only, bucket, s3_server):
    site = Site(tmp_path)
    # An off-site replica on S3 (moto's server): every stored object goes there too.
    _client, name = bucket
    site.env.update(
        {
            "LANTAI_S3_BUCKET": name,
            "LANTAI_S3_ENDPOINT_URL": s3_server,
            "LANTAI_S3_ACCESS_KEY_ID": "testing",
            "LANTAI_S3_SECRET_ACCESS_KEY": "testing",
        }
    )
    try:
        yield site
    finally:
        site.stop()


OCR_SETUP = """
import json
from lantai.digitisation.services import create_batch
from lantai.holdings.models import Item
item = Item.objects.get()
with open(SCAN, "rb") as fh:
    batch = create_batch(None, item, [("page-1.png", fh)])
print("OCR" + json.dumps({"batch": batch.pk, "status": batch.status}))
"""


def _scan_png() -> bytes:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from digitisation.conftest import encode, render_page

    return encode(render_page(dpi=300), "PNG", dpi=300)


def _bag(tmp: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from ingest.conftest import make_bag, zip_dir

    folder = make_bag(tmp / "sip-deploy")
    return zip_dir(folder, tmp / "sip-deploy.zip")


def test_web_and_workers_apart_share_the_work(site, tmp_path, bucket):
    site.lantai("migrate", "-v0")
    token = site.shell(SETUP, "SETUP")["token"]
    web1, web2 = site.web("web1"), site.web("web2")
    w1, w2 = site.worker("worker1"), site.worker("worker2")

    # Sessions: signed in through one web process, recognised by the other.
    session = _login(web1, "dep_archivist")
    page = session.get(web2 + "/jobs/", allow_redirects=False)
    assert page.status_code == 200, page.status_code

    # An ingest over the API of one web process, watched through the other.
    bag = _bag(tmp_path)
    with open(bag, "rb") as fh:
        answer = requests.post(
            web1 + "/api/v1/sips",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "deploy-1"},
            files={"file": (bag.name, fh, "application/zip")},
            timeout=60,
        )
    assert answer.status_code == 202, answer.text
    sip_id = answer.json()["id"]

    def sip_done():
        body = requests.get(
            f"{web2}/api/v1/sips/{sip_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        return body if body["status"] in {"stored", "failed", "error"} else None

    assert _wait(sip_done, what="the SIP")["status"] == "stored"

    # Scans of that item, checked and recognised (OCR) by a worker.
    scan = tmp_path / "page-1.png"
    scan.write_bytes(_scan_png())
    ocr = site.shell(OCR_SETUP.replace("SCAN", repr(str(scan))), "OCR")
    assert ocr["status"] != "rejected", ocr

    # A fixity audit and a batch of short jobs: both workers take part.
    site.lantai("jobs", "run", "preservation.fixity_audit")
    for _ in range(6):
        site.lantai("jobs", "run", "jobs.selftest", "-p", "steps=4", "-p", "delay=0.25")

    def all_done():
        state = site.shell(STATE, "STATE")
        pending = [j for j in state["jobs"] if j["status"] in {"queued", "running"}]
        return None if pending else state

    state = _wait(all_done, timeout=300, what="the jobs")
    assert {j["status"] for j in state["jobs"]} == {"succeeded"}, state["jobs"]
    kinds = {j["kind"] for j in state["jobs"]}
    assert {"ingest.process", "digitisation.ocr", "preservation.fixity_audit"} <= kinds, kinds
    pids = {j["worker"].rsplit(":", 1)[1] for j in state["jobs"]}
    assert pids == {str(w1.pid), str(w2.pid)}, (pids, w1.pid, w2.pid)

    # A worker killed mid-job: the job is reaped, retried, and finished by the other worker.
    site.lantai("jobs", "run", "jobs.selftest", "-p", "steps=200", "-p", "delay=0.1")

    def running_job():
        jobs = site.shell(STATE, "STATE")["jobs"]
        return next(
            (j for j in jobs if j["status"] == "running" and j["kind"] == "jobs.selftest"), None
        )

    victim_job = _wait(running_job, what="a running job")
    victim_pid = int(victim_job["worker"].rsplit(":", 1)[1])
    victim = w1 if victim_pid == w1.pid else w2
    survivor = w2 if victim is w1 else w1
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    site.lantai("jobs", "reap")
    site.lantai("jobs", "retry", victim_job["id"], "--wait", "--timeout", "120")
    final = next(j for j in site.shell(STATE, "STATE")["jobs"] if j["id"] == victim_job["id"])
    assert final["status"] == "succeeded"
    assert final["attempts"] == 2
    assert final["worker"].endswith(f":{survivor.pid}")

    # Nothing done twice: one SIP, one item; the readiness probe sees Redis and the store.
    state = site.shell(STATE, "STATE")
    assert state["sips"] == ["stored"] and state["items"] == 1
    # Every stored object has a good copy in the shared store and on S3 (fixity-checked).
    assert state["objects"] > 0
    assert state["copies"] == {"local": state["objects"], "s3": state["objects"]}
    _client, name = bucket
    listed = _client.list_objects_v2(Bucket=name).get("KeyCount", 0)
    assert listed >= state["objects"]
    ready = requests.get(web2 + "/readyz", timeout=10).json()
    assert ready["status"] == "ready" and ready["checks"]["redis"]["ok"], ready
