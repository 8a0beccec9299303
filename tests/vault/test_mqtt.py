# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""The MQTT consumer against a real Mosquitto: readings stored, bad messages counted, and no
QoS 1 message lost when the broker restarts in the middle of a stream."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import close_old_connections
from django.utils import timezone

from lantai.core.testing import service_missing
from lantai.vault.models import Alarm, AlarmKind, IngestCounter, Reading
from lantai.vault.mqtt import BrokerConfig, Consumer, Publisher, decode, parse_topic, topic_for
from vault.env_world import envw  # noqa: F401  (fixtures)

# One worker for the module: its consumers subscribe to lantai/vault/# on the shared broker,
# so a test running on another xdist worker at the same time would feed them its readings.
pytestmark = [
    pytest.mark.mqtt,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("mqtt-shared-broker"),
]


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


class Running:
    """A consumer running in a thread, as ``lantai vault consume`` runs it."""

    def __init__(self, host: str, port: int, **kwargs):
        self.consumer = Consumer(
            BrokerConfig(host, port),
            client_id=f"lantai-test-{uuid.uuid4().hex[:8]}",
            session_expiry=300,
            flush_seconds=0.05,
            **kwargs,
        )
        self.thread = threading.Thread(target=self.consumer.run, daemon=True)

    def __enter__(self) -> Consumer:
        self.thread.start()
        assert self.consumer.subscribed.wait(15), "consumer did not subscribe"
        return self.consumer

    def __exit__(self, *exc) -> None:
        self.consumer.stop()
        self.thread.join(15)
        assert not self.thread.is_alive()


def test_topics():
    assert topic_for("K01", "K01-T1") == "lantai/vault/K01/K01-T1"
    assert parse_topic("lantai/vault/K01/K01-T1") == ("K01", "K01-T1")
    assert parse_topic("lantai/vault/K01") is None
    assert parse_topic("other/vault/K01/T") is None
    items, refused = decode("lantai/vault/K01/T1", b'{"readings": [{"ts": 1, "value": 2}]}')
    assert items == [{"ts": 1, "value": 2, "sensor": "T1", "vault": "K01"}] and not refused.counts
    items, refused = decode("lantai/vault/K01/T1", b"\xff\xfe")
    assert not items and refused.counts["malformed"] == 1


def test_consumer_stores_readings_and_counts_bad_messages(envw, mqtt_broker):
    host, port = mqtt_broker
    publisher = Publisher(BrokerConfig(host, port), client_id=f"pub-{uuid.uuid4().hex[:8]}")
    assert publisher.wait_connected()
    base = timezone.now() - timedelta(minutes=30)
    try:
        with Running(host, port) as consumer:
            for i in range(20):
                ts = (base + timedelta(minutes=i)).isoformat()
                publisher.publish("K01", "K01-T1", {"ts": ts, "value": 20 + i / 100})
            publisher.publish(
                "K01", "K01-H1", {"readings": [{"ts": base.isoformat(), "value": 50}]}
            )
            publisher.publish_raw(topic_for("K01", "K01-T1"), "{not json")
            publisher.publish("K01", "K01-T1", {"ts": base.isoformat(), "value": "NaN"})
            publisher.publish("K01", "K01-T1", {"ts": base.isoformat(), "value": 20})  # duplicate
            publisher.publish("K01", "NOPE", {"ts": base.isoformat(), "value": 20})
            publisher.publish("K02", "K01-T1", {"ts": base.isoformat(), "value": 20})  # wrong vault
            publisher.publish(
                "K01", "K01-T1", {"ts": (base + timedelta(days=3)).isoformat(), "value": 20}
            )
            publisher.publish("K01", "K01-S1", {"ts": timezone.now().isoformat(), "value": 1})
            publisher.flush()
            assert wait_for(lambda: consumer.messages >= 28), consumer.totals
        # Own readings only (their exact times): the shared broker may still carry another
        # test's late traffic for the same sensor names, and the counters count it too.
        own = [base + timedelta(minutes=i) for i in range(20)]
        assert Reading.objects.filter(sensor=envw.temp, ts__in=own).count() == 20
        assert Reading.objects.filter(sensor=envw.hum, ts=base).count() == 1
        counts = dict(IngestCounter.objects.filter(source="mqtt").values_list("outcome", "count"))
        expected = {
            "accepted": 22,
            "malformed": 1,
            "not_a_number": 1,
            "duplicate": 1,
            "unknown_sensor": 1,
            "wrong_vault": 1,
            "future": 1,
        }
        assert all(counts.get(outcome, 0) >= n for outcome, n in expected.items()), counts
        assert Alarm.objects.filter(kind=AlarmKind.SMOKE).count() >= 1
    finally:
        publisher.close()


