# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""The alarm engine: thresholds, rate, swing, silence, door, smoke and water; one open alarm per
condition; raised → acknowledged → resolved by whom and when; e-mail."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections
from django.utils import timezone

from lantai.audit.models import AuditAction, AuditEntry
from lantai.vault import services_env as env
from lantai.vault.models import Alarm, AlarmKind, AlarmStatus
from vault.env_world import envw, make_sensor, minutes_ago  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def local_weekday_at(hour: int, minute: int = 0) -> datetime:
    """The most recent past Monday-to-Friday moment at ``hour:minute`` local time."""
    now = timezone.localtime()
    day = now.date()
    while True:
        moment = timezone.make_aware(datetime.combine(day, time(hour, minute)))
        if moment < now - timedelta(minutes=5) and moment.weekday() < 5:
            return moment
        day -= timedelta(days=1)


def test_threshold_high_raises_one_alarm_for_repeated_readings(
    envw, django_capture_on_commit_callbacks
):
    readings = [envw.reading(envw.temp, 26 + i / 10, minutes_ago(10 - i)) for i in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        result = env.ingest(readings[:2], source="mqtt")
        assert len(result.alarms_raised) == 1
        env.ingest(readings[2:], source="mqtt")
    alarm = Alarm.objects.get()
    assert alarm.kind == AlarmKind.THRESHOLD and alarm.condition == "threshold:high"
    assert alarm.occurrences == 5 and alarm.status == AlarmStatus.RAISED
    assert alarm.value == pytest.approx(26.4)
    assert "高于上限 24" in alarm.message
    # The vault's keeper was told by e-mail, once.
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["keeper@example.org"]
    assert "一号库房" in mail.outbox[0].subject
    assert (
        AuditEntry.objects.filter(
            object_type="vault.alarm", object_id=str(alarm.pk), action=AuditAction.CREATE
        ).count()
        == 1
    )


def test_low_humidity_and_in_range_readings(envw):
    env.ingest(
        [envw.reading(envw.hum, 52, minutes_ago(3)), envw.reading(envw.temp, 20, minutes_ago(3))],
        source="http",
    )
    assert not Alarm.objects.exists()
    env.ingest([envw.reading(envw.hum, 40, minutes_ago(2))], source="http")
    alarm = Alarm.objects.get()
    assert alarm.condition == "threshold:low" and alarm.sensor == envw.hum


def test_sensor_limits_override_the_vault(envw):
    envw.temp.high = 30
    envw.temp.save()
    env.ingest([envw.reading(envw.temp, 26, minutes_ago(1))], source="http")
    assert not Alarm.objects.exists()


def test_smoke_and_water_at_once_at_any_hour(envw):
    env.ingest(
        [envw.reading(envw.smoke, 0, minutes_ago(2)), envw.reading(envw.water, 0, minutes_ago(2))],
        source="http",
    )
    assert not Alarm.objects.exists()
    env.ingest(
        [
            envw.reading(envw.smoke, 1, minutes_ago(1)),
            envw.reading(envw.water, True, minutes_ago(1)),
        ],
        source="http",
    )
    kinds = set(Alarm.objects.values_list("kind", flat=True))
    assert kinds == {AlarmKind.SMOKE, AlarmKind.WATER}


def test_door_open_out_of_hours_only(envw):
    env.ingest([envw.reading(envw.door, 1, local_weekday_at(10))], source="http")
    assert not Alarm.objects.exists()
    env.ingest([envw.reading(envw.door, 1, local_weekday_at(3))], source="http")
    alarm = Alarm.objects.get()
    assert alarm.kind == AlarmKind.DOOR and "非工作时间" in alarm.message


def test_rate_of_change(envw):
    # Slow drift: 0.2 °C in 20 minutes is fine.
    env.ingest(
        [
            envw.reading(envw.temp, 20.0, minutes_ago(21)),
            envw.reading(envw.temp, 20.2, minutes_ago(1)),
        ],
        source="http",
    )
    assert not Alarm.objects.exists()
    # 2 °C in 20 minutes = 6 °C per hour, over the default 3.
    env.ingest([envw.reading(envw.temp, 22.2, minutes_ago(0.5))], source="http")
    alarm = Alarm.objects.get()
    assert alarm.kind == AlarmKind.RATE and "每小时变化" in alarm.message


def test_daily_swing_and_silent_sensor_are_watched(envw):
    now = timezone.now()
    # ±2.5 °C over the day (17.5 … 22.5), every reading inside 14–24.
    env.ingest(
        [
            envw.reading(envw.temp, v, now - timedelta(hours=h))
            for h, v in [(20, 17.5), (10, 22.5), (0.02, 20)]
        ],
        source="http",
    )
    env.ingest([envw.reading(envw.hum, 50, now - timedelta(minutes=30))], source="http")
    assert not Alarm.objects.exists()
    result = env.watch(now=now)
    kinds = set(Alarm.objects.values_list("sensor__code", "kind"))
    assert kinds == {("K01-T1", AlarmKind.SWING), ("K01-H1", AlarmKind.SILENT)}
    assert result == {"conditions": 2, "raised": 2}
    # Watching again counts, it does not raise anew.
    env.watch(now=now + timedelta(minutes=1))
    assert Alarm.objects.count() == 2
    assert Alarm.objects.get(kind=AlarmKind.SILENT).occurrences == 2


def test_acknowledge_then_resolve_with_notes(envw):
    env.ingest([envw.reading(envw.water, 1, minutes_ago(1))], source="http")
    alarm = Alarm.objects.get()
    with pytest.raises(PermissionDenied):
        env.acknowledge(envw.archivist, alarm)
    with pytest.raises(ValidationError) as exc:
        env.resolve(envw.keeper, alarm, "已处理")
    assert "请先确认" in str(exc.value)
    env.acknowledge(envw.keeper, alarm, "正在前往库房")
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.ACKNOWLEDGED and alarm.acknowledged_by == envw.keeper
    assert alarm.acknowledged_at is not None and alarm.acknowledge_note == "正在前往库房"
    with pytest.raises(ValidationError):
        env.acknowledge(envw.keeper, alarm)
    with pytest.raises(ValidationError) as exc:
        env.resolve(envw.keeper, alarm, "  ")
    assert "处置说明" in str(exc.value)
    env.resolve(envw.keeper, alarm, "空调冷凝水管漏水，已修复并擦干")
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.RESOLVED and alarm.resolved_by == envw.keeper
    assert alarm.resolved_at >= alarm.acknowledged_at and alarm.open_key is None
    entries = AuditEntry.objects.filter(
        object_type="vault.alarm", object_id=str(alarm.pk), action=AuditAction.UPDATE
    )
    assert entries.count() == 2 and {e.actor_id for e in entries} == {envw.keeper.pk}
    # The same condition later is a new alarm.
    env.ingest([envw.reading(envw.water, 1, minutes_ago(0.5))], source="http")
    assert Alarm.objects.filter(kind=AlarmKind.WATER).count() == 2
    assert Alarm.objects.filter(kind=AlarmKind.WATER, status=AlarmStatus.RAISED).count() == 1


def test_alarm_appears_within_a_second_of_the_reading(envw):
    import time as clock

    started = clock.perf_counter()
    env.ingest([envw.reading(envw.temp, 30)], source="http")
    assert Alarm.objects.filter(kind=AlarmKind.THRESHOLD).exists()
    assert clock.perf_counter() - started < 1.0


def test_no_mail_configured_recipients_fall_back_to_handlers(envw):
    envw.vault.keepers.clear()
    assert env.alarm_recipients(envw.vault) == ["keeper@example.org"]  # still a keeper by role


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_open_one_alarm(envw):
    errors = []

    def post(offset: float) -> None:
        try:
            env.ingest([envw.reading(envw.temp, 30, minutes_ago(offset))], source="http")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=post, args=(i / 10,)) for i in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    alarm = Alarm.objects.get()
    assert alarm.occurrences == 6


def test_mould_risk():
    assert env.mould_risk(25, 85)["level"] == "high"
    assert env.mould_risk(25, 72)["level"] == "medium"
    assert env.mould_risk(20, 50)["level"] == "low"
    assert env.mould_risk(-5, 95)["level"] == "low"
    assert env.mould_risk(None, 50)["level"] == "unknown"
    # Colder air needs damper conditions (VTT isopleth): 85 %RH is fine at 5 °C but not 25 °C.
    assert env.critical_rh(5) > 85 > env.critical_rh(25) == 80
