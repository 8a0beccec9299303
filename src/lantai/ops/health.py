"""Probes of what Lantai depends on 依赖检查: the database, the job queue, the primary store and,
when configured, Redis and the MQTT broker.

Each probe returns a ``Probe`` and never raises: ``/readyz`` and ``lantai check`` report every
dependency at once rather than stopping at the first that fails. Probes are quick (short
timeouts) because a load balancer calls ``/readyz`` every few seconds.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.db import connection

TIMEOUT = float(os.environ.get("LANTAI_PROBE_TIMEOUT", "2"))


@dataclass(frozen=True)
class Probe:
    name: str
    ok: bool
    detail: str = ""
    millis: float = 0.0

    def as_dict(self) -> dict:
        return {"ok": self.ok, "detail": self.detail, "ms": round(self.millis, 1)}


def _timed(name: str, fn) -> Probe:
    start = time.perf_counter()
    try:
        detail = fn() or ""
        ok = True
    except Exception as exc:  # a probe reports, it never raises
        detail = f"{type(exc).__name__}: {exc}"[:300]
        ok = False
    return Probe(name, ok, detail, (time.perf_counter() - start) * 1000)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _queue() -> str:
    from huey.contrib.djhuey import HUEY

    if getattr(HUEY, "immediate", False):
        return "immediate"
    return f"{type(HUEY).__name__} pending={HUEY.pending_count()}"


def _storage() -> str:
    from lantai.storage.backends import backend_for
    from lantai.storage.services import active_locations

    primary, _replicas = active_locations()
    backend = backend_for(primary)
    root = getattr(backend, "root", None)
    if root is not None:
        # Writable, not merely present: a read-only remount is the usual failure.
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".lantai-probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"ok")
        probe.unlink()
        return str(root)
    backend.client.head_bucket(Bucket=backend.bucket)
    return f"s3://{backend.bucket}"


def _redis() -> str:
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()
    return urlparse(settings.REDIS_URL).netloc.rsplit("@", 1)[-1]


def mqtt_configured() -> bool:
    return bool(os.environ.get("LANTAI_MQTT_URL"))


def _mqtt() -> str:
    # A full MQTT CONNECT/CONNACK exchange, not just a TCP connect: a broker that accepts
    # connections but refuses clients is not ready.
    url = urlparse(settings.LANTAI_MQTT_URL)
    host, port = url.hostname or "127.0.0.1", url.port or 1883
    client_id = f"lantai-probe-{uuid.uuid4().hex[:8]}".encode()
    packet_body = b"\x00\x04MQTT\x04\x02\x00\x0a" + len(client_id).to_bytes(2, "big") + client_id
    packet = b"\x10" + bytes([len(packet_body)]) + packet_body
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendall(packet)
        reply = sock.recv(4)
        with contextlib.suppress(OSError):
            sock.sendall(b"\xe0\x00")  # DISCONNECT
    if len(reply) < 4 or reply[0] != 0x20 or reply[3] != 0:
        raise ConnectionError(f"CONNACK refused ({reply.hex()})")
    return f"{host}:{port}"


def readiness() -> list[Probe]:
    """Every dependency's probe; optional services only when configured."""
    probes = [
        _timed("database", _database),
        _timed("queue", _queue),
        _timed("storage", _storage),
    ]
    if settings.REDIS_URL:
        probes.append(_timed("redis", _redis))
    if mqtt_configured():
        probes.append(_timed("mqtt", _mqtt))
    return probes
