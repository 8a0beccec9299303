# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""Ingest of readings: every bad input is refused or flagged with a reason and counted."""

from __future__ import annotations

import io
from datetime import UTC, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from lantai.vault import services_env as env
from lantai.vault.models import Alarm, AlarmKind, IngestCounter, Reading, RejectedReading
from vault.env_world import envw, minutes_ago  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def counters(source: str) -> dict[str, int]:
    return dict(IngestCounter.objects.filter(source=source).values_list("outcome", "count"))


def test_good_readings_are_stored_and_update_the_sensor(envw):
    t1, t2 = minutes_ago(2), minutes_ago(1)
    result = env.ingest(
        [envw.reading(envw.temp, 20.5, t1), envw.reading(envw.temp, 20.7, t2)], source="http"
    )
    assert result.accepted == 2 and result.refused == 0
    assert list(
        Reading.objects.filter(sensor=envw.temp).order_by("ts").values_list("value", flat=True)
    ) == [20.5, 20.7]
    envw.temp.refresh_from_db()
    assert envw.temp.last_value == 20.7
    assert abs((envw.temp.last_seen_at - t2).total_seconds()) < 0.001
    assert counters("http") == {"accepted": 2}


@pytest.mark.parametrize(
    ("item", "outcome"),
    [
        ("not an object", "malformed"),
        ({"sensor": "K01-T1", "value": 20}, "malformed"),  # no ts
        ({"ts": "2026-01-01T00:00:00+08:00", "value": 20}, "malformed"),  # no sensor
        ({"sensor": "NOPE", "ts": None, "value": 20}, "unknown_sensor"),
        ({"sensor": "K01-T1", "ts": "yesterday", "value": 20}, "bad_time"),
        ({"sensor": "K01-T1", "ts": None, "value": "warm"}, "not_a_number"),
        ({"sensor": "K01-T1", "ts": None, "value": float("nan")}, "not_a_number"),
        ({"sensor": "K01-T1", "ts": None, "value": "NaN"}, "not_a_number"),
        ({"sensor": "K01-T1", "ts": None, "value": float("inf")}, "not_a_number"),
        ({"sensor": "K01-T1", "ts": None, "value": None}, "not_a_number"),
        ({"sensor": "K01-T1", "ts": None, "value": 20, "vault": "K02"}, "wrong_vault"),
    ],
)
def test_bad_readings_are_refused_with_a_reason(envw, item, outcome):
    if isinstance(item, dict) and item.get("ts", "x") is None:
        item["ts"] = minutes_ago(1).isoformat()
    result = env.ingest([item], source="mqtt")
    assert result.accepted == 0
    assert result.counts[outcome] == 1
    assert result.rejects[0]["reason"] == outcome and result.rejects[0]["message"]
    assert Reading.objects.count() == 0
    assert counters("mqtt") == {outcome: 1}
    sample = RejectedReading.objects.get()
    assert sample.reason == outcome and sample.source == "mqtt"
    # A refusal is never an environment alarm.
    assert not Alarm.objects.exists()


# Hostile items as a gateway might really send them (raw JSON text, so integers with hundreds
# of digits reach the server as Python ints): each is refused with its reason, none fails the
# batch, and the good reading beside them is stored.
HOSTILE = [
    ('{"sensor": ["K01-T1"], "ts": "2026-01-01T00:00:00+08:00", "value": 1}', "malformed"),
    ('{"sensor": {"code": "K01-T1"}, "ts": "2026-01-01T00:00:00+08:00", "value": 1}', "malformed"),
    ('{"sensor": "K01-T1", "ts": 1' + "0" * 400 + ', "value": 1}', "bad_time"),
    ('{"sensor": "K01-T1", "ts": 1e300, "value": 1}', "bad_time"),
    ('{"sensor": "K01-T1", "ts": "9999-12-31T23:59:59-01:00", "value": 1}', "bad_time"),
    ('{"sensor": "K01-T1", "ts": "0001-01-01T00:00:00+01:00", "value": 1}', "bad_time"),
    ('{"sensor": "K01-T1", "ts": "0001-01-01T00:00:00", "value": 1}', "bad_time"),
    ('{"sensor": "K01-T1", "ts": [1], "value": 1}', "bad_time"),
    ('{"sensor": "K01-T1", "ts": "@TS@", "value": 1' + "0" * 400 + "}", "not_a_number"),
    ('{"sensor": "K01-T1", "ts": "@TS@", "value": 1e400}', "not_a_number"),
    ('{"sensor": "K01-T1", "ts": "@TS@", "value": [21]}', "not_a_number"),
]


