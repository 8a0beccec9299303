"""MQTT consumer and publisher for vault sensor readings (see docs/vault-sensors.md).

Topic: ``lantai/vault/<vault code>/<sensor code>``. Payload (UTF-8 JSON), either one reading
``{"ts": "2026-05-01T08:00:00+08:00", "value": 21.4}`` or several of the same sensor
``{"readings": [{"ts": ..., "value": ...}, ...]}`` (or a bare list of them).

Delivery: QoS 1 with a persistent session under a fixed client id (MQTT 5: clean start off and
a session that outlives the connection; MQTT 3.1.1: clean_session=False). Messages are
acknowledged by hand *after* the transaction storing them has committed, so a message is
acknowledged only once it is in the database: if the consumer, the database or the broker
goes away in between, the broker delivers it again and the duplicate is recognised by its
(sensor, timestamp). paho reconnects with exponential backoff (1 s doubling to 30 s).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from django.db import InterfaceError, OperationalError, close_old_connections
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from lantai.vault import services_env
from lantai.vault.services_env import IngestResult, Outcome

logger = logging.getLogger("lantai.vault.mqtt")

TOPIC_ROOT = "lantai/vault"
SUBSCRIPTION = f"{TOPIC_ROOT}/+/+"
#: MQTT 5 session expiry: a week without the consumer before the broker forgets its queue.
SESSION_EXPIRY = 7 * 24 * 3600
#: How many unacknowledged messages the broker may have in flight to the consumer (MQTT 5).
RECEIVE_MAXIMUM = 4000
#: A publisher waits while this many of its messages await the broker's acknowledgement.
MAX_PENDING = 20000


def topic_for(vault_code: str, sensor_code: str) -> str:
    return f"{TOPIC_ROOT}/{vault_code}/{sensor_code}"


def parse_topic(topic: str) -> tuple[str, str] | None:
    parts = topic.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != TOPIC_ROOT or not parts[2] or not parts[3]:
        return None
    return parts[2], parts[3]


@dataclass(frozen=True)
class BrokerConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def from_url(cls, url: str) -> BrokerConfig:
        """``mqtt://[user:password@]host[:port]`` or ``mqtts://`` for TLS."""
        parsed = urlparse(url)
        if parsed.scheme not in {"mqtt", "mqtts", "tcp", "ssl"}:
            raise ValueError(f"MQTT 地址应以 mqtt:// 或 mqtts:// 开头：{url}")
        tls = parsed.scheme in {"mqtts", "ssl"}
        return cls(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (8883 if tls else 1883),
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            tls=tls,
        )


def decode(topic: str, payload: bytes) -> tuple[list[dict], IngestResult]:
    """The readings in one message, and the refusals found while decoding it."""
    refused = IngestResult()
    where = parse_topic(topic)
    if where is None:
        refused.received += 1
        refused.refuse(None, Outcome.MALFORMED, detail=f"主题不正确：{topic[:100]}")
        return [], refused
    vault_code, sensor_code = where
    try:
        data: Any = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        refused.received += 1
        refused.refuse(
            None,
            Outcome.MALFORMED,
            sensor=sensor_code,
            detail="消息不是有效的 UTF-8 JSON",
            raw=repr(payload[:200]),
        )
        return [], refused
    readings = services_env.parse_batch(data)
    if readings is None:
        refused.received += 1
        refused.refuse(None, Outcome.MALFORMED, sensor=sensor_code, raw=data)
        return [], refused
    out: list[dict] = []
    for item in readings:
        if isinstance(item, dict):
            # The topic names the sensor and its vault; the payload cannot redirect a reading.
            item = {**item, "sensor": sensor_code, "vault": vault_code}
        out.append(item)
    return out, refused


@dataclass
class _Message:
    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes


