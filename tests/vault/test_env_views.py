# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""Environment screens, the batch endpoint, charts and the monthly report."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from lantai.audit.models import AuditAction, AuditEntry
from lantai.vault import services_env as env
from lantai.vault.models import Alarm, AlarmStatus, Reading, ReadingRollup, Sensor
from vault.env_world import envw, minutes_ago  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
URL = "/api/v1/vault/readings"


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_batch_endpoint_with_a_device_token(envw):
    device, token = env.issue_token(None, "网关一", envw.vault)
    body = {
        "readings": [
            envw.reading(envw.temp, 21, minutes_ago(2)),
            envw.reading(envw.temp, float("nan"), minutes_ago(1)),
            envw.reading(envw.other_temp, 21, minutes_ago(1)),  # another vault's sensor
        ]
    }
    c = Client()
    r = c.post(
        URL,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["accepted"] == 1 and data["counts"] == {
        "accepted": 1,
        "not_a_number": 1,
        "wrong_vault": 1,
    }
    assert {x["reason"] for x in data["rejects"]} == {"not_a_number", "wrong_vault"}
    # Not JSON at all: 400, counted.
    r = c.post(
        URL,
        data=b"{oops",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 400 and r.json()["counts"] == {"malformed": 1}
    # No token, a wrong one or a revoked one: 401.
    assert c.post(URL, data="[]", content_type="application/json").status_code == 401
    assert (
        c.post(
            URL,
            data="[]",
            content_type="application/json",
            headers={"Authorization": "Bearer nope"},
        ).status_code
        == 401
    )
    env.revoke_token(None, device)
    assert (
        c.post(
            URL,
            data="[]",
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        ).status_code
        == 401
    )


def test_batch_endpoint_with_a_keeper_session(envw):
    body = json.dumps([envw.reading(envw.hum, 50, minutes_ago(1))])
    keeper = Client(enforce_csrf_checks=True)
    keeper.force_login(envw.keeper)
    assert keeper.post(URL, data=body, content_type="application/json").status_code == 403  # CSRF
    keeper.get(reverse("vault:env_dashboard"))
    csrf = keeper.cookies["csrftoken"].value
    r = keeper.post(URL, data=body, content_type="application/json", headers={"X-CSRFToken": csrf})
    assert r.status_code == 200 and r.json()["accepted"] == 1
    archivist = client_for(envw.archivist)
    assert archivist.post(URL, data=body, content_type="application/json").status_code == 403


def test_dashboard_status_and_badge(envw):
    env.ingest(
        [envw.reading(envw.temp, 30, minutes_ago(1)), envw.reading(envw.hum, 52, minutes_ago(1))],
        source="http",
    )
    c = client_for(envw.keeper)
    page = c.get(reverse("vault:env_dashboard")).content.decode()
    assert "一号库房" in page and "高于上限" in page and 'hx-get="/vault/env/status/"' in page
    assert 'data-mould="low"' in page
    badge = c.get(reverse("vault:env_alarm_badge")).content.decode()
    assert "告警 1" in badge
    assert client_for(envw.public).get(reverse("vault:env_dashboard")).status_code == 403
    # The archivist may look, not act.
    alarm = Alarm.objects.get()
    page = (
        client_for(envw.archivist)
        .get(reverse("vault:env_alarm_detail", args=[alarm.pk]))
        .content.decode()
    )
    assert "确认告警" not in page


def test_acknowledge_and_resolve_through_the_screens(envw):
    env.ingest([envw.reading(envw.smoke, 1, minutes_ago(1))], source="http")
    alarm = Alarm.objects.get()
    c = client_for(envw.keeper)
    r = c.post(reverse("vault:env_alarm_resolve", args=[alarm.pk]), {"note": "x"})
    assert r.status_code == 422 and "请先确认" in r.content.decode()
    r = c.post(reverse("vault:env_alarm_acknowledge", args=[alarm.pk]), {"note": "前往现场"})
    assert r.status_code == 302
    r = c.post(reverse("vault:env_alarm_resolve", args=[alarm.pk]), {"note": ""})
    assert r.status_code == 422 and "请填写处置说明" in r.content.decode()
    r = c.post(
        reverse("vault:env_alarm_resolve", args=[alarm.pk]),
        {"note": "误报：烟感被灰尘触发，已清洁"},
    )
    assert r.status_code == 302
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.RESOLVED and alarm.resolved_by == envw.keeper
    assert (
        client_for(envw.archivist)
        .post(reverse("vault:env_alarm_acknowledge", args=[alarm.pk]))
        .status_code
        == 403
    )


def test_sensor_registry_screens(envw):
    c = client_for(envw.keeper)
    r = c.post(
        reverse("vault:env_sensor_new"),
        {"code": "bad code!", "vault": "", "kind": "temperature", "heartbeat_seconds": "5"},
    )
    assert r.status_code == 422
    text = r.content.decode()
    assert "传感器编号只能由" in text and "请选择库房" in text and "心跳间隔" in text
    r = c.post(
        reverse("vault:env_sensor_new"),
        {
            "code": "K01-T2",
            "name": "二号温度",
            "vault": envw.vault.pk,
            "kind": "temperature",
            "low": "15",
            "high": "22",
            "heartbeat_seconds": "120",
            "active": "true",
        },
    )
    assert r.status_code == 302
    sensor = Sensor.objects.get(code="K01-T2")
    assert (sensor.low, sensor.high, sensor.heartbeat_seconds) == (15, 22, 120)
    assert AuditEntry.objects.filter(
        object_type="vault.sensor", object_id=str(sensor.pk), action=AuditAction.CREATE
    ).exists()
    r = c.post(
        reverse("vault:env_sensor_edit", args=[sensor.pk]),
        {
            "code": "K01-T2",
            "vault": envw.vault.pk,
            "kind": "temperature",
            "low": "25",
            "high": "22",
            "heartbeat_seconds": "120",
        },
    )
    assert r.status_code == 422 and "报警上限应大于下限" in r.content.decode()
    assert client_for(envw.archivist).get(reverse("vault:env_sensor_new")).status_code == 403
    page = c.get(reverse("vault:env_sensors")).content.decode()
    assert "lantai/vault/K01/K01-T2" in page and "防潮" in page


def test_the_eight_guards_list_is_configurable(envw):
    """监测类型 (the 八防 list): keepers add, change and delete kinds on screens; a new kind
    works end to end (its physical range makes faults, a sensor's limits make alarms); a kind
    in use cannot be deleted or recoded; a deleted kind stays deleted after ``migrate``."""
    from django.apps import apps

    from lantai.vault.models import AlarmKind, SensorKind
    from lantai.vault.signals import seed_sensor_kinds

    c = client_for(envw.keeper)
    page = c.get(reverse("vault:env_sensors")).content.decode()
    assert reverse("vault:env_kind_new") in page
    r = c.post(
        reverse("vault:env_kind_new"),
        {"code": "CO2!", "name": "", "physical_min": "5000", "physical_max": "0"},
    )
    assert r.status_code == 422
    text = r.content.decode()
    assert "代码应为小写字母开头" in text and "请填写名称" in text and "物理上限应大于下限" in text
    r = c.post(
        reverse("vault:env_kind_new"),
        {
            "code": "co2",
            "name": "二氧化碳",
            "guard": "防有害气体",
            "unit": "ppm",
            "physical_min": "0",
            "physical_max": "5000",
            "binary": "false",
        },
    )
    assert r.status_code == 302
    co2 = SensorKind.objects.get(code="co2")
    assert (co2.name, co2.unit, co2.physical_max, co2.binary) == ("二氧化碳", "ppm", 5000, False)
    assert AuditEntry.objects.filter(
        object_type="vault.sensorkind", object_id=str(co2.pk), action=AuditAction.CREATE
    ).exists()

    # The new kind in use: a sensor with its own high limit alarms; an impossible value is a
    # sensor fault.
    sensor = env.save_sensor(
        envw.keeper, {"code": "K01-C1", "vault": envw.vault, "kind": "co2", "high": "1000"}
    )
    result = env.ingest(
        [envw.reading(sensor, 1500, minutes_ago(2)), envw.reading(sensor, 9000, minutes_ago(1))],
        source="http",
    )
    assert result.counts == {"accepted": 1, "impossible": 1}
    assert set(Alarm.objects.filter(sensor=sensor).values_list("kind", flat=True)) == {
        AlarmKind.THRESHOLD,
        AlarmKind.FAULT,
    }

    # Renaming is fine; recoding or deleting a kind in use is not.
    r = c.post(
        reverse("vault:env_kind_edit", args=[co2.pk]),
        {
            "code": "co2",
            "name": "CO₂ 浓度",
            "unit": "ppm",
            "physical_min": "0",
            "physical_max": "5000",
        },
    )
    assert r.status_code == 302
    co2.refresh_from_db()
    assert co2.name == "CO₂ 浓度"
    r = c.post(
        reverse("vault:env_kind_edit", args=[co2.pk]),
        {"code": "carbon", "name": "CO₂", "physical_min": "0", "physical_max": "5000"},
    )
    assert r.status_code == 422 and "代码不能修改" in r.content.decode()
    r = c.post(reverse("vault:env_kind_delete", args=[co2.pk]), follow=True)
    assert "不能删除" in r.content.decode()
    assert SensorKind.objects.filter(code="co2").exists()

    # An archive without rodent traps takes that line off its list; it stays off after the
    # next ``migrate`` (post_migrate seeds only an empty table).
    rodent = SensorKind.objects.get(code="rodent")
    r = c.post(reverse("vault:env_kind_delete", args=[rodent.pk]))
    assert r.status_code == 302
    assert not SensorKind.objects.filter(code="rodent").exists()
    assert AuditEntry.objects.filter(
        object_type="vault.sensorkind", object_id=str(rodent.pk), action=AuditAction.DELETE
    ).exists()
    seed_sensor_kinds(sender=None, app_config=apps.get_app_config("vault"))
    assert not SensorKind.objects.filter(code="rodent").exists()

    # Only keepers configure the list.
    for user in (envw.archivist, envw.public):
        other = client_for(user)
        assert other.get(reverse("vault:env_kind_new")).status_code == 403
        assert other.post(reverse("vault:env_kind_delete", args=[co2.pk])).status_code == 403
        assert (
            other.post(reverse("vault:env_kind_edit", args=[co2.pk]), {"name": "x"}).status_code
            == 403
        )
    assert SensorKind.objects.get(pk=co2.pk).name == "CO₂ 浓度"


def test_chart_series_24h_30d_1y(envw):
    now = timezone.now().replace(second=0, microsecond=0)
    readings = [
        envw.reading(envw.temp, 20 + (i % 10) / 10, now - timedelta(minutes=i))
        for i in range(0, 3000)
    ]
    env.ingest(readings, source="csv")
    env.rollup(now - timedelta(days=3), now)
    c = client_for(envw.archivist)
    url = reverse("vault:env_sensor_series", args=[envw.temp.pk])
    before = timezone.now()
    day = c.get(url, {"span": "24h"}).json()
    after = timezone.now()

    # The window ends at the request's own clock, which may be a minute or more past ``now``
    # on a loaded machine: expect the readings of the last 24 hours as of then.
    def last_day(at):
        return sum(1 for i in range(3000) if now - timedelta(minutes=i) >= at - timedelta(days=1))

    assert last_day(after) <= len(day["points"]) <= last_day(before)
    assert 1400 < len(day["points"]) <= 1441
    assert day["limits"] == {"low": 14.0, "high": 24.0}
    assert day["points"][0][0] < day["points"][-1][0]
    month = c.get(url, {"span": "30d"}).json()
    assert len(month["points"]) == 3000
    year = c.get(url, {"span": "1y"}).json()
    hours = ReadingRollup.objects.filter(sensor=envw.temp, bucket_seconds=3600).count()
    assert len(year["points"]) == hours and len(year["min"]) == hours and hours >= 50
    assert c.get(url, {"span": "5y"}).status_code == 422
    page = c.get(reverse("vault:env_sensor_detail", args=[envw.temp.pk])).content.decode()
    assert "lantai/vendor/echarts.min.js" in page and "vault/env-chart.js" in page


def test_time_range_queries_use_indexes(envw):
    """The queries behind charts, reports and retention read an index, not the whole table
    (on PostgreSQL with sequential scans switched off, so the tiny test table does not tempt
    the planner into one)."""
    from django.db import connection

    now = timezone.now()
    env.ingest(
        [envw.reading(s, 20, minutes_ago(i)) for s in (envw.temp, envw.hum) for i in range(1, 50)],
        source="csv",
    )
    env.rollup(now - timedelta(hours=2), now)
    day = now - timedelta(days=1)
    queries = {
        # series(): one sensor's raw readings over a range, by time
        "chart": Reading.objects.filter(sensor=envw.temp, ts__gte=day, ts__lte=now)
        .order_by("ts")
        .values_list("ts", "value"),
        # series() for 1 year and the report's hourly means: one sensor's rollups of one size
        "rollups": ReadingRollup.objects.filter(
            sensor=envw.temp, bucket_seconds=3600, ts__gte=day, ts__lte=now
        )
        .order_by("ts")
        .values_list("ts", "avg_value"),
        # prune(): everything older than the retention, across sensors
        "retention": Reading.objects.filter(ts__lt=day).values_list("pk"),
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
    try:
        for name, qs in queries.items():
            plan = qs.explain()
            if connection.vendor == "sqlite":
                # SEARCH ... USING (COVERING) INDEX; a full table or index walk says SCAN.
                assert "SEARCH" in plan and "INDEX" in plan and "SCAN" not in plan, (name, plan)
            else:
                assert "Index" in plan and "Seq Scan" not in plan, (name, plan)
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("RESET enable_seqscan")


def test_rollups_and_retention(envw, settings):
    settings.LANTAI_VAULT_RAW_DAYS = 2
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    old = [
        envw.reading(envw.hum, 50 + (i % 3), now - timedelta(days=4, minutes=i))
        for i in range(1, 121)
    ]
    fresh = [envw.reading(envw.hum, 55, now - timedelta(minutes=i)) for i in range(1, 30)]
    env.ingest(old + fresh, source="csv")
    result = env.maintain(now=now)
    assert result["readings"] == 120
    assert Reading.objects.filter(sensor=envw.hum).count() == 29
    hourly = ReadingRollup.objects.filter(
        sensor=envw.hum, bucket_seconds=3600, ts__lt=now - timedelta(days=3)
    )
    assert sum(r.count for r in hourly) == 120
    ten = ReadingRollup.objects.filter(
        sensor=envw.hum, bucket_seconds=600, ts__lt=now - timedelta(days=3)
    )
    assert (
        len(ten) == 12
        and min(r.min_value for r in ten) == 50
        and max(r.max_value for r in ten) == 52
    )
    assert all(r.ts.minute % 10 == 0 and r.ts.second == 0 for r in ten)
    # 30 days now mixes 10-minute averages (before retention) and raw readings.
    series = env.series(envw.keeper, envw.hum, "30d", now=now)
    assert len(series["points"]) == 12 + 29


def test_monthly_report_pdf_and_xlsx(envw):
    now = timezone.localtime()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    # 100 readings this month: 75 in range, 25 too warm.
    readings = [
        envw.reading(envw.temp, 20 if i < 75 else 26, start + timedelta(minutes=i))
        for i in range(100)
    ]
    readings = [r for r in readings if env.parse_timestamp(r["ts"]) < timezone.now()]
    env.ingest(readings, source="csv")
    month = f"{now.year:04d}-{now.month:02d}"
    report = env.monthly_report(envw.keeper, envw.vault, now.year, now.month)
    row = next(r for r in report["rows"] if r["sensor"] == envw.temp)
    n = len(readings)
    assert row["count"] == n and row["in_range"] == pytest.approx(min(75, n) / n)
    assert len(report["alarms"]) == (1 if n > 75 else 0)
    c = client_for(envw.keeper)
    pdf = c.get(
        reverse("vault:env_report"), {"vault": envw.vault.pk, "month": month, "format": "pdf"}
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = c.get(
        reverse("vault:env_report"), {"vault": envw.vault.pk, "month": month, "format": "xlsx"}
    )
    book = load_workbook(io.BytesIO(xlsx.content))
    cells = [c.value for row in book.worksheets[0].iter_rows() for c in row]
    assert "K01-T1 K01-T1" in cells and f"{min(75, n) / n * 100:.1f}%" in cells
    assert book.worksheets[1].max_row == 1 + len(report["alarms"])
    assert (
        AuditEntry.objects.filter(action=AuditAction.EXPORT, object_type="vault.vault").count() == 2
    )
    page = c.get(reverse("vault:env_report"), {"vault": envw.vault.pk, "month": "2026-13"})
    assert page.status_code == 422 and "月份" in page.content.decode()


def test_monthly_report_of_a_month_past_retention(envw, settings):
    """March 2025, a reading every 10 minutes, raw readings kept only from the 15th: the
    report still covers the whole month (10-minute rollups before, raw after), counts a
    switch's events on both sides, finds the hours of mould risk, and lists every alarm open
    during the month — also one raised in February and resolved in March."""
    from datetime import datetime

    from lantai.vault.models import AlarmKind
    from vault.env_world import make_sensor

    tz = timezone.get_default_timezone()
    start = datetime(2025, 3, 1, tzinfo=tz)
    end = datetime(2025, 4, 1, tzinfo=tz)
    door = make_sensor(envw.vault, "K01-D9", "door")
    hot = {datetime(2025, 3, 3, 10, tzinfo=tz) + timedelta(minutes=10 * i) for i in range(12)}
    damp = {datetime(2025, 3, 20, 0, tzinfo=tz) + timedelta(minutes=10 * i) for i in range(30)}
    opened = {
        datetime(2025, 3, 4, 9, tzinfo=tz),  # Tuesday mornings: within working hours
        datetime(2025, 3, 4, 9, 10, tzinfo=tz),
        datetime(2025, 3, 4, 9, 20, tzinfo=tz),
        datetime(2025, 3, 25, 9, tzinfo=tz),
        datetime(2025, 3, 25, 9, 10, tzinfo=tz),
    }
    moments = []
    t = start
    while t < end:
        moments.append(t)
        t += timedelta(minutes=10)
    assert len(moments) == 4464
    readings = []
    for m in moments:
        readings.append(envw.reading(envw.temp, 26 if m in hot else 20, m))
        readings.append(envw.reading(envw.hum, 85 if m in damp else 50, m))
        readings.append(envw.reading(door, 1 if m in opened else 0, m))
    for i in range(0, len(readings), 10_000):
        env.ingest(readings[i : i + 10_000], source="csv")

    # Retention of one day, pruned "on the 16th": raw readings before the 15th are gone; the
    # periodic rollup has covered the rest.
    settings.LANTAI_VAULT_RAW_DAYS = 1
    env.prune(now=datetime(2025, 3, 16, tzinfo=tz))
    env.rollup(datetime(2025, 3, 15, tzinfo=tz), end)
    assert Reading.objects.filter(sensor=envw.temp).count() == 4464 - 14 * 144
    assert not Reading.objects.filter(ts__lt=datetime(2025, 3, 15, tzinfo=tz)).exists()

    # Alarms around the month.
    def alarm(raised, resolved=None, **extra):
        return Alarm.objects.create(
            vault=envw.vault,
            sensor=envw.hum,
            kind=AlarmKind.THRESHOLD,
            condition=f"threshold:test:{raised:%m%d}",
            message="湿度超限",
            raised_at=raised,
            last_seen_at=raised,
            status=AlarmStatus.RESOLVED if resolved else AlarmStatus.RAISED,
            resolved_at=resolved,
            **extra,
        )

    across = alarm(
        datetime(2025, 2, 27, tzinfo=tz),
        datetime(2025, 3, 2, tzinfo=tz),
        acknowledged_by=envw.keeper,
        acknowledged_at=datetime(2025, 2, 27, 1, tzinfo=tz),
        resolved_by=envw.keeper,
        resolve_note="更换除湿机滤网",
    )
    still_open = alarm(datetime(2025, 2, 20, tzinfo=tz))
    february = alarm(datetime(2025, 2, 10, tzinfo=tz), datetime(2025, 2, 12, tzinfo=tz))
    april = alarm(datetime(2025, 4, 1, tzinfo=tz))

    report = env.monthly_report(envw.archivist, envw.vault, 2025, 3)
    rows = {r["sensor"].code: r for r in report["rows"]}
    temp = rows["K01-T1"]
    assert temp["count"] == 4464
    assert temp["in_range"] == pytest.approx((4464 - 12) / 4464)
    assert (temp["min"], temp["max"]) == (20, 26)
    assert temp["avg"] == pytest.approx((4452 * 20 + 12 * 26) / 4464)
    hum = rows["K01-H1"]
    assert hum["count"] == 4464 and hum["in_range"] == pytest.approx((4464 - 30) / 4464)
    assert rows["K01-D9"]["count"] == 4464 and rows["K01-D9"]["events"] == 5
    # 20 ℃ at 85 %RH for five hours: above the critical RH (about 80 %) → high mould risk.
    assert report["mould_hours"] == 5
    listed = {a.pk for a in report["alarms"]}
    assert {across.pk, still_open.pk} <= listed
    assert not {february.pk, april.pk} & listed
    # The alarms the readings themselves raised on the 3rd (too warm, too fast) are there too.
    hot_alarms = Alarm.objects.filter(sensor=envw.temp, raised_at__gte=start)
    assert hot_alarms.exists() and set(hot_alarms.values_list("pk", flat=True)) <= listed

    c = client_for(envw.keeper)
    xlsx = c.get(
        reverse("vault:env_report"), {"vault": envw.vault.pk, "month": "2025-03", "format": "xlsx"}
    )
    book = load_workbook(io.BytesIO(xlsx.content))
    cells = [c.value for row in book.worksheets[0].iter_rows() for c in row]
    assert f"{(4464 - 12) / 4464 * 100:.1f}%" in cells and "4464" in cells
    notes = [c.value for row in book.worksheets[1].iter_rows() for c in row]
    assert "更换除湿机滤网" in notes
    assert any(str(v or "").startswith(envw.keeper.get_username()) for v in notes)
    pdf = c.get(
        reverse("vault:env_report"), {"vault": envw.vault.pk, "month": "2025-03", "format": "pdf"}
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_csv_import_screen_and_ingest_stats(envw):
    c = client_for(envw.keeper)
    first, second = minutes_ago(3).isoformat(), minutes_ago(2).isoformat()
    content = f"sensor,ts,value\nK01-T1,{first},20\nK01-T1,{second},abc\n"
    upload = io.BytesIO(content.encode())
    upload.name = "r.csv"
    r = c.post(reverse("vault:env_import"), {"file": upload})
    assert r.status_code == 200 and "入库 1 条" in r.content.decode()
    # Outcomes are shown by label, never as raw codes.
    assert "读数不是有效数字" in r.content.decode() and "not_a_number" not in r.content.decode()
    page = c.get(reverse("vault:env_ingest")).content.decode()
    assert "读数不是有效数字" in page and "csv" in page
    r = c.post(reverse("vault:env_import"), {})
    assert r.status_code == 422


def test_token_screen_shows_the_token_once(envw):
    c = client_for(envw.keeper)
    r = c.post(reverse("vault:env_tokens"), {"name": "网关二", "vault": envw.vault.pk})
    text = r.content.decode()
    token = re.search(r"<code>(lt_[A-Za-z0-9_-]+)</code>", text).group(1)
    assert "只显示这一次" in text and env.authenticate_token(token) is not None
    assert token not in c.get(reverse("vault:env_tokens")).content.decode()
    assert c.post(reverse("vault:env_tokens"), {"name": ""}).status_code == 422


def test_hand_edited_parameters_are_no_server_error(envw):
    """?vault=abc on the alarm list and the report, a vault that no longer exists when a token
    is issued (refused, never a token for every vault), a revoke of nothing."""
    from lantai.vault.models import DeviceToken

    c = client_for(envw.keeper)
    assert c.get(reverse("vault:env_alarms"), {"vault": "abc"}).status_code == 200
    assert c.get(reverse("vault:env_report"), {"vault": "1; drop"}).status_code == 200
    r = c.post(reverse("vault:env_tokens"), {"name": "网关三", "vault": "99999"})
    assert r.status_code == 422 and "所选库房不存在" in r.content.decode()
    r = c.post(reverse("vault:env_tokens"), {"name": "网关三", "vault": "K01"})
    assert r.status_code == 422
    assert not DeviceToken.objects.filter(name="网关三").exists()
    assert c.post(reverse("vault:env_tokens"), {"revoke": "x"}).status_code == 404
