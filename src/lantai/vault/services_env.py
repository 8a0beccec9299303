"""Vault environment services 库房环境: sensors, readings, alarms, charts and reports.

Readings arrive from three doors, all of which end in ``ingest``:

* the MQTT consumer (``lantai vault consume``, ``vault.mqtt``), source ``"mqtt"``;
* the HTTP batch endpoint ``POST /api/v1/vault/readings`` (``api.vault``), source ``"http"``;
* CSV import (``import_csv``), source ``"csv"``.

``ingest`` checks every reading and gives each one an outcome (``Outcome``): stored
(``accepted``; a reading older than the sensor's newest is stored too but also counted as
``out_of_order``), or refused with a reason (malformed, unknown or retired sensor, not a number,
physically impossible, bad or future timestamp, duplicate). Outcomes are counted per day and
source (``IngestCounter``) and a sample of refusals is kept with its reason
(``RejectedReading``). A physically impossible value is a *sensor fault*: it is not stored and
raises a fault alarm, never an environment alarm.

The alarm engine runs inside the same transaction as the insert, so an alarm exists as soon as
the reading that caused it does: thresholds, rate of change, smoke and water at once, a door
opened outside working hours. Daily swing and silent sensors (missed heartbeat) are checked by
the periodic job ``watch`` (every minute). One open alarm per condition: ``Alarm.open_key`` is
unique while the alarm is open, so repeats only count ``occurrences``. People move an alarm
raised → acknowledged → resolved (with notes); both steps are audited.

Readings are kept ``settings.LANTAI_VAULT_RAW_DAYS`` days; ``rollup`` keeps min/avg/max per 10
minutes and per hour (periodic job ``maintain``), and ``prune`` drops what is past retention.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import math
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from lantai.audit.models import AuditAction
from lantai.audit.services import changes, record
from lantai.core.permissions import require
from lantai.vault.models import (
    Alarm,
    AlarmKind,
    AlarmStatus,
    DeviceToken,
    IngestCounter,
    Reading,
    ReadingRollup,
    RejectedReading,
    Sensor,
    SensorKind,
    Vault,
)

logger = logging.getLogger("lantai.vault")

VIEW_ENV = "vault.view_environment"
MANAGE = "vault.manage_vault"
HANDLE = "vault.handle_alarm"

#: Readings in one HTTP request / one call of ``ingest`` at most.
MAX_BATCH = 20_000
#: Rejected readings kept as samples per batch (all of them are counted).
REJECT_SAMPLES_PER_BATCH = 50
#: Rate of change is measured against the reading at least this long before.
RATE_WINDOW = timedelta(minutes=15)
#: ... and no older than this (after a long gap there is no rate to speak of).
RATE_MAX_GAP = timedelta(hours=2)
#: Default rate limits per hour by kind code, for sensors without their own.
DEFAULT_RATE_PER_HOUR = {"temperature": 3.0, "humidity": 10.0}
#: Kinds whose "1" is an emergency at any hour.
EMERGENCY_KINDS = {"smoke": AlarmKind.SMOKE, "water": AlarmKind.WATER}
DOOR_KIND = "door"
TEMPERATURE = "temperature"
HUMIDITY = "humidity"
ROLLUP_BUCKETS = (600, 3600)
SOURCES = ("mqtt", "http", "csv")


class Outcome:
    """What became of one reading. ``ACCEPTED`` and ``OUT_OF_ORDER`` are stored."""

    ACCEPTED = "accepted"
    OUT_OF_ORDER = "out_of_order"
    DUPLICATE = "duplicate"
    MALFORMED = "malformed"
    UNKNOWN_SENSOR = "unknown_sensor"
    INACTIVE_SENSOR = "inactive_sensor"
    WRONG_VAULT = "wrong_vault"
    NOT_A_NUMBER = "not_a_number"
    IMPOSSIBLE = "impossible"
    BAD_TIME = "bad_time"
    FUTURE = "future"


# Marked for makemessages here, translated where shown.
OUTCOME_LABELS = {
    Outcome.ACCEPTED: gettext_noop("已入库"),
    Outcome.OUT_OF_ORDER: gettext_noop("时间乱序（已入库）"),
    Outcome.DUPLICATE: gettext_noop("重复读数"),
    Outcome.MALFORMED: gettext_noop("格式错误"),
    Outcome.UNKNOWN_SENSOR: gettext_noop("未登记的传感器"),
    Outcome.INACTIVE_SENSOR: gettext_noop("传感器已停用"),
    Outcome.WRONG_VAULT: gettext_noop("传感器不属于该库房"),
    Outcome.NOT_A_NUMBER: gettext_noop("读数不是有效数字"),
    Outcome.IMPOSSIBLE: gettext_noop("超出物理量程（传感器故障）"),
    Outcome.BAD_TIME: gettext_noop("时间格式错误"),
    Outcome.FUTURE: gettext_noop("时间超前（设备时钟错误）"),
}
#: Outcomes that are refusals (not stored).
REFUSED = set(OUTCOME_LABELS) - {Outcome.ACCEPTED, Outcome.OUT_OF_ORDER}


def outcome_label(outcome: str) -> str:
    return _(OUTCOME_LABELS.get(outcome, outcome))


# --- small helpers ------------------------------------------------------------------------------


def _now() -> datetime:
    return timezone.now()


def raw_days() -> int:
    return max(1, int(settings.LANTAI_VAULT_RAW_DAYS))


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 text (an offset is recommended; without one the archive's local time zone is
    meant) or a Unix epoch number in seconds or milliseconds. None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            # A JSON integer may have hundreds of digits: converting it overflows.
            if not math.isfinite(value):
                return None
            seconds = value / 1000.0 if abs(value) >= 1e11 else float(value)
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return parse_timestamp(float(text))
        try:
            # fromisoformat (C) reads every ISO 8601 form devices send; parse_datetime is the
            # lenient fallback.
            parsed = datetime.fromisoformat(text)
        except ValueError:
            try:
                parsed = parse_datetime(text)
            except ValueError:
                return None
        if parsed is None:
            return None
        try:
            if timezone.is_naive(parsed):
                parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            # Year 1 or 9999 with an offset leaves datetime's range when moved to UTC.
            return None
    return None


def parse_value(value: Any) -> float | None:
    """A number (true/false read as 1/0 for switch sensors); None when it is not one."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    try:
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except (OverflowError, ValueError):
        # A JSON integer too large for a float is no reading either.
        return None
    return None


def _plain(dt: datetime) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M:%S")


def _working_hours(vault: Vault) -> tuple[time, time]:
    if vault.open_from and vault.open_until:
        return vault.open_from, vault.open_until
    start, _sep, end = settings.LANTAI_VAULT_WORK_HOURS.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def is_working_time(vault: Vault, ts: datetime) -> bool:
    """Monday to Friday within the vault's opening hours (or the archive's default hours)."""
    local = timezone.localtime(ts)
    start, end = _working_hours(vault)
    return local.weekday() < 5 and start <= local.time() < end


def limits_for(sensor: Sensor) -> tuple[float | None, float | None]:
    """Alarm limits: the sensor's own, else the vault's for temperature and humidity."""
    low, high = sensor.low, sensor.high
    code = sensor.kind.code
    if code == TEMPERATURE:
        low = float(sensor.vault.temp_min) if low is None else low
        high = float(sensor.vault.temp_max) if high is None else high
    elif code == HUMIDITY:
        low = float(sensor.vault.rh_min) if low is None else low
        high = float(sensor.vault.rh_max) if high is None else high
    return low, high


def max_rate_for(sensor: Sensor) -> float | None:
    if sensor.max_rate_per_hour is not None:
        return sensor.max_rate_per_hour
    return DEFAULT_RATE_PER_HOUR.get(sensor.kind.code)


# --- ingest -----------------------------------------------------------------------------------