class Consumer:
    """Reads readings from the broker and stores them in batches.

    ``run()`` blocks until ``stop()``; paho's network thread receives, this thread stores and
    acknowledges. Nothing a message contains can stop it: bad input is refused and counted.
    While the database is unreachable the batch stays unacknowledged and is retried until it
    is back; any other error retries the batch, then its messages one by one, and sets aside
    (counts as malformed) only the message that still cannot be stored.
    """

    def __init__(
        self,
        broker: BrokerConfig,
        *,
        client_id: str = "lantai-vault-consumer",
        protocol: str = "5",
        batch_size: int = 2000,
        flush_seconds: float = 0.1,
        keepalive: int = 30,
        session_expiry: int = SESSION_EXPIRY,
    ) -> None:
        self.broker = broker
        self.session_expiry = session_expiry
        self.client_id = client_id
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.keepalive = keepalive
        self.v5 = protocol == "5"
        self.totals: Counter = Counter()
        self.messages = 0
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.connections = 0
        self._stop = threading.Event()
        self._queue: queue.Queue[_Message] = queue.Queue()
        self._generation = 0
        self._lock = threading.Lock()
        self.client = self._make_client()

    # --- paho side -------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        if self.v5:
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=self.client_id,
                protocol=mqtt.MQTTv5,
                manual_ack=True,
            )
        else:
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=self.client_id,
                clean_session=False,
                protocol=mqtt.MQTTv311,
                manual_ack=True,
            )
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _connect_properties(self) -> Properties | None:
        if not self.v5:
            return None
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        return props

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            logger.warning("MQTT 连接被拒绝：%s", reason_code)
            return
        self.connections += 1
        logger.info(
            "MQTT 已连接 %s:%s（会话%s）",
            self.broker.host,
            self.broker.port,
            "已恢复" if flags.session_present else "为新建",
        )
        client.subscribe(SUBSCRIPTION, qos=1)
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._lock:
            # Message ids belong to a connection: never acknowledge old ones on a new one.
            self._generation += 1
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            logger.warning("MQTT 连接断开（%s），将自动重连", reason_code)

    def _on_message(self, client, userdata, message) -> None:
        self._queue.put(
            _Message(self._generation, message.mid, message.qos, message.topic, message.payload)
        )

    # --- storing side ----------------------------------------------------------------------

    def start(self) -> None:
        """Connect (retrying in the background until the broker answers) and start receiving."""
        self.client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=self.keepalive,
            clean_start=False,
            properties=self._connect_properties(),
        )
        self.client.loop_start()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()

    def run(self, *, stats_every: float = 60.0, on_stats=None) -> None:
        self.start()
        last_stats = time.monotonic()
        try:
            while not self._stop.is_set():
                batch = self._take_batch()
                if batch:
                    self._store(batch)
                if on_stats and time.monotonic() - last_stats >= stats_every:
                    on_stats(self)
                    last_stats = time.monotonic()
            # Store what already arrived before leaving; unacknowledged messages stay queued
            # at the broker anyway.
            while True:
                batch = self._take_batch(wait=False)
                if not batch:
                    break
                self._store(batch)
        finally:
            self.close()
            close_old_connections()

    def _take_batch(self, wait: bool = True) -> list[_Message]:
        batch: list[_Message] = []
        deadline = time.monotonic() + self.flush_seconds
        while len(batch) < self.batch_size:
            timeout = deadline - time.monotonic()
            try:
                if not wait or (batch and timeout <= 0):
                    batch.append(self._queue.get_nowait())
                else:
                    batch.append(self._queue.get(timeout=max(timeout, 0.001) if batch else 0.2))
            except queue.Empty:
                if batch or not wait or self._stop.is_set():
                    break
                deadline = time.monotonic() + self.flush_seconds
        return batch

    def _store(self, batch: list[_Message]) -> None:
        readings: list[dict] = []
        refused = IngestResult()
        for message in batch:
            items, bad = decode(message.topic, message.payload)
            readings.extend(items)
            refused.merge(bad)
        delay = 0.5
        attempts = 0
        outage = 0
        while True:
            try:
                close_old_connections()
                if readings:
                    result = services_env.ingest(readings, source="mqtt", pre_refused=refused)
                else:
                    result = refused
                    services_env.record_refusals(refused, source="mqtt")
                break
            except (OperationalError, InterfaceError):
                # The database is away (restart, failover, a long lock): wait for it however
                # long it takes. Nothing is acknowledged meanwhile, so the broker keeps the
                # messages even if the consumer is stopped; splitting the batch or setting
                # messages aside as unstorable here would lose readings that are fine.
                outage += 1
                if outage == 1 or outage % 20 == 0:
                    logger.exception("数据库不可用（第 %d 次），等待后重试", outage)
                if self._stop.wait(min(0.5 * 2 ** min(outage - 1, 6), 30)):
                    return
                continue
            except Exception:
                attempts += 1
                logger.exception("读数入库失败（第 %d 次），稍后重试", attempts)
                if attempts >= 3 and len(batch) > 1:
                    # Maybe one message makes the batch fail: take them one at a time.
                    for message in batch:
                        self._store([message])
                    return
                if attempts >= 3:
                    result = IngestResult(received=1)
                    result.refuse(None, Outcome.MALFORMED, detail="无法入库的消息")
                    try:
                        services_env.record_refusals(result, source="mqtt")
                    except Exception:
                        logger.exception("无法记录被拒消息")
                    break
                if self._stop.wait(delay):
                    return  # stopping: leave the batch unacknowledged for redelivery
                delay = min(delay * 2, 10)
        self.totals.update(result.counts)
        self.messages += len(batch)
        self._ack(batch)

    def _ack(self, batch: list[_Message]) -> None:
        with self._lock:
            generation = self._generation
        for message in batch:
            if message.qos > 0 and message.generation == generation:
                self.client.ack(message.mid, message.qos)


class Publisher:
    """A QoS 1 publisher with its own persistent session (the simulator, tests, benches).

    paho keeps unacknowledged messages and sends them again after a reconnect, and queues what
    is published while the broker is away, up to ``MAX_PENDING``; ``publish`` then waits."""

    def __init__(
        self,
        broker: BrokerConfig,
        *,
        client_id: str = "lantai-vault-simulator",
        max_inflight: int = 1000,
    ) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        if broker.username:
            self.client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            self.client.tls_set()
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.connected = threading.Event()
        self.client.on_connect = lambda *a: self.connected.set()
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.connect_async(broker.host, broker.port, keepalive=30)
        self.client.loop_start()

    def wait_connected(self, timeout: float = 10) -> bool:
        return self.connected.wait(timeout)

    def publish(
        self, vault_code: str, sensor_code: str, payload: dict | list
    ) -> mqtt.MQTTMessageInfo:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return self.publish_raw(topic_for(vault_code, sensor_code), body)

    def publish_raw(self, topic: str, body: bytes | str) -> mqtt.MQTTMessageInfo:
        # Message ids are 16 bits: with 65,535 messages waiting for the broker's PUBACK, paho
        # would reuse an id and silently drop the older message. Wait instead (backpressure).
        while self.pending() >= MAX_PENDING:
            time.sleep(0.005)
        return self.client.publish(topic, body, qos=1)

    def pending(self) -> int:
        """Messages not yet acknowledged by the broker."""
        return len(self.client._out_messages)

    def flush(self, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while self.pending() and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.pending()

    def close(self) -> None:
        self.flush(10)
        self.client.disconnect()
        self.client.loop_stop()