def test_hostile_messages_are_counted_with_their_reason_and_the_stream_goes_on(envw, mqtt_broker):
    """Payloads that once made the batch's transaction fail (integers of hundreds of digits,
    dates that overflow in UTC) and other odd shapes: each is refused with its own reason at
    once, the readings around them are stored, the consumer keeps running."""
    host, port = mqtt_broker
    publisher = Publisher(BrokerConfig(host, port), client_id=f"pub-{uuid.uuid4().hex[:8]}")
    assert publisher.wait_connected()
    base = timezone.now() - timedelta(minutes=30)
    topic = topic_for("K01", "K01-T1")
    hostile = [
        ('{"ts": 1' + "0" * 400 + ', "value": 20}', "bad_time"),
        ('{"ts": "9999-12-31T23:59:59-01:00", "value": 20}', "bad_time"),
        ('{"ts": "@TS@", "value": 1' + "0" * 400 + "}", "not_a_number"),
        ('{"ts": "@TS@", "value": 1e999}', "not_a_number"),
        ('{"ts": "@TS@", "value": 150}', "impossible"),
        ('{"readings": "none"}', "malformed"),
        ("[1, 2]", "malformed"),
        ('"just text"', "malformed"),
        ("", "malformed"),
    ]
    try:
        with Running(host, port) as consumer:
            for i, (body, _reason) in enumerate(hostile):
                ts = (base + timedelta(minutes=i, seconds=30)).isoformat()
                publisher.publish_raw(topic, body.replace("@TS@", ts))
                publisher.publish(
                    "K01", "K01-T1", {"ts": (base + timedelta(minutes=i)).isoformat(), "value": 20}
                )
            publisher.flush()
            assert wait_for(lambda: consumer.messages >= 2 * len(hostile)), consumer.totals
        # This test's own readings (sensor and time window: the shared broker may carry
        # another test's late traffic during a CI run).
        own = Reading.objects.filter(
            sensor=envw.temp, ts__gte=base, ts__lt=base + timedelta(minutes=len(hostile))
        )
        assert own.count() == len(hostile)
        counts = dict(IngestCounter.objects.filter(source="mqtt").values_list("outcome", "count"))
        expected: dict[str, int] = {"accepted": len(hostile)}
        for _body, reason in hostile:
            expected[reason] = expected.get(reason, 0) + 1
        # "[1, 2]" is a list of two readings that are not objects: two malformed readings.
        expected["malformed"] += 1
        assert all(counts.get(reason, 0) >= n for reason, n in expected.items()), counts
        assert Alarm.objects.filter(kind=AlarmKind.FAULT).count() == 1
        assert not Alarm.objects.exclude(kind=AlarmKind.FAULT).exists()
    finally:
        publisher.close()


def test_no_message_lost_while_the_database_is_away(envw, mqtt_broker, monkeypatch):
    """The database refuses connections for a few seconds (a PostgreSQL restart) while
    readings arrive: the consumer waits with the messages unacknowledged and stores every one
    once it is back — none set aside as unstorable, none counted twice."""
    from django.db import OperationalError

    from lantai.vault import services_env

    host, port = mqtt_broker
    real_ingest = services_env.ingest
    away_until = time.monotonic() + 4.0
    failures = []

    def ingest_while_away(*args, **kwargs):
        if time.monotonic() < away_until:
            failures.append(time.monotonic())
            raise OperationalError("connection to server failed: Connection refused")
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(services_env, "ingest", ingest_while_away)
    publisher = Publisher(BrokerConfig(host, port), client_id=f"pub-{uuid.uuid4().hex[:8]}")
    assert publisher.wait_connected()
    base = timezone.now() - timedelta(hours=1)
    total = 60
    try:
        with Running(host, port, batch_size=10) as consumer:
            for i in range(total):
                ts = (base + timedelta(minutes=i)).isoformat()
                publisher.publish("K01", "K01-T1", {"ts": ts, "value": 20})
            publisher.flush()
            assert wait_for(
                lambda: Reading.objects.filter(sensor=envw.temp, ts__gte=base).count() >= total,
                40,
            ), consumer.totals
            # On a slow machine the broker may deliver unacknowledged messages again (after a
            # reconnect): never fewer than were sent.
            assert consumer.messages >= total
        assert len(failures) >= 3  # it really did wait through the outage
        # Every one of this test's readings stored, once (counted in its own sensor and time
        # window: the shared broker may carry other traffic while a CI run goes on).
        window = Reading.objects.filter(
            sensor=envw.temp, ts__gte=base, ts__lt=base + timedelta(minutes=total)
        )
        assert window.count() == total
        assert sorted(window.values_list("ts", flat=True)) == [
            base + timedelta(minutes=i) for i in range(total)
        ]
    finally:
        publisher.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateBroker:
    """A Mosquitto of our own on a free port, with persistence, that the test may restart."""

    def __init__(self, tmp_path):
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.access(binary, os.X_OK):
            service_missing("Mosquitto", "mosquitto binary not found")
        self.binary = binary
        self.port = free_port()
        # Mosquitto started as root drops to the "mosquitto" user: it must be able to write
        # its persistence file (and log) here, or a restart loses what it had queued.
        # (pytest's own tmp_path sits below a root-only directory, so use one under /tmp.)
        tmp_path = Path(tempfile.mkdtemp(prefix="lantai-test-mqtt-"))
        os.chmod(tmp_path, 0o777)  # noqa: S103 - a private throw-away directory
        self.dir = tmp_path
        self.conf = tmp_path / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {tmp_path}/\n"
            "max_queued_messages 0\n"
            "max_inflight_messages 1000\n"
            "log_dest none\n"
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private mosquitto did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: mosquitto writes its persistence file
            self.proc.wait(10)

    def persisted(self) -> bool:
        return (self.dir / "mosquitto.db").exists()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.parametrize("protocol", ["3", "5"])