@dataclass
class IngestResult:
    """What ``ingest`` made of a batch: counts per outcome and a sample of the refusals."""

    received: int = 0
    counts: Counter = field(default_factory=Counter)
    rejects: list[dict] = field(default_factory=list)
    alarms_raised: list[int] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.counts[Outcome.ACCEPTED]

    @property
    def refused(self) -> int:
        return sum(n for outcome, n in self.counts.items() if outcome in REFUSED)

    def refuse(self, index: int | None, outcome: str, sensor: str = "", detail: str = "", raw=""):
        self.counts[outcome] += 1
        if len(self.rejects) < REJECT_SAMPLES_PER_BATCH:
            self.rejects.append(
                {
                    "index": index,
                    "sensor": str(sensor)[:60],
                    "reason": outcome,
                    "message": detail or outcome_label(outcome),
                    "raw": raw if isinstance(raw, str) else _short(raw),
                }
            )

    def merge(self, other: IngestResult) -> None:
        self.received += other.received
        self.counts.update(other.counts)
        room = REJECT_SAMPLES_PER_BATCH - len(self.rejects)
        self.rejects.extend(other.rejects[: max(0, room)])
        self.alarms_raised.extend(other.alarms_raised)

    def as_dict(self) -> dict:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "refused": self.refused,
            "counts": {k: v for k, v in sorted(self.counts.items()) if v},
            "rejects": self.rejects,
            "alarms_raised": self.alarms_raised,
        }