@pytest.mark.parametrize(("raw", "outcome"), HOSTILE)
def test_hostile_items_are_refused_never_raised(envw, raw, outcome):
    import json

    from django.test import Client

    item = json.loads(raw.replace("@TS@", minutes_ago(2).isoformat()))
    result = env.ingest([item, envw.reading(envw.hum, 50, minutes_ago(1))], source="mqtt")
    assert result.counts == {outcome: 1, "accepted": 1}
    assert result.rejects[0]["reason"] == outcome
    assert counters("mqtt") == {outcome: 1, "accepted": 1}
    # The same text through the HTTP endpoint: 200 with the reason, not a server error.
    _device, token = env.issue_token(None, "网关")
    body = '{"readings": [' + raw.replace("@TS@", minutes_ago(3).isoformat()) + "]}"
    r = Client().post(
        "/api/v1/vault/readings",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.content[:300]
    assert r.json()["counts"] == {outcome: 1}
    assert Reading.objects.count() == 1


def test_future_clock_is_refused_but_small_skew_is_tolerated(envw):
    result = env.ingest(
        [
            envw.reading(envw.temp, 20, timezone.now() + timedelta(hours=3)),
            envw.reading(envw.temp, 20, timezone.now() + timedelta(seconds=30)),
        ],
        source="http",
    )
    assert result.counts["future"] == 1 and result.accepted == 1
    assert "晚于当前时间" in result.rejects[0]["message"]


def test_inactive_sensor_and_token_vault_scope(envw):
    envw.hum.active = False
    envw.hum.save()
    result = env.ingest(
        [envw.reading(envw.hum, 50), envw.reading(envw.other_temp, 20)],
        source="http",
        vault=envw.vault,
    )
    assert result.counts == {"inactive_sensor": 1, "wrong_vault": 1}


def test_impossible_value_is_a_sensor_fault_not_an_environment_alarm(envw):
    result = env.ingest(
        [envw.reading(envw.temp, 150.0), envw.reading(envw.smoke, 3)], source="http"
    )
    assert result.counts["impossible"] == 2 and result.accepted == 0
    alarms = Alarm.objects.order_by("sensor__code")
    assert [(a.sensor.code, a.kind) for a in alarms] == [
        ("K01-S1", AlarmKind.FAULT),
        ("K01-T1", AlarmKind.FAULT),
    ]
    assert "物理量程" in alarms[1].message
    assert not Alarm.objects.filter(kind__in=[AlarmKind.THRESHOLD, AlarmKind.SMOKE]).exists()


def test_duplicates_in_the_batch_and_against_stored_readings(envw):
    ts = minutes_ago(5)
    first = env.ingest([envw.reading(envw.temp, 20, ts)], source="mqtt")
    assert first.accepted == 1
    # One whole second, taken once: two calls could straddle a second boundary (a CI run saw
    # it), and a fractional time must differ from it.
    whole = minutes_ago(4).replace(microsecond=0)
    fractional = whole + timedelta(microseconds=250_000)
    again = env.ingest(
        [
            envw.reading(envw.temp, 20, ts),  # already stored
            envw.reading(envw.temp, 21, fractional),
            envw.reading(envw.temp, 21, whole),
            envw.reading(envw.temp, 21, whole),  # same again
        ],
        source="mqtt",
    )
    assert again.counts["duplicate"] == 2 and again.accepted == 2
    assert Reading.objects.filter(sensor=envw.temp).count() == 3


def test_out_of_order_readings_are_stored_and_flagged(envw):
    env.ingest([envw.reading(envw.temp, 20, minutes_ago(1))], source="http")
    result = env.ingest(
        [
            envw.reading(envw.temp, 19.5, minutes_ago(10)),
            envw.reading(envw.temp, 19.6, minutes_ago(0.5)),
        ],
        source="http",
    )
    assert result.accepted == 2 and result.counts["out_of_order"] == 1
    envw.temp.refresh_from_db()
    assert envw.temp.last_value == 19.6  # the late reading did not become "latest"
    assert counters("http")["out_of_order"] == 1 and counters("http")["accepted"] == 3


def test_timestamp_forms(envw):
    now = timezone.now().replace(microsecond=0)
    epoch_s = int((now - timedelta(minutes=3)).timestamp())
    epoch_ms = int((now - timedelta(minutes=2)).timestamp() * 1000)
    local_naive = timezone.localtime(now - timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    utc_z = (now - timedelta(seconds=30)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = env.ingest(
        [
            {"sensor": "K01-T1", "ts": epoch_s, "value": 20},
            {"sensor": "K01-T1", "ts": epoch_ms, "value": 20},
            {"sensor": "K01-T1", "ts": local_naive, "value": 20},
            {"sensor": "K01-T1", "ts": utc_z, "value": 20},
        ],
        source="http",
    )
    assert result.accepted == 4
    stored = sorted(Reading.objects.values_list("ts", flat=True))
    assert stored == [
        now - timedelta(minutes=3),
        now - timedelta(minutes=2),
        now - timedelta(minutes=1),
        now - timedelta(seconds=30),
    ]


def test_switch_values_and_binary_range(envw):
    result = env.ingest(
        [
            envw.reading(envw.door, False, minutes_ago(2)),
            envw.reading(envw.door, 0.5, minutes_ago(1)),
        ],
        source="http",
    )
    assert result.accepted == 1 and result.counts["impossible"] == 1


def test_people_need_manage_vault_to_post(envw):
    with pytest.raises(PermissionDenied):
        env.ingest([envw.reading(envw.temp, 20)], source="http", actor=envw.archivist)
    assert env.ingest([envw.reading(envw.temp, 20)], source="http", actor=envw.keeper).accepted == 1


def test_batch_size_limit(envw):
    with pytest.raises(ValidationError):
        env.ingest([{}] * (env.MAX_BATCH + 1), source="http")


def test_csv_import_counts_bad_lines_and_rolls_up(envw):
    base = timezone.now().replace(second=0, microsecond=0) - timedelta(days=3)
    lines = ["sensor,ts,value"]
    for i in range(30):
        lines.append(f"K01-T1,{(base + timedelta(minutes=i)).isoformat()},{20 + i / 100}")
    lines += [
        "K01-T1,not-a-time,20",
        "K01-T9,2026-01-01T00:00:00+08:00,20",
        "K01-T1,too,many,cells",
    ]
    result = env.import_csv(envw.keeper, io.StringIO("\n".join(lines) + "\n"))
    assert result.accepted == 30
    assert result.counts["bad_time"] == 1 and result.counts["unknown_sensor"] == 1
    assert result.counts["malformed"] == 1
    assert {r["line"] for r in result.rejects} == {32, 33, 34}
    assert envw.temp.rollups.filter(bucket_seconds=600).exists()
    with pytest.raises(ValidationError) as exc:
        env.import_csv(envw.keeper, io.StringIO("a,b,c\n"))
    assert "sensor,ts,value" in str(exc.value)
    with pytest.raises(PermissionDenied):
        env.import_csv(envw.archivist, io.StringIO("sensor,ts,value\n"))
