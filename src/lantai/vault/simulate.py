"""Realistic readings for the demo and the benches (``lantai vault simulate``).

Temperature and humidity follow a daily curve around the middle of the vault's range with
sensor noise; doors open in working hours; smoke, water and the rest stay quiet. With
``faults`` a small share of messages are the bad input a real installation sees: NaN, a
physically impossible value, a duplicate, an out-of-order or future timestamp, malformed JSON,
an unknown sensor.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from lantai.vault.models import Sensor
from lantai.vault.services_env import DOOR_KIND, HUMIDITY, TEMPERATURE, is_working_time

FAULTS = ("nan", "impossible", "duplicate", "out_of_order", "future", "malformed", "unknown")


@dataclass
class Message:
    """One reading to send: ``payload`` is a dict, or raw text for a malformed message."""

    vault: str
    sensor: str
    payload: dict | str
    fault: str = ""


def _base(sensor: Sensor) -> tuple[float, float]:
    vault = sensor.vault
    if sensor.kind.code == TEMPERATURE:
        low, high = float(vault.temp_min), float(vault.temp_max)
    elif sensor.kind.code == HUMIDITY:
        low, high = float(vault.rh_min), float(vault.rh_max)
    else:
        return 0.0, 0.0
    return (low + high) / 2, (high - low) / 8


def value_at(sensor: Sensor, ts: datetime, rng: random.Random) -> float:
    code = sensor.kind.code
    if code in (TEMPERATURE, HUMIDITY):
        middle, amplitude = _base(sensor)
        day = (ts.timestamp() % 86400) / 86400
        seed = (zlib.crc32(sensor.code.encode()) % 1000) / 1000
        value = middle + amplitude * math.sin(2 * math.pi * (day + seed)) + rng.gauss(0, 0.05)
        return round(value, 2)
    if code == DOOR_KIND:
        return 1.0 if is_working_time(sensor.vault, ts) and rng.random() < 0.02 else 0.0
    if sensor.kind.binary:
        return 0.0
    if code == "pm25":
        return round(max(0.0, 12 + rng.gauss(0, 3)), 1)
    if code in ("light", "uv"):
        return round(max(0.0, rng.gauss(20, 5)), 1)
    return round(max(0.0, rng.gauss(1, 0.5)), 1) if code in ("pest", "rodent") else 0.0


def stream(
    sensors: list[Sensor],
    start: datetime,
    *,
    interval: float = 60.0,
    ticks: int | None = None,
    faults: float = 0.0,
    seed: int = 1,
) -> Iterator[Message]:
    """Readings of every sensor every ``interval`` seconds from ``start``; ``faults`` is the
    share of messages replaced by bad input."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    tick = 0
    last: dict[str, dict] = {}
    while ticks is None or tick < ticks:
        ts = start + timedelta(seconds=interval * tick)
        for sensor in sensors:
            payload = {"ts": ts.isoformat(), "value": value_at(sensor, ts, rng)}
            fault = rng.choice(FAULTS) if faults and rng.random() < faults else ""
            if fault == "nan":
                payload["value"] = "NaN"
            elif fault == "impossible":
                payload["value"] = 999.0 if not sensor.kind.binary else 7
            elif fault == "duplicate" and sensor.code in last:
                payload = dict(last[sensor.code])
            elif fault == "out_of_order":
                payload["ts"] = (ts - timedelta(seconds=interval * 0.5)).isoformat()
            elif fault == "future":
                payload["ts"] = (ts + timedelta(days=2)).isoformat()
            elif fault == "malformed":
                yield Message(sensor.vault.code, sensor.code, '{"ts": "oops", value', fault)
                continue
            elif fault == "unknown":
                yield Message(sensor.vault.code, f"{sensor.code}-X", payload, fault)
                continue
            last[sensor.code] = payload
            yield Message(sensor.vault.code, sensor.code, payload, fault)
        tick += 1
