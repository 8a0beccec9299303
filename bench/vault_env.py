"""Vault environment benchmarks 库房环境 (plain script, not a test):

    .venv/bin/python bench/vault_env.py ingest   # HTTP batch endpoint, SQLite, readings/s
    .venv/bin/python bench/vault_env.py mqtt     # MQTT → consumer → SQLite, readings/s
    .venv/bin/python bench/vault_env.py latency  # reading over the limit → alarm row, seconds
    .venv/bin/python bench/vault_env.py chart [--days 365 --sensors 200]
                                                 # 30-day 1-minute chart with a year stored

Each works on its own SQLite data dir under bench/out/ (a real ``lantai runserver`` and a real
``lantai vault consume`` in child processes; a private Mosquitto on a free port) and writes
bench/out/vault-<name>.json. Targets (issue 6): ≥ 20,000 readings/s through the batch endpoint,
≥ 5,000 readings/s over MQTT, an alarm within 1 s, the chart's data in ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import LANTAI, OUT, SECRET, machine, save

SENSORS = 200
VAULTS = 10


def env_for(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "lantai.settings",
            "LANTAI_SECRET_KEY": SECRET,
            "LANTAI_DATA_DIR": str(data_dir),
            "LANTAI_QUEUE": "immediate",
            "LANTAI_LOG_LEVEL": "WARNING",
            "LANTAI_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LANTAI_VAULT_RAW_DAYS": "400",
        }
    )
    return env


def fresh(name: str) -> tuple[Path, dict[str, str]]:
    data_dir = OUT / f"vault-{name}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = env_for(data_dir)
    subprocess.run([LANTAI, "migrate", "-v", "0"], env=env, check=True)
    return data_dir, env


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def make_sensors(n: int = SENSORS) -> list:
    """``n`` sensors over ``VAULTS`` paper vaults, half temperature, half humidity."""
    from decimal import Decimal

    from lantai.vault.models import Sensor, SensorKind, Vault

    kinds = {k.code: k for k in SensorKind.objects.all()}
    vaults = [
        Vault.objects.get_or_create(
            code=f"K{v:02d}",
            defaults={
                "name": f"{v}号库房",
                "vault_type": "paper",
                "temp_min": Decimal(14),
                "temp_max": Decimal(24),
                "rh_min": Decimal(45),
                "rh_max": Decimal(60),
            },
        )[0]
        for v in range(1, VAULTS + 1)
    ]
    sensors = []
    for i in range(n):
        vault = vaults[i % VAULTS]
        kind = kinds["temperature" if i % 2 == 0 else "humidity"]
        sensors.append(
            Sensor(vault=vault, code=f"{vault.code}-S{i:03d}", kind=kind, heartbeat_seconds=600)
        )
    Sensor.objects.bulk_create(sensors)
    return list(Sensor.objects.select_related("vault", "kind").order_by("pk"))


def value_for(sensor, i: int) -> float:
    base = 20.0 if sensor.kind.code == "temperature" else 52.0
    return round(base + ((i * 7 + sensor.pk) % 20) / 20, 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"port {port} did not open")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- HTTP batch endpoint ----------------------------------------------------------------------


def bench_ingest(args) -> dict:
    data_dir, env = fresh("ingest")
    django_setup(env)
    from lantai.vault import services_env

    sensors = make_sensors()
    _device, token = services_env.issue_token(None, "bench")
    port = free_port()
    server = subprocess.Popen(
        [LANTAI, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        ticks = args.readings // len(sensors)
        per_batch = max(1, args.batch // len(sensors))
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=ticks + 5)
        bodies = []
        for first in range(0, ticks, per_batch):
            readings = []
            for tick in range(first, min(first + per_batch, ticks)):
                ts = (start + timedelta(minutes=tick)).isoformat()
                readings.extend(
                    {"sensor": s.code, "ts": ts, "value": value_for(s, tick)} for s in sensors
                )
            bodies.append(json.dumps({"readings": readings}).encode())
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        accepted = 0
        times = []
        began = time.perf_counter()
        for body in bodies:
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/vault/readings", body=body, headers=headers)
            response = conn.getresponse()
            result = json.loads(response.read())
            if response.status != 200:
                raise SystemExit(f"HTTP {response.status}: {result}")
            accepted += result["accepted"]
            times.append(time.perf_counter() - t0)
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        elapsed = time.perf_counter() - began
    finally:
        stop(server)
    stored = (
        sqlite3.connect(data_dir / "lantai.sqlite3")
        .execute("SELECT COUNT(*) FROM vault_reading")
        .fetchone()[0]
    )
    return {
        "readings": accepted,
        "stored": stored,
        "batches": len(bodies),
        "batch_size": per_batch * len(sensors),
        "seconds": round(elapsed, 2),
        "readings_per_second": round(accepted / elapsed),
        "batch_ms_median": round(statistics.median(times) * 1000, 1),
        "batch_ms_p95": round(sorted(times)[int(len(times) * 0.95) - 1] * 1000, 1),
        "target": 20000,
    }


# --- MQTT ----------------------------------------------------------------------------------------


def start_broker() -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="lantai-bench-mqtt-"))
    os.chmod(tmp, 0o777)  # noqa: S103 - mosquitto drops to its own user and persists here
    conf = tmp / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
        f"persistence_location {tmp}/\nmax_queued_messages 0\n"
        "log_dest none\n"
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([binary, "-c", str(conf)])
    wait_port(port)
    return proc, port, tmp


def count(data_dir: Path, sql: str) -> int:
    db = sqlite3.connect(data_dir / "lantai.sqlite3", timeout=30)
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


def start_consumer(env, port: int, client_id: str = "", wait: bool = True) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            LANTAI,
            "vault",
            "consume",
            "--url",
            f"mqtt://127.0.0.1:{port}",
            "--client-id",
            client_id or f"bench-{uuid.uuid4().hex[:6]}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    if wait:
        time.sleep(2.0)  # connected and subscribed
    return proc


def bench_mqtt(args) -> dict:
    data_dir, env = fresh("mqtt")
    django_setup(env)
    from lantai.vault.mqtt import BrokerConfig, Publisher

    sensors = make_sensors()
    broker, port, tmp = start_broker()
    client_id = f"bench-{uuid.uuid4().hex[:6]}"
    consumer = start_consumer(env, port, client_id)
    publisher = Publisher(BrokerConfig("127.0.0.1", port), client_id="bench-pub", max_inflight=2000)
    try:
        publisher.wait_connected()
        ticks = args.readings // len(sensors)
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=ticks + 5)
        payloads = []
        for tick in range(ticks):
            ts = (start + timedelta(minutes=tick)).isoformat()
            payloads.extend(
                (s.vault.code, s.code, {"ts": ts, "value": value_for(s, tick)}) for s in sensors
            )
        total = len(payloads)
        began = time.perf_counter()
        for vault, sensor, payload in payloads:
            publisher.publish(vault, sensor, payload)
        published = time.perf_counter() - began
        while True:
            stored = count(data_dir, "SELECT COUNT(*) FROM vault_reading")
            if stored >= total or time.perf_counter() - began > 600:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - began
        # Second run: the consumer is away while the same number of readings is published (the
        # broker queues them in the persistent session), then drains the backlog alone. This
        # measures the consumer without the publisher competing for the same two cores.
        stop(consumer)
        later = start + timedelta(minutes=ticks)
        for tick in range(ticks):
            ts = (later + timedelta(seconds=tick)).isoformat()
            for s in sensors:
                publisher.publish(s.vault.code, s.code, {"ts": ts, "value": value_for(s, tick)})
        publisher.flush(600)
        began = time.perf_counter()
        consumer = start_consumer(env, port, client_id, wait=False)
        while True:
            drained = count(data_dir, "SELECT COUNT(*) FROM vault_reading") - stored
            if drained >= total or time.perf_counter() - began > 600:
                break
            time.sleep(0.1)
        drain_seconds = time.perf_counter() - began
    finally:
        publisher.close()
        stop(consumer)
        stop(broker)
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "messages": total,
        "one_reading_per_message": True,
        "live": {
            "stored": stored,
            "publish_seconds": round(published, 2),
            "seconds": round(elapsed, 2),
            "readings_per_second": round(stored / elapsed),
        },
        "backlog_drain": {
            "stored": drained,
            "seconds_including_consumer_start": round(drain_seconds, 2),
            "readings_per_second": round(drained / drain_seconds),
        },
        "target": 5000,
    }


# --- alarm latency ----------------------------------------------------------------------------


def bench_latency(args) -> dict:
    data_dir, env = fresh("latency")
    django_setup(env)
    from lantai.vault.mqtt import BrokerConfig, Publisher

    sensors = make_sensors(40)
    broker, port, tmp = start_broker()
    consumer = start_consumer(env, port)
    publisher = Publisher(BrokerConfig("127.0.0.1", port), client_id="bench-lat")
    latencies = []
    try:
        publisher.wait_connected()
        for i, sensor in enumerate(sensors[: args.samples]):
            hot = 30.0 if sensor.kind.code == "temperature" else 75.0
            t0 = time.perf_counter()
            publisher.publish(
                sensor.vault.code, sensor.code, {"ts": datetime.now(UTC).isoformat(), "value": hot}
            )
            while (
                count(data_dir, f"SELECT COUNT(*) FROM vault_alarm WHERE sensor_id = {sensor.pk}")
                == 0
            ):
                if time.perf_counter() - t0 > 10:
                    raise SystemExit(f"no alarm after 10 s (sample {i})")
                time.sleep(0.005)
            latencies.append(time.perf_counter() - t0)
            time.sleep(0.05)
    finally:
        publisher.close()
        stop(consumer)
        stop(broker)
        shutil.rmtree(tmp, ignore_errors=True)
    latencies.sort()
    return {
        "samples": len(latencies),
        "path": "MQTT publish → consumer → ingest transaction → alarm row seen by another "
        "connection",
        "median_s": round(statistics.median(latencies), 3),
        "p95_s": round(latencies[int(len(latencies) * 0.95) - 1], 3),
        "max_s": round(latencies[-1], 3),
        "target_s": 1.0,
    }


# --- chart ----------------------------------------------------------------------------------------


def bench_chart(args) -> dict:
    data_dir = OUT / f"vault-chart-{args.sensors}x{args.days}"
    env = env_for(data_dir)
    path = data_dir / "lantai.sqlite3"
    marker = data_dir / "loaded"
    if not marker.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        subprocess.run([LANTAI, "migrate", "-v", "0"], env=env, check=True)
        django_setup(env)
        sensors = make_sensors(args.sensors)
        ids = [s.pk for s in sensors]
        from django.db import connections

        connections.close_all()
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-1000000")
        end = datetime.now(UTC).replace(second=0, microsecond=0)
        minutes = args.days * 1440
        start = end - timedelta(minutes=minutes)
        rng = random.Random(1)
        began = time.perf_counter()
        # Time-major, as the readings arrive in real life: every minute, every sensor.
        chunk = 1440
        for first in range(0, minutes, chunk):
            rows = []
            for m in range(first, min(first + chunk, minutes)):
                ts = (start + timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:%S")
                rows.extend((sid, ts, 20 + rng.random()) for sid in ids)
            db.executemany(
                "INSERT INTO vault_reading (sensor_id, ts, value) VALUES (?, ?, ?)", rows
            )
            db.commit()
            if first % (chunk * 30) == 0:
                done = first / minutes
                print(f"  loaded {done:.0%} in {time.perf_counter() - began:.0f} s", flush=True)
        db.execute("ANALYZE")
        db.commit()
        db.close()
        marker.write_text(str(round(time.perf_counter() - began)))
    django_setup(env)
    from lantai.vault import services_env
    from lantai.vault.models import Reading, Sensor

    total = count(data_dir, "SELECT MAX(id) FROM vault_reading")
    sensors = list(Sensor.objects.select_related("kind", "vault").order_by("?")[:5])
    timings = []
    points = 0
    for sensor in sensors:
        for _ in range(3):
            t0 = time.perf_counter()
            data = services_env.series(None, sensor, "30d")
            body = json.dumps(data)
            timings.append(time.perf_counter() - t0)
            points = len(data["points"])
    plan = Reading.objects.filter(sensor=sensors[0], ts__gte=datetime.now(UTC)).explain()
    timings.sort()
    return {
        "sensors": args.sensors,
        "days": args.days,
        "rows": total,
        "database_gb": round(path.stat().st_size / 1e9, 2),
        "points": points,
        "json_bytes": len(body),
        "first_ms": round(timings[0] * 1000, 1),
        "median_ms": round(statistics.median(timings) * 1000, 1),
        "max_ms": round(timings[-1] * 1000, 1),
        "what": "services_env.series(sensor, '30d') and json.dumps of its result",
        "plan": plan,
        "target_ms": 200,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("ingest")
    p.add_argument("--readings", type=int, default=400_000)
    p.add_argument("--batch", type=int, default=5000)
    p = sub.add_parser("mqtt")
    p.add_argument("--readings", type=int, default=100_000)
    p = sub.add_parser("latency")
    p.add_argument("--samples", type=int, default=40)
    p = sub.add_parser("chart")
    p.add_argument("--sensors", type=int, default=SENSORS)
    p.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    result = {"machine": machine(), **globals()[f"bench_{args.what}"](args)}
    save(f"vault-{args.what}", result)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
