"""/healthz, /readyz and /metrics: what load balancers and Prometheus see."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import pytest
from django.test import override_settings

from lantai.storage import services as storage_services
from lantai.storage.models import BackendKind, LocationRole, StorageLocation


@pytest.fixture
def store(db, tmp_path, monkeypatch) -> StorageLocation:
    monkeypatch.setattr(storage_services, "_synced_env", True)
    return StorageLocation.objects.create(
        code="main",
        name="本地",
        backend=BackendKind.LOCAL,
        config={"root": str(tmp_path / "store")},
        role=LocationRole.PRIMARY,
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_reports_every_dependency(client, store, monkeypatch):
    monkeypatch.delenv("LANTAI_MQTT_URL", raising=False)
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "queue", "storage"}
    assert all(check["ok"] for check in body["checks"].values())
    # The storage probe wrote and removed its file: nothing left behind.
    root = Path(store.config["root"])
    assert root.is_dir() and list(root.iterdir()) == []


def test_readyz_is_503_and_names_the_broken_store(client, store, tmp_path, sysadmin):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    store.config = {"root": str(blocker / "store")}
    store.save()
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and not checks["storage"]["ok"]
    # The public learns which check fails, not the paths or error texts behind it.
    assert "detail" not in checks["storage"]
    client.force_login(sysadmin)
    checks = client.get("/readyz").json()["checks"]
    assert checks["storage"]["detail"]


def test_readyz_probes_redis_and_mqtt_when_configured(
    client, store, redis_url, mqtt_broker, monkeypatch
):
    host, port = mqtt_broker
    monkeypatch.setenv("LANTAI_MQTT_URL", f"mqtt://{host}:{port}")
    with override_settings(REDIS_URL=redis_url, LANTAI_MQTT_URL=f"mqtt://{host}:{port}"):
        body = client.get("/readyz").json()
    assert body["checks"]["redis"]["ok"], body
    assert body["checks"]["mqtt"]["ok"], body

    dead = _closed_port()
    monkeypatch.setenv("LANTAI_MQTT_URL", f"mqtt://127.0.0.1:{dead}")
    with override_settings(
        REDIS_URL=f"redis://127.0.0.1:{dead}/0", LANTAI_MQTT_URL=f"mqtt://127.0.0.1:{dead}"
    ):
        response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert not checks["redis"]["ok"] and not checks["mqtt"]["ok"]
    assert checks["database"]["ok"]


def test_metrics_are_not_public(client, archivist, password, monkeypatch):
    monkeypatch.delenv("LANTAI_METRICS_TOKEN", raising=False)
    assert client.get("/metrics").status_code == 403
    client.force_login(archivist)
    assert client.get("/metrics").status_code == 403
    monkeypatch.setenv("LANTAI_METRICS_TOKEN", "s3cret-token-for-prometheus")
    client.logout()
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403


def test_metrics_expose_requests_and_archive_state(client, sysadmin, monkeypatch, db):
    from lantai.jobs.models import Job
    from lantai.vault.models import Alarm

    monkeypatch.setenv("LANTAI_METRICS_TOKEN", "s3cret-token-for-prometheus")
    Job.objects.create(kind="demo.noop", status="queued")
    Job.objects.create(kind="demo.noop", status="failed")
    client.get("/healthz")
    client.get("/accounts/login/")
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token-for-prometheus")
    assert response.status_code == 200
    text = response.content.decode()
    from prometheus_client.parser import text_string_to_metric_families

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("lantai_job_queue_depth", ())] == Job.objects.filter(status="queued").count()
    assert samples[("lantai_jobs", (("status", "failed"),))] == 1
    assert samples[("lantai_fixity_failures", (("status", "corrupt"),))] == 0
    open_alarms = sum(
        v for (name, _labels), v in samples.items() if name == "lantai_vault_open_alarms"
    )
    assert open_alarms == Alarm.objects.exclude(status="resolved").count()
    logins = [
        v
        for (name, labels), v in samples.items()
        if name == "lantai_http_requests_total" and ("view", "accounts:login") in labels
    ]
    assert logins and sum(logins) >= 1
    # Probes are not counted as traffic.
    assert not any(
        ("view", "ops:healthz") in labels
        for (_n, labels) in samples
        if _n.startswith("lantai_http")
    )
    # A signed-in system administrator may look without the token.
    client.force_login(sysadmin)
    assert client.get("/metrics").status_code == 200


def test_logs_carry_the_request_id_as_json(client, caplog, settings):
    from lantai.ops.logging import JsonFormatter, RequestIdFilter

    handler = logging.StreamHandler()
    records = []
    handler.emit = records.append  # keep the records, format them below
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-42")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-42"
    assert records, "django.request logs a 404"
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["request_id"] == "req-42"
    assert line["level"] == "WARNING"
    assert "/no-such-page/" in line["message"]