def _short(raw: Any, limit: int = 300) -> str:
    try:
        import json

        text = json.dumps(raw, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(raw)
    return text[:limit]


@dataclass
class _Condition:
    """One alarm condition met by one or more readings of a batch."""

    vault_id: int
    sensor_id: int | None
    kind: str
    condition: str
    message: str
    value: float | None
    first: datetime
    last: datetime
    count: int = 1

    @property
    def open_key(self) -> str:
        owner = f"s{self.sensor_id}" if self.sensor_id else f"v{self.vault_id}"
        return f"{owner}:{self.condition}"


def _add_condition(found: dict[str, _Condition], cond: _Condition) -> None:
    existing = found.get(cond.open_key)
    if existing is None:
        found[cond.open_key] = cond
        return
    existing.count += cond.count
    if cond.last >= existing.last:
        existing.last, existing.value, existing.message = cond.last, cond.value, cond.message
    existing.first = min(existing.first, cond.first)


def ingest(
    readings: Iterable[Any],
    *,
    source: str,
    actor=None,
    vault: Vault | None = None,
    now: datetime | None = None,
    pre_refused: IngestResult | None = None,
) -> IngestResult:
    """Check, store and watch a batch of readings ``{"sensor": code, "ts": ..., "value": ...}``.

    ``vault`` limits the batch to that vault's sensors (a device token tied to a vault, or an
    MQTT topic naming one). ``actor`` None is a device or the consumer; a person needs
    ``vault.manage_vault``. ``pre_refused`` carries refusals found before (undecodable MQTT
    messages) so they are counted in the same transaction. Never raises for bad readings:
    each gets an outcome.
    """
    require(actor, MANAGE)
    now = now or _now()
    result = IngestResult()
    if pre_refused is not None:
        result.merge(pre_refused)
    items = readings if isinstance(readings, list) else list(readings)
    if len(items) > MAX_BATCH:
        raise ValidationError(
            {"readings": [_("一批最多 %(n)d 条读数。") % {"n": MAX_BATCH}]}, code="too_many"
        )
    result.received += len(items)
    # Only text can name a sensor; a list or object there is refused below as malformed.
    codes = {
        item["sensor"]
        for item in items
        if isinstance(item, dict) and isinstance(item.get("sensor"), str) and item["sensor"]
    }
    sensors = {
        s.code: s for s in Sensor.objects.select_related("kind", "vault").filter(code__in=codes)
    }
    future_limit = now + timedelta(seconds=settings.LANTAI_VAULT_FUTURE_SECONDS)
    valid: list[tuple[Sensor, datetime, float, int]] = []
    seen: set[tuple[int, datetime]] = set()
    faults: dict[str, _Condition] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            result.refuse(index, Outcome.MALFORMED, detail=_("读数应为 JSON 对象。"), raw=item)
            continue
        code = item.get("sensor")
        if not isinstance(code, str) or not code or "ts" not in item or "value" not in item:
            result.refuse(
                index,
                Outcome.MALFORMED,
                sensor=code if isinstance(code, str) else "",
                detail=_("读数须包含 sensor、ts、value 三项。"),
                raw=item,
            )
            continue
        sensor = sensors.get(code)
        if sensor is None:
            result.refuse(index, Outcome.UNKNOWN_SENSOR, code, raw=item)
            continue
        if not sensor.active:
            result.refuse(index, Outcome.INACTIVE_SENSOR, code, raw=item)
            continue
        if (vault is not None and sensor.vault_id != vault.pk) or (
            "vault" in item and item["vault"] != sensor.vault.code
        ):
            result.refuse(index, Outcome.WRONG_VAULT, code, raw=item)
            continue
        ts = parse_timestamp(item["ts"])
        if ts is None:
            result.refuse(index, Outcome.BAD_TIME, code, raw=item)
            continue
        if ts > future_limit:
            result.refuse(
                index,
                Outcome.FUTURE,
                code,
                detail=_("读数时间 %(ts)s 晚于当前时间。") % {"ts": _plain(ts)},
                raw=item,
            )
            continue
        value = parse_value(item["value"])
        if value is None or not math.isfinite(value):
            result.refuse(index, Outcome.NOT_A_NUMBER, code, raw=item)
            continue
        kind = sensor.kind
        impossible = (kind.physical_min is not None and value < kind.physical_min) or (
            kind.physical_max is not None and value > kind.physical_max
        )
        if kind.binary and value not in (0.0, 1.0):
            impossible = True
        if impossible:
            message = _("%(sensor)s 读数 %(value)s 超出物理量程，传感器可能故障") % {
                "sensor": sensor.code,
                "value": f"{value:g}",
            }
            result.refuse(index, Outcome.IMPOSSIBLE, code, detail=message, raw=item)
            _add_condition(
                faults,
                _Condition(
                    sensor.vault_id, sensor.pk, AlarmKind.FAULT, "fault", message, value, ts, ts
                ),
            )
            continue
        key = (sensor.pk, ts)
        if key in seen:
            result.refuse(index, Outcome.DUPLICATE, code, raw=item)
            continue
        seen.add(key)
        valid.append((sensor, ts, value, index))

    with transaction.atomic():
        stored = _store(valid, result) if valid else []
        conditions = _evaluate(stored, now) if stored else {}
        for cond in faults.values():
            _add_condition(conditions, cond)
        if conditions:
            result.alarms_raised = _raise(conditions.values())
        _count(result, source, now)
    return result


def _adapt_ts():
    """How a UTC datetime goes into raw SQL: SQLite stores Django's naive UTC text
    (what ``adapt_datetimefield_value`` makes, without its per-value overhead)."""
    if connection.vendor == "sqlite":
        return lambda ts: str(ts.astimezone(UTC).replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value


def _store(
    valid: list[tuple[Sensor, datetime, float, int]], result: IngestResult
) -> list[tuple[Sensor, datetime, float, bool]]:
    """Insert new readings; returns (sensor, ts, value, newest_so_far) of those stored."""
    sensor_ids = {s.pk for s, *_rest in valid}
    low = min(ts for _s, ts, _v, _i in valid)
    high = max(ts for _s, ts, _v, _i in valid)
    existing = set(
        Reading.objects.filter(sensor_id__in=sensor_ids, ts__gte=low, ts__lte=high).values_list(
            "sensor_id", "ts"
        )
    )
    fresh: list[tuple[Sensor, datetime, float, bool]] = []
    newest: dict[int, datetime | None] = {}
    for sensor, ts, value, index in valid:
        if (sensor.pk, ts) in existing:
            result.refuse(index, Outcome.DUPLICATE, sensor.code, raw={"ts": _plain(ts)})
            continue
        last = newest.get(sensor.pk, sensor.last_seen_at)
        in_order = last is None or ts > last
        if in_order:
            newest[sensor.pk] = ts
        else:
            result.counts[Outcome.OUT_OF_ORDER] += 1
        fresh.append((sensor, ts, value, in_order))
    if not fresh:
        return []
    adapt = _adapt_ts()
    table = connection.ops.quote_name(Reading._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (sensor_id, ts, value) VALUES (%s, %s, %s) "  # noqa: S608
            "ON CONFLICT (sensor_id, ts) DO NOTHING",
            [(s.pk, adapt(ts), v) for s, ts, v, _o in fresh],
        )
        inserted = cursor.rowcount
    # A concurrent writer may have stored some of the same readings meanwhile.
    if 0 <= inserted < len(fresh):
        result.counts[Outcome.DUPLICATE] += len(fresh) - inserted
        result.counts[Outcome.ACCEPTED] += inserted
    else:
        result.counts[Outcome.ACCEPTED] += len(fresh)
    latest: dict[int, tuple[datetime, float]] = {}
    for sensor, ts, value, in_order in fresh:
        if in_order:
            latest[sensor.pk] = (ts, value)
    sensor_table = connection.ops.quote_name(Sensor._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {sensor_table} SET last_value = %s, last_seen_at = %s "  # noqa: S608
            "WHERE id = %s AND (last_seen_at IS NULL OR last_seen_at < %s)",
            [(v, adapt(ts), pk, adapt(ts)) for pk, (ts, v) in latest.items()],
        )
    return fresh


def _evaluate(
    stored: list[tuple[Sensor, datetime, float, bool]], now: datetime
) -> dict[str, _Condition]:
    """The alarm conditions the stored readings meet (threshold, emergency, door, rate)."""
    found: dict[str, _Condition] = {}
    by_sensor: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    sensors: dict[int, Sensor] = {}
    facts: dict[int, tuple] = {}
    for sensor, ts, value, _in_order in stored:
        fact = facts.get(id(sensor))
        if fact is None:
            # Attribute walks through Django descriptors add up over thousands of readings.
            fact = facts[id(sensor)] = (
                sensor.pk,
                sensor.kind.code,
                sensor.vault,
                limits_for(sensor),
            )
        pk, code, vault, (low, high) = fact
        sensors[pk] = sensor
        by_sensor[pk].append((ts, value))
        if code in EMERGENCY_KINDS:
            if value >= 1:
                kind = EMERGENCY_KINDS[code]
                message = _("%(vault)s %(sensor)s %(what)s报警") % {
                    "vault": vault.name,
                    "sensor": sensor.name or sensor.code,
                    "what": AlarmKind(kind).label,
                }
                _add_condition(
                    found, _Condition(vault.pk, sensor.pk, kind, code, message, value, ts, ts)
                )
            continue
        if code == DOOR_KIND:
            if value >= 1 and not is_working_time(vault, ts):
                message = _("%(vault)s 在非工作时间（%(ts)s）开门") % {
                    "vault": vault.name,
                    "ts": _plain(ts),
                }
                _add_condition(
                    found,
                    _Condition(vault.pk, sensor.pk, AlarmKind.DOOR, "door", message, value, ts, ts),
                )
            continue
        if (high is None or value <= high) and (low is None or value >= low):
            continue
        unit = sensor.kind.unit
        if high is not None and value > high:
            message = _("%(sensor)s %(kind)s %(value)s%(unit)s，高于上限 %(limit)s%(unit)s") % {
                "sensor": sensor.name or sensor.code,
                "kind": sensor.kind.name,
                "value": f"{value:g}",
                "unit": unit,
                "limit": f"{high:g}",
            }
            _add_condition(
                found,
                _Condition(
                    vault.pk,
                    sensor.pk,
                    AlarmKind.THRESHOLD,
                    "threshold:high",
                    message,
                    value,
                    ts,
                    ts,
                ),
            )
        elif low is not None and value < low:
            message = _("%(sensor)s %(kind)s %(value)s%(unit)s，低于下限 %(limit)s%(unit)s") % {
                "sensor": sensor.name or sensor.code,
                "kind": sensor.kind.name,
                "value": f"{value:g}",
                "unit": unit,
                "limit": f"{low:g}",
            }
            _add_condition(
                found,
                _Condition(
                    vault.pk,
                    sensor.pk,
                    AlarmKind.THRESHOLD,
                    "threshold:low",
                    message,
                    value,
                    ts,
                    ts,
                ),
            )
    for sensor_id, points in by_sensor.items():
        sensor = sensors[sensor_id]
        limit = max_rate_for(sensor)
        if limit is None or sensor.kind.binary:
            continue
        rate = _rate(sensor, points)
        if rate is not None and abs(rate[0]) > limit:
            per_hour, ts, value = rate
            message = _(
                "%(sensor)s %(kind)s 每小时变化 %(rate)s%(unit)s，超过 %(limit)s%(unit)s"
            ) % {
                "sensor": sensor.name or sensor.code,
                "kind": sensor.kind.name,
                "rate": f"{per_hour:+.1f}",
                "unit": sensor.kind.unit,
                "limit": f"{limit:g}",
            }
            _add_condition(
                found,
                _Condition(
                    sensor.vault_id, sensor.pk, AlarmKind.RATE, "rate", message, value, ts, ts
                ),
            )
    return found


def _rate(
    sensor: Sensor, points: list[tuple[datetime, float]]
) -> tuple[float, datetime, float] | None:
    """Change per hour of the newest reading against one at least ``RATE_WINDOW`` earlier."""
    ts, value = max(points)
    cutoff = ts - RATE_WINDOW
    earlier = [p for p in points if p[0] <= cutoff]
    if earlier:
        ref_ts, ref_value = max(earlier)
    else:
        row = (
            Reading.objects.filter(sensor_id=sensor.pk, ts__lte=cutoff, ts__gte=ts - RATE_MAX_GAP)
            .order_by("-ts")
            .values_list("ts", "value")
            .first()
        )
        if row is None:
            return None
        ref_ts, ref_value = row
    hours = (ts - ref_ts).total_seconds() / 3600
    if hours <= 0 or ts - ref_ts > RATE_MAX_GAP:
        return None
    return (value - ref_value) / hours, ts, value


def _raise(conditions: Iterable[_Condition]) -> list[int]:
    """Open an alarm per condition, or count one more occurrence of the open one.

    Returns the ids of alarms newly raised. Runs inside the caller's transaction.
    """
    conditions = list(conditions)
    open_alarms = {
        a.open_key: a for a in Alarm.objects.filter(open_key__in=[c.open_key for c in conditions])
    }
    raised: list[int] = []
    for cond in conditions:
        alarm = open_alarms.get(cond.open_key)
        if alarm is None:
            try:
                with transaction.atomic():
                    alarm = Alarm.objects.create(
                        sensor_id=cond.sensor_id,
                        vault_id=cond.vault_id,
                        kind=cond.kind,
                        condition=cond.condition,
                        message=cond.message[:300],
                        value=cond.value,
                        raised_at=cond.first,
                        last_seen_at=cond.last,
                        occurrences=cond.count,
                        open_key=cond.open_key,
                    )
                    record(
                        AuditAction.CREATE,
                        actor=None,
                        obj=alarm,
                        detail={
                            "kind": cond.kind,
                            "condition": cond.condition,
                            "value": cond.value,
                        },
                    )
                raised.append(alarm.pk)
                continue
            except IntegrityError:
                # Another writer opened the same condition a moment ago: count on it.
                alarm = Alarm.objects.filter(open_key=cond.open_key).first()
                if alarm is None:
                    continue
        Alarm.objects.filter(pk=alarm.pk).update(
            occurrences=F("occurrences") + cond.count,
            last_seen_at=cond.last if cond.last > alarm.last_seen_at else alarm.last_seen_at,
            value=cond.value if cond.last >= alarm.last_seen_at else alarm.value,
        )
    if raised:
        ids = list(raised)
        transaction.on_commit(lambda: notify(ids))
    return raised


def _count(result: IngestResult, source: str, now: datetime) -> None:
    """Add this batch's outcomes to the day's counters and keep its refusal samples."""
    day = timezone.localdate(now)
    rows = [(day, source, outcome, n) for outcome, n in result.counts.items() if n]
    if rows:
        table = connection.ops.quote_name(IngestCounter._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (day, source, outcome, count) "  # noqa: S608
                "VALUES (%s, %s, %s, %s) ON CONFLICT (day, source, outcome) "
                f"DO UPDATE SET count = {table}.count + excluded.count",
                [(connection.ops.adapt_datefield_value(d), s, o, n) for d, s, o, n in rows],
            )
    if result.rejects:
        RejectedReading.objects.bulk_create(
            RejectedReading(
                received_at=now,
                source=source,
                reason=r["reason"],
                sensor_code=r["sensor"],
                detail=str(r["message"])[:300],
                raw=str(r["raw"])[:500],
            )
            for r in result.rejects
        )


def record_refusals(result: IngestResult, *, source: str, now: datetime | None = None) -> None:
    """Count refusals found before ``ingest`` could run (a request body that is not JSON)."""
    with transaction.atomic():
        _count(result, source, now or _now())


def parse_batch(payload: Any) -> list[Any] | None:
    """The readings of a decoded JSON body: ``{"readings": [...]}``, a list, or one reading.
    None when the body has no readings at all."""
    if isinstance(payload, dict) and "readings" in payload:
        readings = payload["readings"]
        return readings if isinstance(readings, list) else None
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        return [payload]
    return None


# --- CSV import -------------------------------------------------------------------------------

CSV_BATCH = 5000


def import_csv(actor, stream: Iterable[str] | io.TextIOBase, *, now: datetime | None = None):
    """Import readings from CSV with a header ``sensor,ts,value`` (manage_vault).

    Rows are checked like any other reading; rows with a wrong number of columns are
    ``malformed``. Past ranges are rolled up at once so old data shows in long charts.
    """
    require(actor, MANAGE)
    reader = csv.reader(stream)
    header = next(reader, None)
    wanted = ["sensor", "ts", "value"]
    if header is None or [h.strip().lower().lstrip("\ufeff") for h in header] != wanted:
        raise ValidationError({"file": [_("CSV 首行应为：sensor,ts,value")]})
    total = IngestResult()
    batch: list[Any] = []
    line_of: list[int] = []
    low: datetime | None = None
    high: datetime | None = None

    def flush() -> None:
        nonlocal low, high
        part = ingest(batch, source="csv", now=now)
        for reject in part.rejects:
            if reject["index"] is not None:
                reject["line"] = line_of[reject["index"]]
        total.merge(part)
        for item in batch:
            if isinstance(item, dict):
                ts = parse_timestamp(item.get("ts"))
                if ts is not None:
                    low = ts if low is None or ts < low else low
                    high = ts if high is None or ts > high else high
        batch.clear()
        line_of.clear()

    for line, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 3:
            batch.append(f"line {line}: {','.join(row)[:200]}")
        else:
            batch.append({"sensor": row[0].strip(), "ts": row[1].strip(), "value": row[2]})
        line_of.append(line)
        if len(batch) >= CSV_BATCH:
            flush()
    if batch:
        flush()
    if low is not None and high is not None and total.accepted:
        rollup(low, high + timedelta(seconds=1))
    with transaction.atomic():
        record(
            AuditAction.CREATE,
            actor=actor,
            object_type="vault.reading",
            object_repr=_("CSV 导入读数"),
            detail={"received": total.received, "counts": dict(total.counts)},
        )
    return total


# --- device tokens ------------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(actor, name: str, vault: Vault | None = None) -> tuple[DeviceToken, str]:
    """A new device token (manage_vault). The plain token is returned once and never stored."""
    require(actor, MANAGE)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("请填写设备名称。")]})
    if len(name) > 100:
        raise ValidationError({"name": [_("设备名称不能超过 100 个字。")]})
    token = "lt_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        device = DeviceToken.objects.create(
            name=name,
            vault=vault,
            token_hash=_hash_token(token),
            prefix=token[:10],
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        record(AuditAction.CREATE, actor=actor, obj=device, detail={"vault": str(vault or "")})
    return device, token


