"""Demo extras 演示数据（扩展）: what ``lantai demo`` adds after the holdings, so an archivist sees
every capability on the first screen they open.

Each part runs through the owning app's services (the same rules, the same audit trail) and is

- *idempotent*: a part already present is left alone (``already``), so running it again adds
  nothing;
- *optional*: a part whose app or service is not installed is skipped with a message;
- *all or nothing*: each part runs in its own transaction, except online archiving, whose
  pipeline commits step by step by design (files go to storage, the fixity audit verifies them
  from worker threads); that part is idempotent per SIP through its Idempotency-Key.

Parts, in order: accession 接收征集, shelves 库房与架位 (vaults with JGJ 25-2010 limits,
locations, boxes, placements, circulations, the entry log), environment 库房环境 (the 八防 sensor
registry, a week of readings through the ingest service, rollups, alarms), online archiving
在线归档 (an API token, a few born-digital SIPs, AIPs and PREMIS events, a fixity audit),
livelihood ID numbers and the person index; then the newer areas, each seeded by its own app's
``demo`` module (``APP_SEEDS``; shared helpers in ``holdings.demo.support``): opening review
开放鉴定, use requests 档案利用, cross-archive requests 跨馆出证, supervision 业务指导 and
outreach 宣传与编研. The statistics 统计年报 need no part: they count those records.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import io
import json
import logging
import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from lantai.audit.models import AuditAction
from lantai.audit.services import record

log = logging.getLogger(__name__)

#: Status of one part.
DONE, ALREADY, SKIPPED, FAILED = "done", "already", "skipped", "failed"

DEFAULT_PLACEMENTS = 3000
DEFAULT_ENV_DAYS = 7
#: Hourly temperature/humidity before the detailed week, so the 30-day chart has data.
OLDER_DAYS = 30

INGEST_TOKEN_NAME = "演示：公文系统（OA）"  # noqa: S105 - a name
DEVICE_TOKEN_NAME = "演示：环境监测网关"  # noqa: S105 - a name
INGEST_UNIT = "DW002"  # 人民政府办公室
CIRCULATION_PURPOSES = (
    "编研：《兰台区志（1991—2020）》续修资料查阅",
    "利用：区民政局核对婚姻登记原件",
    "展览：“兰台记忆”档案展选件",
)


@dataclass
class PartResult:
    key: str
    label: str
    status: str
    message: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Secret:
    """A secret shown once in the final table (like the demo passwords)."""

    label: str
    name: str
    value: str


@dataclass
class ExtrasResult:
    parts: list[PartResult] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    seconds: float = 0.0

    def part(self, key: str) -> PartResult | None:
        return next((p for p in self.parts if p.key == key), None)


class _Skip(Exception):
    """A part cannot run here (app or service missing, nothing to work on)."""


def _require_app(label: str, *modules: str) -> list[Any]:
    if not apps.is_installed(f"lantai.{label}"):
        raise _Skip(_("未安装应用 lantai.%(app)s") % {"app": label})
    loaded = []
    for name in modules:
        try:
            loaded.append(importlib.import_module(name))
        except ImportError as exc:
            raise _Skip(_("缺少模块 %(m)s：%(e)s") % {"m": name, "e": exc}) from exc
    return loaded


def _need(module: Any, *names: str) -> None:
    missing = [n for n in names if not hasattr(module, n)]
    if missing:
        raise _Skip(_("%(m)s 缺少 %(f)s") % {"m": module.__name__, "f": "、".join(missing)})


def _demo_user(username: str):
    from lantai.accounts.models import User

    return User.objects.filter(username__iexact=username, is_active=True).first()


# --- 1. accession 接收与征集 ---------------------------------------------------------------------


def seed_accession() -> tuple[str, str, dict[str, int]]:
    (services,) = _require_app("accession", "lantai.accession.services")
    _need(services, "seed_demo_accession")
    from lantai.accession.models import AcquisitionCampaign, ReceiptPlan

    if ReceiptPlan.objects.exists() or AcquisitionCampaign.objects.exists():
        return ALREADY, _("已有接收计划或征集活动"), {}
    with transaction.atomic():
        created = services.seed_demo_accession()
    if not created.get("plans"):
        raise _Skip(_("没有门类或立档单位，无法生成接收计划"))
    return DONE, "", created


# --- 2. vault shelves 库房与架位 -----------------------------------------------------------------


@dataclass(frozen=True)
class VaultSpec:
    code: str
    name: str
    vault_type: str
    floor: str
    rows: str
    columns: str
    sections: str
    shelves: str
    capacity: int  # boxes per shelf location
    note: str = ""


VAULTS = (
    VaultSpec("K01", "纸质档案库（一）", "paper", "3F", "1-8", "1-2", "1-5", "1-6", 12, "密集架"),
    VaultSpec("K02", "纸质档案库（二）", "paper", "3F", "1-6", "1-2", "1-5", "1-6", 12, "密集架"),
    VaultSpec("K03", "特藏库", "special", "4F", "1-2", "1-2", "1-4", "1-5", 8, "1966年以前档案"),
    VaultSpec("K04", "音像磁性载体库", "magnetic", "4F", "1-2", "1", "1-4", "1-5", 10),
    VaultSpec("K05", "胶片母片库", "film_master", "4F", "1-2", "1", "1-3", "1-5", 10),
    VaultSpec("K06", "光盘库", "optical", "4F", "1-2", "1", "1-3", "1-6", 10),
    VaultSpec("K07", "实物库", "object", "2F", "1-3", "1", "1-4", "1-4", 6, "奖牌、印章、锦旗"),
)
#: Volumes standing directly on one shelf location.
VOLUMES_PER_LOCATION = 30
#: Items in one archive box 档案盒.
ITEMS_PER_BOX = 25


def _route(carrier: str, category: str, year: int, boxed: bool = False) -> str:
    """Which vault a physical record belongs in (by carrier, category and age): volumes 卷 in
    the first paper vault, boxed items 件 in the second."""
    if carrier == "object":
        return "K07"
    if carrier == "audiovisual":
        return {"LY": "K04", "LX": "K06", "ZP": "K05"}.get(category, "K04")
    if year < 1966:
        return "K03"
    return "K02" if boxed else "K01"


class _Shelves:
    """Fills a vault's locations in code order: volumes directly, items in boxes."""

    def __init__(self, vault, locations: list):
        self.vault = vault
        self.locations = locations
        self.pos = 0
        self.volumes_here = 0
        self.boxes_here = 0

    def _advance(self) -> None:
        self.pos += 1
        self.volumes_here = 0
        self.boxes_here = 0

    def full(self) -> bool:
        return self.pos >= len(self.locations)

    def spot_for_volume(self):
        while not self.full():
            if self.volumes_here < VOLUMES_PER_LOCATION and self.boxes_here == 0:
                self.volumes_here += 1
                return self.locations[self.pos]
            self._advance()
        return None

    def spot_for_box(self):
        while not self.full():
            loc = self.locations[self.pos]
            if self.volumes_here == 0 and (not loc.capacity or self.boxes_here < loc.capacity):
                self.boxes_here += 1
                return loc
            self._advance()
        return None