def test_no_message_lost_when_the_broker_restarts_mid_stream(envw, mqtt_broker, tmp_path, protocol):
    broker = PrivateBroker(tmp_path)
    broker.start()
    total = 3000
    base = timezone.now().replace(microsecond=0) - timedelta(days=2)
    publisher = Publisher(
        BrokerConfig("127.0.0.1", broker.port), client_id=f"pub-{uuid.uuid4().hex[:8]}"
    )
    try:
        assert publisher.wait_connected()
        with Running("127.0.0.1", broker.port, protocol=protocol) as consumer:
            sensors = ["K01-T1", "K01-H1", "K02-T1"]
            values = {"K01-T1": 20.0, "K01-H1": 50.0, "K02-T1": 19.0}
            for i in range(total):
                sensor = sensors[i % 3]
                ts = base + timedelta(seconds=60 * (i // 3))
                vault = sensor[:3]
                publisher.publish(vault, sensor, {"ts": ts.isoformat(), "value": values[sensor]})
                if i == total // 3:
                    # Let part of the stream through, then restart the broker under it.
                    time.sleep(0.3)
                    broker.stop()
                    assert broker.persisted(), "the broker could not write its persistence file"
                    time.sleep(1.0)
                    broker.start()
            assert publisher.flush(60), "publisher could not deliver"
            if not wait_for(lambda: Reading.objects.count() >= total, 60):
                have = set(Reading.objects.values_list("sensor__code", "ts"))
                missing = [
                    i
                    for i in range(total)
                    if (sensors[i % 3], base + timedelta(seconds=60 * (i // 3))) not in have
                ]
                pytest.fail(f"missing readings {missing[:20]} of {total}; {consumer.totals}")
            assert consumer.connections >= 2  # it did reconnect
        assert Reading.objects.count() == total
        counts = dict(IngestCounter.objects.filter(source="mqtt").values_list("outcome", "count"))
        # Redelivered messages are recognised as duplicates, never stored twice.
        assert counts["accepted"] == total
        assert set(counts) <= {"accepted", "duplicate"}
    finally:
        publisher.close()
        broker.remove()


def test_simulator_publishes_realistic_data_with_faults(envw, mqtt_broker):
    from django.core.management import call_command

    host, port = mqtt_broker
    with Running(host, port) as consumer:
        call_command(
            "vault",
            "simulate",
            "--mqtt",
            f"mqtt://{host}:{port}",
            "--vault",
            "K01",
            "--backfill-hours",
            "2",
            "--ticks",
            "40",
            "--rate",
            "2000",
            "--faults",
            "0.2",
        )
        assert wait_for(lambda: consumer.messages >= 5 * 40), consumer.totals
    counts = dict(IngestCounter.objects.filter(source="mqtt").values_list("outcome", "count"))
    assert sum(counts.values()) >= 200
    assert counts["accepted"] >= 120
    refusals = set(counts) - {"accepted", "out_of_order"}
    assert len(refusals) >= 4, counts
    temps = list(Reading.objects.filter(sensor=envw.temp).values_list("value", flat=True))
    assert temps and all(14 <= t <= 24 for t in temps)