def revoke_token(actor, device: DeviceToken) -> DeviceToken:
    require(actor, MANAGE)
    with transaction.atomic():
        DeviceToken.objects.filter(pk=device.pk).update(active=False)
        device.active = False
        record(AuditAction.UPDATE, actor=actor, obj=device, detail={"active": [True, False]})
    return device


def authenticate_token(token: str) -> DeviceToken | None:
    """The active device token matching ``token``, or None."""
    if not token or len(token) > 200:
        return None
    device = (
        DeviceToken.objects.select_related("vault")
        .filter(token_hash=_hash_token(token), active=True)
        .first()
    )
    if device is not None:
        now = _now()
        # Written at most once a minute: a busy gateway must not turn every batch into two writes.
        if device.last_used_at is None or now - device.last_used_at > timedelta(minutes=1):
            DeviceToken.objects.filter(pk=device.pk).update(last_used_at=now)
    return device


# --- registry -------------------------------------------------------------------------------------

SENSOR_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")


def _float_or_none(value: Any, label: str, errors: dict) -> float | None:
    if value in (None, ""):
        return None
    number = parse_value(value)
    if number is None or not math.isfinite(number):
        errors[label].append(_("应为数字。"))
        return None
    return number


def save_sensor(actor, data: dict, sensor: Sensor | None = None) -> Sensor:
    """Register or change a sensor 传感器 (manage_vault). Its code is also its MQTT topic name
    (``lantai/vault/<vault code>/<sensor code>``), so it is letters, digits, ``_ . -``."""
    require(actor, MANAGE)
    errors: dict[str, list[str]] = defaultdict(list)
    creating = sensor is None
    sensor = sensor or Sensor()
    before = {
        f: getattr(sensor, f)
        for f in ("code", "name", "low", "high", "max_rate_per_hour", "heartbeat_seconds", "active")
    } | {"vault": sensor.vault_id if not creating else None, "kind": sensor.kind_id or None}
    code = str(data.get("code", sensor.code or "")).strip()
    if not SENSOR_CODE.match(code):
        errors["code"].append(_("传感器编号只能由字母、数字和 _ . - 组成，最长 60 个字符。"))
    vault = data.get("vault", sensor.vault if not creating else None)
    if not isinstance(vault, Vault):
        vault = Vault.objects.filter(pk=vault).first() if str(vault or "").isdigit() else None
    if vault is None:
        errors["vault"].append(_("请选择库房。"))
    kind = data.get("kind", sensor.kind if not creating else None)
    if not isinstance(kind, SensorKind):
        kind = (
            SensorKind.objects.filter(
                Q(code=kind) | Q(pk=kind if str(kind).isdigit() else None)
            ).first()
            if kind
            else None
        )
    if kind is None:
        errors["kind"].append(_("请选择监测类型。"))
    name = str(data.get("name", sensor.name or "")).strip()
    if len(name) > 100:
        errors["name"].append(_("名称不能超过 100 个字。"))
    low = _float_or_none(data.get("low", sensor.low), "low", errors)
    high = _float_or_none(data.get("high", sensor.high), "high", errors)
    if low is not None and high is not None and low >= high:
        errors["high"].append(_("报警上限应大于下限。"))
    rate = _float_or_none(
        data.get("max_rate_per_hour", sensor.max_rate_per_hour), "max_rate_per_hour", errors
    )
    if rate is not None and rate <= 0:
        errors["max_rate_per_hour"].append(_("变化速率上限应大于 0。"))
    try:
        heartbeat = int(data.get("heartbeat_seconds", sensor.heartbeat_seconds or 300))
        if not 10 <= heartbeat <= 86400:
            raise ValueError
    except (TypeError, ValueError):
        errors["heartbeat_seconds"].append(_("心跳间隔应为 10 到 86400 秒。"))
        heartbeat = 300
    active = data.get("active", sensor.active if not creating else True)
    if isinstance(active, str):
        active = active.strip().lower() in {"1", "true", "on", "yes"}
    if code and Sensor.objects.filter(code=code).exclude(pk=sensor.pk).exists():
        errors["code"].append(_("传感器编号 %(code)s 已被使用。") % {"code": code})
    if errors:
        raise ValidationError(dict(errors))
    sensor.code, sensor.vault, sensor.kind, sensor.name = code, vault, kind, name
    sensor.low, sensor.high, sensor.max_rate_per_hour = low, high, rate
    sensor.heartbeat_seconds, sensor.active = heartbeat, bool(active)
    after = {
        f: getattr(sensor, f)
        for f in ("code", "name", "low", "high", "max_rate_per_hour", "heartbeat_seconds", "active")
    } | {"vault": vault.pk, "kind": kind.pk}
    with transaction.atomic():
        sensor.save()
        record(
            AuditAction.CREATE if creating else AuditAction.UPDATE,
            actor=actor,
            obj=sensor,
            detail=after if creating else changes(before, after),
        )
    return sensor