def seed_shelves(*, placements: int = DEFAULT_PLACEMENTS) -> tuple[str, str, dict[str, int]]:
    (shelves,) = _require_app("vault", "lantai.vault.services_shelves")
    _need(
        shelves,
        "create_vault",
        "create_locations",
        "request_circulation",
        "approve_circulation",
        "take_out",
        "return_lines",
        "log_entry",
        "log_exit",
    )
    from lantai.holdings.models import Item, Volume
    from lantai.vault.models import Box, Placement, Vault

    codes = [spec.code for spec in VAULTS]
    if Vault.objects.filter(code__in=codes).exists():
        return ALREADY, _("库房 %(c)s 已存在") % {"c": "、".join(codes[:1])}, {}
    keeper = _demo_user("keeper")
    counts: dict[str, int] = {}
    with transaction.atomic():
        vaults = {}
        for spec in VAULTS:
            vaults[spec.code] = shelves.create_vault(
                None,
                {
                    "code": spec.code,
                    "name": spec.name,
                    "vault_type": spec.vault_type,
                    "floor": spec.floor,
                    "note": spec.note,
                    "open_from": "08:30",
                    "open_until": "17:30",
                    "keepers": [keeper] if keeper else [],
                },
            )
            shelves.create_locations(
                None,
                vaults[spec.code],
                {
                    "rows": spec.rows,
                    "columns": spec.columns,
                    "sections": spec.sections,
                    "shelves": spec.shelves,
                    "capacity": spec.capacity,
                },
            )
        counts["vaults"] = len(vaults)
        fillers = {
            code: _Shelves(v, list(v.locations.order_by("code"))) for code, v in vaults.items()
        }
        counts["locations"] = sum(len(f.locations) for f in fillers.values())
        # Paper that does not fit one paper vault goes on in the other.
        overflow = {"K01": "K02", "K02": "K01"}

        def filler(code: str, want: Callable[[_Shelves], Any]):
            tried = set()
            while code and code not in tried:
                tried.add(code)
                spot = want(fillers[code])
                if spot is not None:
                    return spot
                code = overflow.get(code, "")
            return None

        # Physical records only (an electronic record has nothing to shelve); items inside a
        # volume stand with their volume.
        volume_quota = placements * 2 // 5
        volumes = list(
            Volume.objects.exclude(carrier="electronic")
            .filter(placement__isnull=True)
            .order_by("fonds__code", "category__code", "year", "id")
            .values_list("pk", "fonds_id", "category__code", "year", "carrier")[:volume_quota]
        )
        special = list(
            Item.objects.filter(volume__isnull=True, carrier__in=("audiovisual", "object"))
            .filter(placement__isnull=True)
            .order_by("fonds__code", "category__code", "year", "id")
            .values_list(
                "pk", "fonds_id", "fonds__code", "category__code", "year", "retention", "carrier"
            )[: placements // 5]
        )
        paper = list(
            Item.objects.filter(volume__isnull=True, carrier__in=("paper", "hybrid"))
            .filter(placement__isnull=True)
            .order_by("fonds__code", "category__code", "year", "retention", "id")
            .values_list(
                "pk", "fonds_id", "fonds__code", "category__code", "year", "retention", "carrier"
            )[: max(0, placements - len(volumes) - len(special))]
        )
        rows: list[Placement] = []
        for pk, _fonds, category, year, carrier in volumes:
            loc = filler(_route(carrier, category, year), lambda f: f.spot_for_volume())
            if loc is not None:
                rows.append(Placement(volume_id=pk, location=loc))
        # Items go in boxes of one fonds, category, year and retention (盒脊 says so).
        groups: dict[tuple, list[tuple]] = {}
        for row in special + paper:
            pk, fonds_id, fonds_code, category, year, retention, carrier = row
            vault_code = _route(carrier, category, year, boxed=True)
            key = (vault_code, fonds_id, fonds_code, category, year, retention)
            groups.setdefault(key, []).append(pk)
        boxes: list[tuple[Box, list[int]]] = []
        numbers: dict[tuple, int] = {}
        for (vault_code, fonds_id, fonds_code, category, year, retention), pks in groups.items():
            for start in range(0, len(pks), ITEMS_PER_BOX):
                loc = filler(vault_code, lambda f: f.spot_for_box())
                if loc is None:
                    break
                scope = (fonds_code, category, year, retention)
                numbers[scope] = numbers.get(scope, 0) + 1
                box = Box(
                    code=f"{fonds_code}-{category}-{year}-{retention}-H{numbers[scope]:03d}",
                    location=loc,
                    fonds_id=fonds_id,
                    title=_("%(f)s %(c)s %(y)d年 %(r)s")
                    % {
                        "f": fonds_code,
                        "c": category,
                        "y": year,
                        "r": retention,
                    },
                )
                boxes.append((box, pks[start : start + ITEMS_PER_BOX]))
        Box.objects.bulk_create([b for b, _pks in boxes], batch_size=1000)
        saved = {b.code: b for b in Box.objects.filter(code__in=[b.code for b, _pks in boxes])}
        for box, pks in boxes:
            rows.extend(Placement(item_id=pk, box=saved[box.code]) for pk in pks)
        Placement.objects.bulk_create(rows, batch_size=2000)
        counts["boxes"] = len(boxes)
        counts["placements"] = len(rows)
        # One summary entry per vault instead of one per record: a few thousand identical
        # "上架" lines would bury the trail (the holdings load is summarised the same way).
        vault_of = {loc.pk: f.vault.pk for f in fillers.values() for loc in f.locations}
        per_vault: dict[int, int] = {}
        for p in rows:
            vault_id = vault_of[p.box.location_id if p.box_id else p.location_id]
            per_vault[vault_id] = per_vault.get(vault_id, 0) + 1
        for vault in vaults.values():
            record(
                AuditAction.UPDATE,
                obj=vault,
                username="lantai demo",
                detail={
                    "event": "demo_shelving",
                    "placed": per_vault.get(vault.pk, 0),
                    "boxes": sum(1 for b, _p in boxes if b.location.vault_id == vault.pk),
                },
            )
        counts.update(_seed_circulations(shelves, vaults, keeper))
    message = "" if keeper else _("没有演示库管员账户：未登记出库单和库房出入")
    return DONE, message, counts


def _seed_circulations(shelves, vaults: dict, keeper) -> dict[str, int]:
    """Three circulations (overdue out, awaiting approval, returned) and the entry log."""
    from lantai.vault.models import Circulation, Placement

    requester = _demo_user("archivist")
    if keeper is None or requester is None:
        return {}
    now = timezone.now()
    shelved = list(
        Placement.objects.filter(volume__isnull=False)
        .select_related("volume")
        .order_by("volume__reference_code")[:6]
    )
    shelved += list(
        Placement.objects.filter(item__isnull=False)
        .select_related("item")
        .order_by("item__reference_code")[:6]
    )
    targets = [p.volume or p.item for p in shelved]
    if len(targets) < 3:
        return {}
    chunks = [targets[0:2] + targets[6:7], targets[2:4], targets[4:6] + targets[7:8]]
    made = []
    for purpose, chunk in zip(CIRCULATION_PURPOSES, chunks, strict=True):
        if chunk:
            made.append(
                shelves.request_circulation(requester, {"purpose": purpose, "targets": chunk})
            )
    if not made:
        return {}
    # 1: taken out twelve days ago and five days overdue (催还 shows it).
    overdue = shelves.approve_circulation(keeper, made[0])
    overdue = shelves.take_out(keeper, overdue)
    # The demo happens "now"; the dates are moved back afterwards so the list reads like a
    # month of work (the audit trail keeps the real moments).
    days = dt.timedelta(days=1)
    Circulation.objects.filter(pk=overdue.pk).update(
        requested_at=now - 13 * days,
        approved_at=now - 12 * days - dt.timedelta(hours=3),
        out_at=now - 12 * days,
        due_at=now - 5 * days,
    )
    Circulation.objects.filter(pk=made[1].pk).update(requested_at=now - dt.timedelta(hours=5))
    # 2 stays requested (awaiting the keeper's approval); 3 went out and came back.
    if len(made) > 2:
        back = shelves.approve_circulation(keeper, made[2])
        back = shelves.take_out(keeper, back)
        shelves.return_lines(keeper, back)
        Circulation.objects.filter(pk=back.pk).update(
            requested_at=now - 9 * days,
            approved_at=now - 9 * days + dt.timedelta(hours=2),
            out_at=now - 8 * days,
            due_at=now - 1 * days,
            returned_at=now - 2 * days,
        )
        back.lines.update(returned_at=now - 2 * days)
    k01 = vaults["K01"]
    entries = [
        (k01, 12, 9, 40, _("调档出库"), overdue.number),
        (vaults["K03"], 6, 14, 25, _("特藏库例行巡查"), None),
        (vaults["K05"], 4, 10, 30, _("胶片母片库温湿度复核"), None),
        (k01, 2, 15, 50, _("新进馆档案上架"), None),
        (vaults["K07"], 1, 10, 15, _("实物档案清点"), None),
    ]
    for vault, days_ago, hour, minutes, reason, number in entries:
        day = timezone.localtime(now - dt.timedelta(days=days_ago))
        entered = day.replace(hour=hour, minute=0, second=0, microsecond=0)
        data = {
            "vault": vault,
            "person": keeper,
            "reason": reason,
            "entered_at": entered,
            "companions": _("李馆员") if number else "",
        }
        if number:
            data["circulation"] = number
        entry = shelves.log_entry(keeper, data)
        shelves.log_exit(keeper, entry, entered + dt.timedelta(minutes=minutes))
    return {"circulations": len(made), "entries": len(entries)}


# --- 3. vault environment 库房环境 --------------------------------------------------------------

#: (kind code, how many per vault type, seconds between readings, heartbeat, low, high)
SENSOR_PLAN = (
    ("temperature", {"paper": 2}, 600, 1800, None, None),
    ("humidity", {"paper": 2}, 600, 1800, None, None),
    ("smoke", {}, 600, 1800, None, None),
    ("water", {}, 600, 1800, None, None),
    ("door", {}, 600, 1800, None, None),
    ("light", {}, 1800, 3600, None, 100.0),
    (
        "uv",
        {"special": 1, "film_master": 1, "paper": 0, "magnetic": 0, "optical": 0},
        1800,
        3600,
        None,
        75.0,
    ),
    ("pm25", {}, 1800, 3600, None, 75.0),
    ("gas", {}, 1800, 3600, None, 10.0),
    ("pest", {}, 86400, 86400, None, 10.0),
    ("rodent", {"object": 1, "paper": 1}, 86400, 86400, None, 3.0),
)
KIND_LABEL = {
    "temperature": "温湿度计{n}·温度",
    "humidity": "温湿度计{n}·湿度",
    "smoke": "烟感探测器",
    "water": "水浸传感器",
    "door": "库门门磁",
    "light": "照度计",
    "uv": "紫外辐照计",
    "pm25": "颗粒物监测仪",
    "gas": "有害气体监测仪",
    "pest": "虫情诱捕器",
    "rodent": "鼠情监测器",
}
SHORT = {
    "temperature": "T",
    "humidity": "H",
    "smoke": "SMK",
    "water": "WAT",
    "door": "DOOR",
    "light": "LUX",
    "uv": "UV",
    "pm25": "PM25",
    "gas": "GAS",
    "pest": "PEST",
    "rodent": "RAT",
}


def _sensor_count(plan: dict, vault_type: str, kinds: set[str], code: str) -> int:
    if code not in kinds:
        return 0
    if code == "uv":
        return plan.get(vault_type, 0)
    if code == "rodent":
        return plan.get(vault_type, 0)
    return plan.get(vault_type, 1)


def seed_environment(*, days: int = DEFAULT_ENV_DAYS, older_days: int = OLDER_DAYS):
    env, simulate = _require_app("vault", "lantai.vault.services_env", "lantai.vault.simulate")
    _need(env, "save_sensor", "ingest", "acknowledge", "resolve", "rollup", "issue_token")
    _need(simulate, "value_at")
    from lantai.vault.models import Alarm, AlarmStatus, Sensor, SensorKind, Vault

    demo_vaults = list(Vault.objects.filter(code__in=[s.code for s in VAULTS]).order_by("code"))
    if not demo_vaults:
        raise _Skip(_("没有演示库房（库房与架位部分未加载）"))
    if Sensor.objects.filter(vault__in=demo_vaults).exists():
        return ALREADY, _("演示库房已登记传感器"), {}, None
    kinds = {k.code: k for k in SensorKind.objects.all()}
    if not {"temperature", "humidity"} <= set(kinds):
        raise _Skip(_("监测类型中缺少温度或湿度"))
    keeper = _demo_user("keeper")
    rng = random.Random(20_251_125)  # noqa: S311 - demo data, not secrets
    now = timezone.now().replace(microsecond=0)
    counts: dict[str, int] = {}
    secret = None
    with transaction.atomic():
        sensors: list[tuple[Any, int]] = []
        for vault in demo_vaults:
            for code, plan, every, heartbeat, low, high in SENSOR_PLAN:
                for n in range(1, _sensor_count(plan, vault.vault_type, set(kinds), code) + 1):
                    sensor = env.save_sensor(
                        None,
                        {
                            "code": f"{vault.code}-{SHORT[code]}{n}",
                            "vault": vault,
                            "kind": kinds[code],
                            "name": KIND_LABEL[code].format(n=n),
                            "low": low,
                            "high": high,
                            "heartbeat_seconds": heartbeat,
                        },
                    )
                    sensors.append((sensor, every))
        counts["sensors"] = len(sensors)
        by_code = {s.code: s for s, _e in sensors}
        start = now - dt.timedelta(days=days)
        humid = by_code.get("K02-H1")
        door = by_code.get("K03-DOOR1")
        water = by_code.get("K07-WAT1")
        overrides = {}
        if humid is not None:
            # The dehumidifier of 纸质档案库（二） failed three hours ago: RH climbs past its
            # upper limit slowly enough not to count as a jump (阈值 alarm, then 日波动).
            failed_at = now - dt.timedelta(hours=3)
            top = float(humid.vault.rh_max) + 4

            def damp(ts: dt.datetime, value: float, since=failed_at, top=top) -> float:
                if ts < since:
                    return value
                share = (ts - since).total_seconds() / (3 * 3600)
                return round(value + (top - value) * share, 1)

            overrides[humid.code] = damp
        batches = _history(simulate, sensors, start, now, rng, overrides)
        if older_days > days:
            older = _older(simulate, sensors, now - dt.timedelta(days=older_days), start, rng)
            batches = older + batches
        # The incidents that raise the demo's other alarms (through the same alarm engine).
        anomalies: list[dict] = []
        if door is not None:
            night = timezone.localtime(now - dt.timedelta(days=1)).replace(
                hour=22, minute=41, second=7, microsecond=0
            )
            anomalies.append({"sensor": door.code, "ts": night.isoformat(), "value": 1})
        if water is not None:
            wet = now - dt.timedelta(days=min(3, days), hours=-1, minutes=13)
            anomalies.append({"sensor": water.code, "ts": wet.isoformat(), "value": 1})
        readings = 0
        for batch in batches:
            result = env.ingest(batch, source="http", now=now)
            readings += result.accepted
        result = env.ingest(anomalies, source="http", now=now)
        readings += result.accepted
        counts["readings"] = readings
        counts["rollups"] = env.rollup(now - dt.timedelta(days=max(days, older_days)), now)
        alarms = {
            a.sensor.code if a.sensor else "": a
            for a in Alarm.objects.filter(
                vault__in=demo_vaults, status=AlarmStatus.RAISED
            ).select_related("sensor")
        }
        handler = keeper  # None (the system) when the demo has no keeper account
        if door is not None and door.code in alarms:
            env.acknowledge(
                handler, alarms[door.code], _("值班人员夜间巡查开门，已核实登记，待补办手续。")
            )
        if water is not None and water.code in alarms:
            env.acknowledge(handler, alarms[water.code], _("库管员已到场查看。"))
            env.resolve(
                handler,
                alarms[water.code],
                _("空调冷凝水管接头渗漏，已更换接头并清理积水，档案未受影响。"),
            )
        counts["alarms_open"] = Alarm.objects.filter(
            vault__in=demo_vaults, status__in=[AlarmStatus.RAISED, AlarmStatus.ACKNOWLEDGED]
        ).count()
        _device, token = env.issue_token(None, DEVICE_TOKEN_NAME)
        secret = Secret(_("环境监测采集令牌"), DEVICE_TOKEN_NAME, token)
    return DONE, "", counts, secret


def _history(
    simulate, sensors, start: dt.datetime, end: dt.datetime, rng, overrides: dict
) -> list[list[dict]]:
    """One batch per day: every sensor at its own interval, aligned to it, up to ``end``.
    ``overrides`` maps a sensor code to ``f(ts, value) -> value`` (the demo's incidents)."""
    batches: list[list[dict]] = []
    day = start
    while day < end:
        stop = min(day + dt.timedelta(days=1), end)
        batch: list[dict] = []
        for sensor, every in sensors:
            if every >= 86400:
                # Daily counts (虫情、鼠情) are read from the traps at 09:00.
                local = timezone.localtime(day)
                stamps = [
                    local.replace(hour=9, minute=0, second=0, microsecond=0) + dt.timedelta(days=k)
                    for k in (0, 1)
                ]
            else:
                first = dt.datetime.fromtimestamp(
                    math.ceil(day.timestamp() / every) * every, tz=dt.UTC
                )
                count = int((stop - first).total_seconds() // every) + 1
                stamps = [first + dt.timedelta(seconds=every * k) for k in range(count)]
            change = overrides.get(sensor.code)
            for ts in stamps:
                if not day <= ts < stop:
                    continue
                value = _value(simulate, sensor, ts, rng)
                if change is not None:
                    value = change(ts, value)
                batch.append({"sensor": sensor.code, "ts": ts.isoformat(), "value": value})
        batches.append(batch)
        day = stop
    return batches


def _older(simulate, sensors, start: dt.datetime, end: dt.datetime, rng) -> list[list[dict]]:
    """Hourly temperature and humidity before the detailed week (for the 30-day chart)."""
    climate = [s for s, _e in sensors if s.kind.code in ("temperature", "humidity")]
    batch: list[dict] = []
    ts = dt.datetime.fromtimestamp(math.ceil(start.timestamp() / 3600) * 3600, tz=dt.UTC)
    while ts < end:
        for sensor in climate:
            batch.append(
                {
                    "sensor": sensor.code,
                    "ts": ts.isoformat(),
                    "value": _value(simulate, sensor, ts, rng),
                }
            )
        ts += dt.timedelta(hours=1)
    return [batch[i : i + 15000] for i in range(0, len(batch), 15000)]


def _value(simulate, sensor, ts: dt.datetime, rng) -> float:
    value = simulate.value_at(sensor, ts, rng)
    if sensor.kind.code == "door" and value:
        # Open only for a moment: the next reading sees it closed again.
        return 1.0
    return value


# --- 4. online archiving 在线归档 ----------------------------------------------------------------


SIP_RECORDS = (
    (
        "关于印发《兰台区2025年档案工作要点》的通知",
        "兰政办发〔2025〕71号",
        "2025-03-04",
        False,
    ),
    ("兰台区人民政府第12次常务会议纪要", "兰政纪〔2025〕12号", "2025-04-18", False),
    (
        "关于表彰2024年度档案工作先进集体和先进个人的决定",
        "兰政发〔2025〕9号",
        "2025-05-20",
        True,
    ),
    ("兰台区政务服务中心新址启用仪式照片说明", "", "2025-06-12", True),
)


def _pdf(title: str, doc_number: str) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle(title)
    c.setFont("STSong-Light", 16)
    c.drawCentredString(A4[0] / 2, A4[1] - 120, "兰台区人民政府办公室")
    c.setFont("STSong-Light", 12)
    if doc_number:
        c.drawCentredString(A4[0] / 2, A4[1] - 150, doc_number)
    c.drawCentredString(A4[0] / 2, A4[1] - 190, title)
    c.drawString(90, A4[1] - 240, "各街道办事处，区政府各部门：")
    c.drawString(110, A4[1] - 265, "现将有关事项通知如下，请认真贯彻执行。（演示文件）")
    c.showPage()
    c.save()
    return buf.getvalue()


def _png(seed: int) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (320, 200), (236, 232, 220))
    draw = ImageDraw.Draw(img)
    rng = random.Random(seed)  # noqa: S311 - demo picture
    for _n in range(12):
        x, y = rng.randrange(0, 300), rng.randrange(0, 180)
        draw.rectangle(
            [x, y, x + rng.randrange(10, 60), y + rng.randrange(10, 40)],
            outline=(120, 90, 60),
            width=2,
        )
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _bag(folder: Path, fonds, series: str, year: int, n: int, spec: tuple) -> Path:
    import bagit

    # bagit logs every file it moves and hashes at INFO: noise in the demo's output.
    logging.getLogger("bagit").setLevel(logging.WARNING)
    title, doc_number, date, with_photo = spec
    folder.mkdir(parents=True)
    files = {"正文.pdf": _pdf(title, doc_number)}
    if with_photo:
        files["附件1.png"] = _png(n)
    components = []
    for seq, (name, content) in enumerate(files.items(), 1):
        (folder / name).write_bytes(content)
        components.append(
            {
                "name": name,
                "size": len(content),
                "format": "PDF" if name.endswith(".pdf") else "PNG",
                "sequence": seq,
                "role": "正本" if seq == 1 else "附件",
                "sha256": hashlib.sha256(content).hexdigest(),
            }
        )
    meta = {
        "fonds": fonds.code,
        "category": "WS",
        "year": year,
        "retention": "Y" if n % 2 else "D30",
        "title": title,
        "responsible": fonds.name,
        "date": date,
        "pages": 1,
        "classification": "public",
        "component_count": len(components),
        "components": components,
    }
    if series:
        meta["series"] = series
    if doc_number:
        meta["doc_number"] = doc_number
    (folder / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    bagit.make_bag(str(folder), {"Source-Organization": fonds.name}, checksums=["sha256"])
    return folder


def seed_ingest() -> tuple[str, str, dict[str, int], Secret | None]:
    ingest, fixity = _require_app("ingest", "lantai.ingest.services", "lantai.preservation.fixity")
    _need(ingest, "issue_token", "receive_sip", "process_sip")
    _need(fixity, "run_audit")
    if not apps.is_installed("lantai.preservation"):
        raise _Skip(_("未安装应用 lantai.preservation"))
    from lantai.holdings.models import Fonds, Series, Unit
    from lantai.ingest.models import ApiToken, Sip, SipStatus
    from lantai.preservation.models import FixityAudit

    unit = (
        Unit.objects.filter(code=INGEST_UNIT, active=True).first()
        or Unit.objects.filter(active=True, fonds__isnull=False).order_by("code").first()
    )
    fonds = Fonds.objects.filter(unit=unit).order_by("code").first() if unit else None
    if fonds is None:
        raise _Skip(_("没有立档单位和全宗"))
    series = (
        Series.objects.filter(fonds=fonds).order_by("code").values_list("code", flat=True).first()
        or ""
    )
    secret = None
    counts = {"sips": 0, "stored": 0}
    token = ApiToken.objects.filter(unit=unit, name=INGEST_TOKEN_NAME).first()
    if token is None:
        token, raw = ingest.issue_token(None, unit, INGEST_TOKEN_NAME)
        secret = Secret(_("在线归档接口令牌"), f"{unit.name}·{INGEST_TOKEN_NAME}", raw)
    year = min(timezone.localdate().year - 1, 2025)
    problems = []
    with tempfile.TemporaryDirectory(prefix="lantai-demo-sip-") as tmp:
        for n, spec in enumerate(SIP_RECORDS, 1):
            key = f"lantai-demo-{n}"
            if Sip.objects.filter(unit=unit, idempotency_key=key).exists():
                sip = Sip.objects.get(unit=unit, idempotency_key=key)
            else:
                spec = (
                    spec[0],
                    spec[1].replace("2025", str(year)),
                    spec[2].replace("2025", str(year)),
                    spec[3],
                )
                bag = _bag(Path(tmp) / f"sip{n}", fonds, series, year, n, spec)
                sip, _created = ingest.receive_sip(
                    bag,
                    unit=unit,
                    fonds=fonds,
                    token=token,
                    idempotency_key=key,
                    original_name=f"{spec[0][:40]}.bag",
                    # The worker is not running yet: processed here, in order.
                    start=False,
                )
                counts["sips"] += 1
            sip = ingest.process_sip(sip)
            if sip.status == SipStatus.STORED:
                counts["stored"] += 1
            else:
                problems.append(f"{spec[0][:20]}：{sip.get_status_display()} {sip.error[:120]}")
    if not FixityAudit.objects.exists():
        audit = fixity.run_audit(actor=None, workers=1)
        counts["fixity_audits"] = 1
        audit.refresh_from_db()
        counts["fixity_checked"] = audit.copies_checked
    if not counts["sips"] and secret is None and "fixity_audits" not in counts:
        return ALREADY, _("演示归档信息包已接收"), counts, None
    return DONE, "；".join(problems), counts, secret


# --- the whole -----------------------------------------------------------------------------------

PARTS: tuple[tuple[str, str], ...] = (
    ("accession", N_("接收与征集")),
    ("shelves", N_("库房与架位")),
    ("environment", N_("库房环境监测")),
    ("ingest", N_("在线归档与长期保存")),
    ("livelihood", N_("民生档案身份证号与人员索引")),
    ("opening", N_("开放鉴定")),
    ("utilization", N_("档案利用")),
    ("cross", N_("跨馆出证")),
    ("supervision", N_("业务指导")),
    ("outreach", N_("宣传与编研")),
)
#: Parts seeded by the owning app's own ``demo`` module: key → (app label, module, function).
#: Opening comes first: the records it opens are then open for the exhibition and requests.
APP_SEEDS: dict[str, tuple[str, str, str]] = {
    "opening": ("opening", "lantai.opening.demo", "seed"),
    "utilization": ("utilization", "lantai.utilization.demo", "seed"),
    "cross": ("livelihood", "lantai.livelihood.demo", "seed_cross"),
    "supervision": ("supervision", "lantai.supervision.demo", "seed"),
    "outreach": ("outreach", "lantai.outreach.demo", "seed"),
}


def run_app_seed(key: str) -> tuple[str, str, dict[str, int], list[Secret]]:
    """Run an app's demo seed in one transaction (all or nothing). The seed returns
    ``(status, message, counts)`` and optionally a list of ``(label, name, value)`` secrets."""
    from lantai.holdings.demo.support import Skip

    label, module_name, function = APP_SEEDS[key]
    (module,) = _require_app(label, module_name)
    _need(module, function)
    try:
        with transaction.atomic():
            result = getattr(module, function)()
    except Skip as exc:
        raise _Skip(str(exc)) from exc
    status, message, counts, *rest = result
    secrets = [Secret(*s) for s in (rest[0] if rest else [])]
    return status, message, counts, secrets


def load_extras(
    *,
    placements: int = DEFAULT_PLACEMENTS,
    env_days: int = DEFAULT_ENV_DAYS,
    older_days: int = OLDER_DAYS,
    only: set[str] | None = None,
    report: Callable[[PartResult], None] | None = None,
) -> ExtrasResult:
    """Load every demo part not yet present; returns what each part did. Never raises for a
    part that fails: its transaction is rolled back and the failure reported (the other parts
    still load)."""
    result = ExtrasResult()
    began = time.monotonic()
    for key, label in PARTS:
        if only is not None and key not in only:
            continue
        part = PartResult(key, _(label), SKIPPED)
        t0 = time.monotonic()
        try:
            if key == "accession":
                part.status, part.message, part.counts = seed_accession()
            elif key == "shelves":
                part.status, part.message, part.counts = seed_shelves(placements=placements)
            elif key == "environment":
                part.status, part.message, part.counts, secret = seed_environment(
                    days=env_days, older_days=older_days
                )
                if secret:
                    result.secrets.append(secret)
            elif key == "livelihood":
                from lantai.livelihood.demo import seed_livelihood

                part.status, part.message, part.counts = seed_livelihood()
            elif key in APP_SEEDS:
                part.status, part.message, part.counts, secrets = run_app_seed(key)
                result.secrets.extend(secrets)
            else:
                part.status, part.message, part.counts, secret = seed_ingest()
                if secret:
                    result.secrets.append(secret)
        except _Skip as exc:
            part.status, part.message = SKIPPED, str(exc)
        except Exception as exc:  # one broken part must not stop the demo
            log.exception("demo part %s failed", key)
            part.status, part.message = FAILED, f"{type(exc).__name__}: {exc}"[:500]
        part.seconds = time.monotonic() - t0
        result.parts.append(part)
        if report:
            report(part)
    result.seconds = time.monotonic() - began
    return result