def save_kind(actor, data: dict, kind: SensorKind | None = None) -> SensorKind:
    """Add or edit a watched quantity of the 八防 list 监测类型 (manage_vault)."""
    require(actor, MANAGE)
    errors: dict[str, list[str]] = defaultdict(list)
    creating = kind is None
    kind = kind or SensorKind()
    fields = ("code", "name", "unit", "guard", "binary", "physical_min", "physical_max")
    before = {f: getattr(kind, f) for f in fields}
    code = str(data.get("code", kind.code or "")).strip()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,19}", code):
        errors["code"].append(_("代码应为小写字母开头的字母、数字或下划线，最长 20 个字符。"))
    elif SensorKind.objects.filter(code=code).exclude(pk=kind.pk).exists():
        errors["code"].append(_("代码 %(code)s 已存在。") % {"code": code})
    if not creating and code != kind.code and kind.sensors.exists():
        errors["code"].append(_("已有传感器使用此类型，代码不能修改。"))
    name = str(data.get("name", kind.name or "")).strip()
    if not name:
        errors["name"].append(_("请填写名称。"))
    pmin = _float_or_none(data.get("physical_min", kind.physical_min), "physical_min", errors)
    pmax = _float_or_none(data.get("physical_max", kind.physical_max), "physical_max", errors)
    if pmin is not None and pmax is not None and pmin >= pmax:
        errors["physical_max"].append(_("物理上限应大于下限。"))
    if errors:
        raise ValidationError(dict(errors))
    binary = data.get("binary", kind.binary)
    if isinstance(binary, str):
        binary = binary.strip().lower() in {"1", "true", "on", "yes"}
    kind.code, kind.name = code, name[:50]
    kind.unit = str(data.get("unit", kind.unit or "")).strip()[:20]
    kind.guard = str(data.get("guard", kind.guard or "")).strip()[:20]
    kind.binary, kind.physical_min, kind.physical_max = bool(binary), pmin, pmax
    with transaction.atomic():
        kind.save()
        after = {f: getattr(kind, f) for f in fields}
        record(
            AuditAction.CREATE if creating else AuditAction.UPDATE,
            actor=actor,
            obj=kind,
            detail=after if creating else changes(before, after),
        )
    return kind


def delete_kind(actor, kind: SensorKind) -> None:
    """Take a watched quantity off the 八防 list (manage_vault). Only a kind no sensor uses:
    a registered sensor's readings and alarms keep their meaning through its kind; retire
    the sensors first. The seed does not bring a deleted kind back (``vault.signals``)."""
    require(actor, MANAGE)
    with transaction.atomic():
        kind = SensorKind.objects.select_for_update().get(pk=kind.pk)
        used = kind.sensors.count()
        if used:
            raise ValidationError(
                {
                    "__all__": [
                        _("有 %(n)d 个传感器使用监测类型“%(name)s”，不能删除。")
                        % {"n": used, "name": kind.name}
                    ]
                }
            )
        record(
            AuditAction.DELETE,
            actor=actor,
            obj=kind,
            detail={"code": kind.code, "name": kind.name, "guard": kind.guard},
        )
        kind.delete()


def visible_vaults(user) -> QuerySet[Vault]:
    require(user, VIEW_ENV)
    return Vault.objects.filter(active=True)


def get_sensor(user, pk) -> Sensor:
    require(user, VIEW_ENV)
    return Sensor.objects.select_related("vault", "kind").get(pk=pk)


# --- alarms -----------------------------------------------------------------------------------


def open_alarms(user, vault: Vault | None = None) -> QuerySet[Alarm]:
    require(user, VIEW_ENV)
    qs = Alarm.objects.exclude(status=AlarmStatus.RESOLVED).select_related("vault", "sensor")
    return qs.filter(vault=vault) if vault is not None else qs


def alarms(user, *, status: str = "", vault: Vault | None = None) -> QuerySet[Alarm]:
    require(user, VIEW_ENV)
    qs = Alarm.objects.select_related(
        "vault", "sensor", "sensor__kind", "acknowledged_by", "resolved_by"
    )
    if status == "open":
        qs = qs.exclude(status=AlarmStatus.RESOLVED)
    elif status in AlarmStatus.values:
        qs = qs.filter(status=status)
    if vault is not None:
        qs = qs.filter(vault=vault)
    return qs.order_by("-raised_at", "-pk")


def _locked_alarm(alarm: Alarm | int) -> Alarm:
    pk = alarm.pk if isinstance(alarm, Alarm) else alarm
    return Alarm.objects.select_for_update().get(pk=pk)


def acknowledge(actor, alarm: Alarm | int, note: str = "") -> Alarm:
    """确认: someone has seen the alarm and is on it (handle_alarm)."""
    require(actor, HANDLE)
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationError({"note": [_("说明不能超过 2000 字。")]})
    with transaction.atomic():
        alarm = _locked_alarm(alarm)
        if alarm.status != AlarmStatus.RAISED:
            raise ValidationError(
                {
                    "status": [
                        _("该告警状态为“%(s)s”，不能再确认。") % {"s": alarm.get_status_display()}
                    ]
                }
            )
        alarm.status = AlarmStatus.ACKNOWLEDGED
        alarm.acknowledged_by = actor if getattr(actor, "pk", None) else None
        alarm.acknowledged_at = _now()
        alarm.acknowledge_note = note
        alarm.save(
            update_fields=["status", "acknowledged_by", "acknowledged_at", "acknowledge_note"]
        )
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=alarm,
            detail={"status": [AlarmStatus.RAISED, AlarmStatus.ACKNOWLEDGED], "note": note},
        )
    return alarm


def resolve(actor, alarm: Alarm | int, note: str) -> Alarm:
    """解除: the cause is dealt with; a note saying how is required (handle_alarm). The
    condition may raise a new alarm afterwards."""
    require(actor, HANDLE)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": [_("请填写处置说明。")]})
    if len(note) > 2000:
        raise ValidationError({"note": [_("说明不能超过 2000 字。")]})
    with transaction.atomic():
        alarm = _locked_alarm(alarm)
        if alarm.status == AlarmStatus.RAISED:
            raise ValidationError({"status": [_("请先确认告警，再解除。")]})
        if alarm.status != AlarmStatus.ACKNOWLEDGED:
            raise ValidationError({"status": [_("该告警已解除。")]})
        alarm.status = AlarmStatus.RESOLVED
        alarm.resolved_by = actor if getattr(actor, "pk", None) else None
        alarm.resolved_at = _now()
        alarm.resolve_note = note
        alarm.open_key = None
        alarm.save(
            update_fields=["status", "resolved_by", "resolved_at", "resolve_note", "open_key"]
        )
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=alarm,
            detail={"status": [AlarmStatus.ACKNOWLEDGED, AlarmStatus.RESOLVED], "note": note},
        )
    return alarm


def alarm_recipients(vault: Vault) -> list[str]:
    """E-mail addresses told of a vault's alarms: its keepers, else everyone who handles alarms."""
    keepers = [u.email for u in vault.keepers.filter(is_active=True) if u.email]
    if keepers:
        return sorted(set(keepers))
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    handlers = users.filter(
        Q(
            groups__permissions__codename="handle_alarm",
            groups__permissions__content_type__app_label="vault",
        )
        | Q(
            user_permissions__codename="handle_alarm",
            user_permissions__content_type__app_label="vault",
        )
        | Q(is_superuser=True)
    )
    return sorted(set(handlers.values_list("email", flat=True)))


def notify(alarm_ids: list[int]) -> int:
    """E-mail the people who handle the vault of each new alarm (Django's mail settings).

    Returns the number of messages sent; a mail server that is down is logged, never raised:
    the alarm itself is already on every keeper's screen."""
    sent = 0
    for alarm in Alarm.objects.filter(pk__in=alarm_ids).select_related("vault", "sensor"):
        recipients = alarm_recipients(alarm.vault)
        if not recipients:
            continue
        subject = _("【库房告警】%(vault)s：%(kind)s") % {
            "vault": alarm.vault.name,
            "kind": alarm.get_kind_display(),
        }
        body = "\n".join(
            [
                alarm.message,
                _("库房：%(v)s") % {"v": alarm.vault},
                _("传感器：%(s)s") % {"s": alarm.sensor or "—"},
                _("发生时间：%(t)s") % {"t": _plain(alarm.raised_at)},
                "",
                _("请登录兰台确认并处置。"),
            ]
        )
        try:
            sent += send_mail(subject, body, None, recipients)
        except Exception:  # a broken mail server must not lose the alarm
            logger.exception("alarm e-mail for %s failed", alarm.pk)
    return sent


# --- periodic checks: silent sensors and daily swing ----------------------------------------


def watch(now: datetime | None = None) -> dict:
    """Raise alarms for silent sensors (no reading for longer than their heartbeat) and for a
    daily swing beyond the vault's limit. Run every minute by the job worker."""
    now = now or _now()
    found: dict[str, _Condition] = {}
    sensors = Sensor.objects.filter(active=True, vault__active=True, last_seen_at__isnull=False)
    for sensor in sensors.select_related("vault", "kind"):
        if now - sensor.last_seen_at > timedelta(seconds=sensor.heartbeat_seconds):
            message = _("%(sensor)s 自 %(ts)s 起没有数据（心跳 %(hb)d 秒）") % {
                "sensor": sensor.name or sensor.code,
                "ts": _plain(sensor.last_seen_at),
                "hb": sensor.heartbeat_seconds,
            }
            _add_condition(
                found,
                _Condition(
                    sensor.vault_id, sensor.pk, AlarmKind.SILENT, "silent", message, None, now, now
                ),
            )
    swing_sensors = {
        s.pk: s
        for s in Sensor.objects.filter(
            active=True, vault__active=True, kind__code__in=[TEMPERATURE, HUMIDITY]
        ).select_related("vault", "kind")
    }
    if swing_sensors:
        rows = (
            Reading.objects.filter(sensor_id__in=swing_sensors, ts__gt=now - timedelta(hours=24))
            .values("sensor_id")
            .annotate(low=Min("value"), high=Max("value"), n=Count("id"))
        )
        for row in rows:
            sensor = swing_sensors[row["sensor_id"]]
            limit = float(
                sensor.vault.max_daily_temp_swing
                if sensor.kind.code == TEMPERATURE
                else sensor.vault.max_daily_rh_swing
            )
            amplitude = (row["high"] - row["low"]) / 2
            if row["n"] >= 2 and amplitude > limit:
                message = _(
                    "%(sensor)s 24 小时%(kind)s波动 ±%(amp).1f%(unit)s（%(low)s–%(high)s），"
                    "超过 ±%(limit)s%(unit)s"
                ) % {
                    "sensor": sensor.name or sensor.code,
                    "kind": sensor.kind.name,
                    "amp": amplitude,
                    "unit": sensor.kind.unit,
                    "low": f"{row['low']:g}",
                    "high": f"{row['high']:g}",
                    "limit": f"{limit:g}",
                }
                _add_condition(
                    found,
                    _Condition(
                        sensor.vault_id,
                        sensor.pk,
                        AlarmKind.SWING,
                        "swing",
                        message,
                        amplitude,
                        now,
                        now,
                    ),
                )
    raised: list[int] = []
    if found:
        with transaction.atomic():
            raised = _raise(found.values())
    return {"conditions": len(found), "raised": len(raised)}


# --- storage: rollups and retention ---------------------------------------------------------------


def _floor(ts: datetime, seconds: int) -> datetime:
    epoch = int(ts.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def rollup(since: datetime, until: datetime) -> int:
    """(Re)compute min/avg/max per 10 minutes and per hour for every bucket touching
    [since, until). Idempotent: buckets are recomputed whole from raw readings."""
    written = 0
    table = connection.ops.quote_name(ReadingRollup._meta.db_table)
    raw = connection.ops.quote_name(Reading._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    for seconds in ROLLUP_BUCKETS:
        start = _floor(since, seconds)
        end = _floor(until, seconds) + timedelta(seconds=seconds)
        if connection.vendor == "sqlite":
            bucket = (
                f"datetime((CAST(strftime('%%s', ts) AS INTEGER) / {seconds}) * {seconds}, "
                "'unixepoch')"
            )
        else:
            bucket = f"to_timestamp(floor(extract(epoch from ts) / {seconds}) * {seconds})"
        sql = (
            f"INSERT INTO {table} (sensor_id, bucket_seconds, ts, count, min_value, avg_value, "  # noqa: S608
            f"max_value) SELECT sensor_id, {seconds}, {bucket}, COUNT(*), MIN(value), AVG(value), "
            f"MAX(value) FROM {raw} WHERE ts >= %s AND ts < %s GROUP BY sensor_id, {bucket} "
            "ON CONFLICT (sensor_id, bucket_seconds, ts) DO UPDATE SET count = excluded.count, "
            "min_value = excluded.min_value, avg_value = excluded.avg_value, "
            "max_value = excluded.max_value"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [adapt(start), adapt(end)])
            written += max(cursor.rowcount, 0)
    return written


def prune(now: datetime | None = None) -> dict:
    """Drop raw readings older than the retention (after rolling them up), 10-minute rollups
    older than theirs, and refusal samples older than 30 days."""
    now = now or _now()
    cutoff = _floor(now - timedelta(days=raw_days()), 3600)
    oldest = Reading.objects.filter(ts__lt=cutoff).aggregate(m=Min("ts"))["m"]
    deleted = 0
    if oldest is not None:
        rollup(oldest, cutoff)
        # Day by day, so no single delete holds SQLite's write lock for long.
        start = _floor(oldest, 3600)
        while start < cutoff:
            stop = min(start + timedelta(days=1), cutoff)
            with transaction.atomic():
                deleted += Reading.objects.filter(ts__gte=start, ts__lt=stop).delete()[0]
            start = stop
    rollup_cutoff = now - timedelta(days=int(settings.LANTAI_VAULT_ROLLUP_DAYS))
    with transaction.atomic():
        rollups = ReadingRollup.objects.filter(bucket_seconds=600, ts__lt=rollup_cutoff).delete()[0]
        samples = RejectedReading.objects.filter(received_at__lt=now - timedelta(days=30)).delete()[
            0
        ]
    return {"readings": deleted, "rollups": rollups, "rejected_samples": samples}


def maintain(now: datetime | None = None) -> dict:
    """The storage job: roll up the last hours and apply retention."""
    now = now or _now()
    written = rollup(now - timedelta(hours=3), now)
    return {"rollups": written, **prune(now)}


# --- charts, status, mould risk -------------------------------------------------------------------

RANGES = {"24h": timedelta(hours=24), "30d": timedelta(days=30), "1y": timedelta(days=365)}


def _epoch_ms_sql() -> str:
    if connection.vendor == "sqlite":
        import sqlite3

        if sqlite3.sqlite_version_info >= (3, 38):
            return "unixepoch(ts) * 1000"  # C, no text formatting round trip
        return "CAST(strftime('%%s', ts) AS INTEGER) * 1000"
    return "(extract(epoch from ts) * 1000)::bigint"


def series(user, sensor: Sensor, span: str = "24h", now: datetime | None = None) -> dict:
    """Chart data for one sensor. 24 hours and 30 days: every raw reading (1-minute
    resolution), with 10-minute averages before the raw retention; 1 year: hourly
    min/avg/max. Points are ``[epoch milliseconds, value]``."""
    require(user, VIEW_ENV)
    if span not in RANGES:
        raise ValidationError({"span": [_("时间范围应为 24h、30d 或 1y。")]})
    now = now or _now()
    start = now - RANGES[span]
    adapt = connection.ops.adapt_datetimefield_value
    epoch = _epoch_ms_sql()
    out: dict[str, Any] = {
        "sensor": sensor.code,
        "name": sensor.name or sensor.code,
        "kind": sensor.kind.name,
        "unit": sensor.kind.unit,
        "span": span,
        "limits": dict(zip(("low", "high"), limits_for(sensor), strict=True)),
    }
    rollup_table = connection.ops.quote_name(ReadingRollup._meta.db_table)
    with connection.cursor() as cursor:
        if span == "1y":
            cursor.execute(
                f"SELECT {epoch}, min_value, avg_value, max_value FROM {rollup_table} "  # noqa: S608
                "WHERE sensor_id = %s AND bucket_seconds = 3600 AND ts >= %s AND ts <= %s "
                "ORDER BY ts",
                [sensor.pk, adapt(start), adapt(now)],
            )
            rows = cursor.fetchall()
            out["points"] = [[r[0], round(r[2], 3)] for r in rows]
            out["min"] = [[r[0], r[1]] for r in rows]
            out["max"] = [[r[0], r[3]] for r in rows]
            out["resolution"] = 3600
            return out
        raw_start = max(start, now - timedelta(days=raw_days()))
        points: list[list] = []
        if raw_start > start:
            cursor.execute(
                f"SELECT {epoch}, avg_value FROM {rollup_table} "  # noqa: S608
                "WHERE sensor_id = %s AND bucket_seconds = 600 AND ts >= %s AND ts < %s "
                "ORDER BY ts",
                [sensor.pk, adapt(start), adapt(raw_start)],
            )
            points.extend([r[0], round(r[1], 3)] for r in cursor.fetchall())
        cursor.execute(
            f"SELECT {epoch}, value FROM {connection.ops.quote_name(Reading._meta.db_table)} "  # noqa: S608
            "WHERE sensor_id = %s AND ts >= %s AND ts <= %s ORDER BY ts",
            [sensor.pk, adapt(raw_start), adapt(now)],
        )
        points.extend([r[0], r[1]] for r in cursor.fetchall())
    out["points"] = points
    out["resolution"] = 60
    return out


def critical_rh(temperature: float) -> float:
    """Lowest RH at which mould can start to grow on archival material at ``temperature`` (°C):
    the VTT isopleth (Hukka & Viitanen 1999), 80 %RH from 20 °C up."""
    t = temperature
    if t > 20:
        return 80.0
    return -0.00267 * t**3 + 0.160 * t**2 - 3.13 * t + 100.0


def mould_risk(temperature: float | None, humidity: float | None) -> dict:
    """霉变风险 from the current temperature and RH: ``high`` at or above the critical RH,
    ``medium`` within 10 %RH below it, else ``low`` (below 0 °C nothing grows)."""
    if temperature is None or humidity is None:
        return {"level": "unknown", "label": _("无数据"), "critical_rh": None, "margin": None}
    if temperature < 0:
        return {"level": "low", "label": _("低"), "critical_rh": None, "margin": None}
    crit = critical_rh(temperature)
    margin = humidity - crit
    if margin >= 0:
        level, label = "high", _("高")
    elif margin >= -10:
        level, label = "medium", _("中")
    else:
        level, label = "low", _("低")
    return {
        "level": level,
        "label": label,
        "critical_rh": round(crit, 1),
        "margin": round(margin, 1),
    }


def sensor_state(sensor: Sensor, open_keys: set[str], now: datetime) -> str:
    if not sensor.active:
        return "inactive"
    if any(k.startswith(f"s{sensor.pk}:") for k in open_keys):
        return "alarm"
    if sensor.last_seen_at is None:
        return "nodata"
    if now - sensor.last_seen_at > timedelta(seconds=sensor.heartbeat_seconds):
        return "silent"
    return "ok"


# Marked for makemessages here, translated where shown.
STATE_LABELS = {
    "ok": gettext_noop("正常"),
    "alarm": gettext_noop("告警"),
    "silent": gettext_noop("离线"),
    "nodata": gettext_noop("无数据"),
    "inactive": gettext_noop("停用"),
}


def vault_status(user, vaults: Iterable[Vault] | None = None, now: datetime | None = None) -> list:
    """Live status per vault: sensors with their latest value and state, open alarms, and the
    mould risk from the mean temperature and RH of the vault's sensors."""
    require(user, VIEW_ENV)
    now = now or _now()
    vaults = list(vaults if vaults is not None else Vault.objects.filter(active=True))
    sensors = defaultdict(list)
    for s in Sensor.objects.filter(vault__in=vaults).select_related("kind", "vault"):
        sensors[s.vault_id].append(s)
    open_by_vault: dict[int, list[Alarm]] = defaultdict(list)
    for alarm in Alarm.objects.filter(vault__in=vaults).exclude(status=AlarmStatus.RESOLVED):
        open_by_vault[alarm.vault_id].append(alarm)
    out = []
    for vault in vaults:
        open_keys = {a.open_key for a in open_by_vault[vault.pk] if a.open_key}
        rows = []
        temps, hums = [], []
        for s in sensors[vault.pk]:
            state = sensor_state(s, open_keys, now)
            rows.append({"sensor": s, "state": state, "state_label": _(STATE_LABELS[state])})
            if s.active and s.last_value is not None and state != "silent":
                if s.kind.code == TEMPERATURE:
                    temps.append(s.last_value)
                elif s.kind.code == HUMIDITY:
                    hums.append(s.last_value)
        t = sum(temps) / len(temps) if temps else None
        h = sum(hums) / len(hums) if hums else None
        out.append(
            {
                "vault": vault,
                "sensors": rows,
                "alarms": open_by_vault[vault.pk],
                "temperature": t,
                "humidity": h,
                "mould": mould_risk(t, h),
            }
        )
    return out


def ingest_counts(user, days: int = 7, now: datetime | None = None) -> list[dict]:
    require(user, VIEW_ENV)
    since = timezone.localdate(now or _now()) - timedelta(days=days - 1)
    rows = IngestCounter.objects.filter(day__gte=since).order_by("-day", "source", "outcome")
    return [
        {
            "day": r.day,
            "source": r.source,
            "outcome": r.outcome,
            "label": outcome_label(r.outcome),
            "count": r.count,
        }
        for r in rows
    ]


# --- monthly report -------------------------------------------------------------------------------


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    tz = timezone.get_default_timezone()
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return start, end


def _month_stats(
    sensor: Sensor, start: datetime, end: datetime, low: float | None, high: float | None
) -> dict:
    """One sensor's figures for [start, end): readings, min/avg/max, the share within
    [low, high] and, for a switch, the number of readings at 1.

    Raw readings are kept ``LANTAI_VAULT_RAW_DAYS``; before the first raw reading of the month
    the 10-minute rollups stand in (a month that straddles the retention limit is counted
    whole, not only its last days). A bucket counts as in range only when its minimum and
    maximum both are; a switch's ones are its average times its count."""
    raw = Reading.objects.filter(sensor=sensor, ts__gte=start, ts__lt=end)
    first_raw = raw.aggregate(m=Min("ts"))["m"]
    # Pruning cuts at a whole hour, so raw readings begin on a bucket boundary; buckets from
    # there on are covered by the raw readings themselves.
    boundary = _floor(first_raw, 600) if first_raw is not None else end
    buckets = list(
        ReadingRollup.objects.filter(
            sensor=sensor, bucket_seconds=600, ts__gte=start, ts__lt=boundary
        ).values_list("count", "min_value", "avg_value", "max_value")
    )
    n = sum(b[0] for b in buckets)
    total = sum(b[0] * b[2] for b in buckets)
    lows = [b[1] for b in buckets]
    highs = [b[3] for b in buckets]
    if sensor.kind.binary:
        events = round(total)
        if first_raw is not None:
            n += raw.count()
            events += raw.filter(value__gte=1).count()
        return {
            "count": n,
            "min": None,
            "avg": None,
            "max": None,
            "in_range": None,
            "events": events,
        }
    inside = sum(
        b[0] for b in buckets if (low is None or b[1] >= low) and (high is None or b[3] <= high)
    )
    if first_raw is not None:
        agg = raw.aggregate(n=Count("id"), lo=Min("value"), hi=Max("value"), s=Sum("value"))
        n += agg["n"]
        total += agg["s"] or 0.0
        lows.append(agg["lo"])
        highs.append(agg["hi"])
        within = raw
        if low is not None:
            within = within.filter(value__gte=low)
        if high is not None:
            within = within.filter(value__lte=high)
        inside += within.count()
    if not n:
        return {"count": 0, "min": None, "avg": None, "max": None, "in_range": None, "events": None}
    return {
        "count": n,
        "min": min(lows),
        "avg": total / n,
        "max": max(highs),
        "in_range": inside / n,
        "events": None,
    }


def monthly_report(user, vault: Vault, year: int, month: int) -> dict:
    """月度环境报告: per sensor the readings, min/avg/max and the share of time within its
    limits; every alarm of the month; hours at high mould risk (hourly means)."""
    require(user, VIEW_ENV)
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise ValidationError({"month": [_("月份不正确。")]})
    start, end = month_bounds(year, month)
    sensors = list(Sensor.objects.filter(vault=vault).select_related("kind", "vault"))
    rows = []
    hourly: dict[str, dict[datetime, list[float]]] = {TEMPERATURE: {}, HUMIDITY: {}}
    for sensor in sensors:
        low, high = (None, None) if sensor.kind.binary else limits_for(sensor)
        stats = _month_stats(sensor, start, end, low, high)
        rows.append({"sensor": sensor, "low": low, "high": high, **stats})
        if sensor.kind.code in hourly:
            for bucket in ReadingRollup.objects.filter(
                sensor=sensor, bucket_seconds=3600, ts__gte=start, ts__lt=end
            ).values_list("ts", "avg_value"):
                hourly[sensor.kind.code].setdefault(bucket[0], []).append(bucket[1])
    risky = 0
    for hour, temps in hourly[TEMPERATURE].items():
        hums = hourly[HUMIDITY].get(hour)
        if hums and mould_risk(sum(temps) / len(temps), sum(hums) / len(hums))["level"] == "high":
            risky += 1
    # Every alarm of the month: raised in it, or raised before and still open at its start
    # (an alarm of the 31st resolved on the 2nd belongs to both months).
    month_alarms = list(
        Alarm.objects.filter(vault=vault, raised_at__lt=end)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=start))
        .select_related("sensor", "acknowledged_by", "resolved_by")
        .order_by("raised_at", "pk")
    )
    return {
        "vault": vault,
        "year": year,
        "month": month,
        "start": start,
        "end": end,
        "rows": rows,
        "alarms": month_alarms,
        "mould_hours": risky,
        "generated_at": _now(),
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _who(user) -> str:
    if user is None:
        return ""
    return getattr(user, "real_name", "") or user.get_username()


def _step(user, when: datetime | None) -> str:
    return f"{_who(user)} {_plain(when) if when else ''}".strip()


def report_table(report: dict) -> tuple[list[list[str]], list[list[str]]]:
    """The two tables of the report as text: sensors and alarms."""
    sensors = [
        [
            _("传感器"),
            _("类型"),
            _("读数"),
            _("最低"),
            _("平均"),
            _("最高"),
            _("范围"),
            _("达标时间占比"),
        ]
    ]
    for r in report["rows"]:
        s = r["sensor"]
        if r["events"] is not None:
            limits = _("报警次数 %(n)d") % {"n": r["events"]}
            share = "—"
        else:
            limits = f"{_num(r['low'])}–{_num(r['high'])} {s.kind.unit}"
            share = _pct(r["in_range"])
        sensors.append(
            [
                f"{s.code} {s.name}".strip(),
                s.kind.name,
                str(r["count"]),
                _num(r["min"]),
                _num(r["avg"]),
                _num(r["max"]),
                limits,
                share,
            ]
        )
    alarms_rows = [
        [
            _("发生时间"),
            _("类型"),
            _("说明"),
            _("次数"),
            _("状态"),
            _("确认"),
            _("解除"),
            _("处置说明"),
        ]
    ]
    for a in report["alarms"]:
        alarms_rows.append(
            [
                _plain(a.raised_at),
                a.get_kind_display(),
                a.message,
                str(a.occurrences),
                a.get_status_display(),
                _step(a.acknowledged_by, a.acknowledged_at),
                _step(a.resolved_by, a.resolved_at),
                a.resolve_note,
            ]
        )
    return sensors, alarms_rows


def _report_title(report: dict) -> str:
    return _("%(vault)s %(y)d年%(m)d月 环境报告") % {
        "vault": report["vault"].name,
        "y": report["year"],
        "m": report["month"],
    }


def report_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    sensors, alarms_rows = report_table(report)
    book = Workbook()
    sheet = book.active
    sheet.title = _("环境概况")
    sheet.append([_report_title(report)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([_("霉变高风险小时数"), report["mould_hours"]])
    sheet.append([])
    for row in sensors:
        sheet.append(row)
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    sheet2 = book.create_sheet(_("告警记录"))
    for row in alarms_rows:
        sheet2.append(row)
    for cell in sheet2[1]:
        cell.font = Font(bold=True)
    for ws in (sheet, sheet2):
        for column in ws.columns:
            width = max(len(str(c.value or "")) for c in column)
            ws.column_dimensions[column[0].column_letter].width = min(60, max(10, width * 1.6))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def _pdf_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        pdfmetrics.getFont("WQY")
        return "WQY"
    except KeyError:
        pass
    try:
        pdfmetrics.registerFont(TTFont("WQY", FONT_PATH, subfontIndex=0))
        return "WQY"
    except Exception:  # no font file: the CID font needs none
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        return "STSong-Light"


def report_pdf(report: dict) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _pdf_font()
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=10, wordWrap="CJK")
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=20)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=_report_title(report),
    )
    sensors, alarms_rows = report_table(report)

    def table(rows: list[list[str]], widths: list[float]) -> Table:
        cells = [
            [Paragraph(str(c).replace("&", "&amp;").replace("<", "&lt;"), body) for c in r]
            for r in rows
        ]
        t = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return t

    story = [
        Paragraph(_report_title(report), title),
        Paragraph(
            _("统计期间：%(s)s 至 %(e)s；霉变高风险小时数：%(h)d；生成时间：%(g)s")
            % {
                "s": report["start"].strftime("%Y-%m-%d"),
                "e": (report["end"] - timedelta(days=1)).strftime("%Y-%m-%d"),
                "h": report["mould_hours"],
                "g": _plain(report["generated_at"]),
            },
            body,
        ),
        Spacer(1, 4 * mm),
        table(sensors, [60, 30, 20, 20, 20, 20, 45, 30]),
        Spacer(1, 6 * mm),
        Paragraph(_("告警记录（共 %(n)d 条）") % {"n": len(report["alarms"])}, title),
        table(alarms_rows, [32, 22, 80, 12, 16, 32, 32, 47]),
    ]
    doc.build(story)
    return buffer.getvalue()


def export_report(user, vault: Vault, year: int, month: int, fmt: str) -> tuple[bytes, str, str]:
    """The monthly report as ``pdf`` or ``xlsx``: (content, content type, file name). Audited."""
    if fmt not in {"pdf", "xlsx"}:
        raise ValidationError({"format": [_("格式应为 pdf 或 xlsx。")]})
    report = monthly_report(user, vault, year, month)
    if fmt == "pdf":
        content, ctype = report_pdf(report), "application/pdf"
    else:
        content = report_xlsx(report)
        ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"env-{vault.code}-{year:04d}{month:02d}.{fmt}"
    with transaction.atomic():
        record(
            AuditAction.EXPORT,
            actor=user,
            obj=vault,
            detail={"report": f"{year:04d}-{month:02d}", "format": fmt},
        )
    return content, ctype, name
