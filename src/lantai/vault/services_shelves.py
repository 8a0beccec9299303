"""Shelves services 库房管理: vaults and their limits, shelf locations 架位, boxes 档案盒, where
volumes and items are shelved, scan codes and label sheets, inventories 盘点, physical
circulation 出入库 and the vault entry log 库房出入登记.

Every write checks permission here (``lantai.core.permissions.require``), validates all input
first (``ValidationError({field: [messages]})`` with every problem found) and appends an audit
entry in the same transaction, so nothing is saved partially.

Scan codes. Each label carries a QR code whose text is ``LT:<kind>:<code>``: ``L`` a location
(架位编码), ``B`` a box (盒号), ``V`` a volume and ``I`` an item (their 档号, or ``#<id>`` while
no 档号 is assigned). A hand scanner or a keyboard may also give the bare code; it is looked up
as a location, then a box, then a 档号.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction, AuditEntry
from lantai.audit.services import changes, record
from lantai.core.permissions import has, require
from lantai.holdings import validators as check
from lantai.holdings.models import Carrier, Fonds, Item, NumberSequence, Volume
from lantai.holdings.services import snapshot, visible_items, visible_volumes
from lantai.vault.models import (
    Box,
    Circulation,
    CirculationLine,
    CirculationStatus,
    Inventory,
    InventoryScan,
    InventoryStatus,
    Location,
    Placement,
    Vault,
    VaultEntry,
    VaultType,
)

logger = logging.getLogger("lantai.vault")

MANAGE = "vault.manage_vault"
VIEW_HOLDINGS = "holdings.view_holdings"

Errors = dict[str, list[str]]

#: JGJ 25-2010 档案馆建筑设计规范: (温度下限, 温度上限, 湿度下限, 湿度上限) per vault type.
#: 实物库 is not in the table; it starts from the paper values and is edited per vault.
JGJ_LIMITS: dict[str, tuple[int, int, int, int]] = {
    VaultType.PAPER: (14, 24, 45, 60),
    VaultType.SPECIAL: (14, 20, 45, 55),
    VaultType.MAGNETIC: (14, 24, 40, 60),
    VaultType.FILM_COPY: (14, 24, 40, 60),
    VaultType.FILM_MASTER: (13, 15, 35, 45),
    VaultType.OPTICAL: (4, 20, 20, 50),
    VaultType.OBJECT: (14, 24, 45, 60),
}
#: Daily swing limits from the same standard: ±2 °C, ±5 %RH.
JGJ_SWING = (Decimal(2), Decimal(5))

#: Open circulation states: the material is promised, on its way out, or out.
OPEN_STATES = (CirculationStatus.REQUESTED, CirculationStatus.APPROVED, CirculationStatus.OUT)
#: At most one overdue reminder per circulation in this interval.
REMINDER_INTERVAL = dt.timedelta(hours=24)
#: The most locations one call may create (a whole room of shelving is a few thousand).
MAX_LOCATIONS_PER_CALL = 5000

VAULT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{0,19}")
BOX_CODE = re.compile(r"[^\s:]{1,60}")
SCAN_PREFIX = "LT"


def loan_days() -> int:
    """Days a taken-out record may stay out when no return date is set."""
    return int(getattr(settings, "LANTAI_VAULT_LOAN_DAYS", 7))


# --- small helpers ----------------------------------------------------------------------------


def _raise(errors: Errors) -> None:
    if any(errors.values()):
        raise ValidationError({k: v for k, v in errors.items() if v})


def _label(model: type[models.Model], name: str) -> str:
    return str(model._meta.get_field(name).verbose_name)


def _decimal(value: Any, label: str, low: Decimal, high: Decimal) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError(_("%(label)s应为数字") % {"label": label})
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(
            _("%(label)s应为数字（现为“%(v)s”）") % {"label": label, "v": str(value)[:20]}
        ) from None
    if not number.is_finite():
        raise ValidationError(_("%(label)s应为数字") % {"label": label})
    if not low <= number <= high:
        raise ValidationError(
            _("%(label)s应在%(low)s至%(high)s之间（现为%(v)s）")
            % {"label": label, "low": low, "high": high, "v": number}
        )
    return number.quantize(Decimal("0.1"))


def _time(value: Any, label: str) -> dt.time | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?\s*", value)
        if match:
            hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
            if hour < 24 and minute < 60 and second < 60:
                return dt.time(hour, minute, second)
    raise ValidationError(
        _("%(label)s格式不正确，应为“时:分”，如 08:30（现为“%(v)s”）")
        % {"label": label, "v": str(value)[:20]}
    )


def _moment(value: Any, label: str) -> dt.datetime | None:
    """A datetime, a date (end of that day, local time) or an ISO text → an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            value = check.date(text, label)
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value
    if isinstance(value, dt.date):
        return timezone.make_aware(dt.datetime.combine(value, dt.time(23, 59, 59)))
    raise ValidationError(_("%(label)s应为日期时间") % {"label": label})


def _user(value: Any, label: str):
    User = get_user_model()
    if value is None or value == "":
        return None
    if isinstance(value, User):
        user = value
    else:
        query = (
            Q(pk=int(value))
            if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())
            else Q(username=str(value).strip())
        )
        user = User.objects.filter(query).first()
    if user is None or not user.is_active:
        raise ValidationError(_("未知或已停用的%(label)s：%(v)s") % {"label": label, "v": value})
    return user


def _row(model: type[models.Model], value: Any, label: str, lookup: str = "code"):
    """An instance, a primary key or a code → the row; a clear message when unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, model):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        found = model.objects.filter(pk=value).first()
    elif isinstance(value, str):
        value = value.strip()
        found = model.objects.filter(**{lookup: value}).first()
        if found is None and value.isdigit():
            found = model.objects.filter(pk=int(value)).first()
    else:
        found = None
    if found is None:
        raise ValidationError(_("未知的%(label)s：%(v)s") % {"label": label, "v": str(value)[:60]})
    return found


def _audit_save(actor, obj: models.Model, before: dict | None, extra: dict | None = None) -> None:
    after = snapshot(obj)
    if before is None:
        record(AuditAction.CREATE, actor=actor, obj=obj, detail={**after, **(extra or {})})
    else:
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=obj,
            detail={**changes(before, after), **(extra or {})},
        )


# --- vaults -----------------------------------------------------------------------------------


def default_limits(vault_type: str) -> dict[str, Decimal]:
    """JGJ 25-2010 temperature and humidity ranges for a vault type, and the daily swings."""
    t_min, t_max, rh_min, rh_max = JGJ_LIMITS.get(vault_type, JGJ_LIMITS[VaultType.PAPER])
    return {
        "temp_min": Decimal(t_min),
        "temp_max": Decimal(t_max),
        "rh_min": Decimal(rh_min),
        "rh_max": Decimal(rh_max),
        "max_daily_temp_swing": JGJ_SWING[0],
        "max_daily_rh_swing": JGJ_SWING[1],
    }


LIMIT_FIELDS = (
    "temp_min",
    "temp_max",
    "rh_min",
    "rh_max",
    "max_daily_temp_swing",
    "max_daily_rh_swing",
)
_LIMIT_RANGES = {
    "temp_min": (Decimal(-40), Decimal(60)),
    "temp_max": (Decimal(-40), Decimal(60)),
    "rh_min": (Decimal(0), Decimal(100)),
    "rh_max": (Decimal(0), Decimal(100)),
    "max_daily_temp_swing": (Decimal(0), Decimal(20)),
    "max_daily_rh_swing": (Decimal(0), Decimal(50)),
}


def _vault_code(value: Any) -> str:
    code = check.text(value, _("库房编号"), max_length=20, required=True)
    if not VAULT_CODE.fullmatch(code):
        raise ValidationError(
            _("库房编号“%(v)s”只能由字母、数字和横线组成，且以字母或数字开头，如 K01") % {"v": code}
        )
    return code


def _vault_spec() -> dict[str, Any]:
    spec: dict[str, Any] = {
        "code": _vault_code,
        "name": lambda v: check.text(v, _("库房名称"), max_length=100, required=True),
        "vault_type": lambda v: check.choice(v, VaultType, _("库房类型")),
        "floor": lambda v: check.text(v, _("楼层"), max_length=20),
        "open_from": lambda v: _time(v, _("开放时间起")),
        "open_until": lambda v: _time(v, _("开放时间止")),
        "active": bool,
        "note": lambda v: check.text(v, _("备注"), max_length=200),
        "keepers": lambda v: [_user(u, _("库管员")) for u in (v or [])],
        "use_defaults": bool,
    }
    for name in LIMIT_FIELDS:
        low, high = _LIMIT_RANGES[name]
        spec[name] = lambda v, n=name, lo=low, hi=high: (
            None if v is None or v == "" else _decimal(v, _label(Vault, n), lo, hi)
        )
    return spec


def _clean(data: dict, spec: dict, errors: Errors) -> dict[str, Any]:
    unknown = sorted(str(key) for key in data if key not in spec)
    if unknown:
        errors[NON_FIELD_ERRORS].append(_("未知字段：%(f)s") % {"f": "、".join(unknown)})
    cleaned = {}
    for name, value in data.items():
        if name in spec:
            try:
                cleaned[name] = spec[name](value)
            except ValidationError as exc:
                errors[name].extend(exc.messages)
    return cleaned


def _check_vault(vault: Vault, errors: Errors) -> None:
    for low, high, message in (
        ("temp_min", "temp_max", _("温度下限应低于温度上限")),
        ("rh_min", "rh_max", _("湿度下限应低于湿度上限")),
    ):
        if low in errors or high in errors:
            continue
        a, b = getattr(vault, low), getattr(vault, high)
        if a is not None and b is not None and Decimal(a) >= Decimal(b):
            errors[high].append(message)
    if (vault.open_from is None) != (vault.open_until is None):
        errors["open_until"].append(_("开放时间的起止须同时填写或同时留空"))
    elif vault.open_from is not None and vault.open_from >= vault.open_until:
        errors["open_until"].append(_("开放时间止应晚于开放时间起"))


def create_vault(actor, data: dict) -> Vault:
    """Create a 库房. Limits left empty take the JGJ 25-2010 values for its type."""
    require(actor, MANAGE)
    errors: Errors = defaultdict(list)
    values = _clean(data, _vault_spec(), errors)
    for name in ("code", "name", "vault_type"):
        if name not in errors and not values.get(name):
            errors[name].append(_("%(label)s不能为空") % {"label": _label(Vault, name)})
    keepers = values.pop("keepers", None)
    values.pop("use_defaults", None)
    vault = Vault()
    if values.get("vault_type"):
        for name, default in default_limits(values["vault_type"]).items():
            if values.get(name) is None:
                values[name] = default
    for name, value in values.items():
        if value is not None or name in ("open_from", "open_until"):
            setattr(vault, name, value)
    if values.get("code") and Vault.objects.filter(code=values["code"]).exists():
        errors["code"].append(_("库房编号 %(c)s 已存在") % {"c": values["code"]})
    _check_vault(vault, errors)
    _raise(errors)
    with transaction.atomic():
        vault.save()
        if keepers:
            vault.keepers.set(keepers)
        _audit_save(actor, vault, None, {"keepers": [u.username for u in keepers or []]})
    return vault


def update_vault(actor, vault: Vault, data: dict) -> Vault:
    """Edit a vault. Its code is fixed once created: it is printed in every location label.
    ``use_defaults=True`` resets the limits to JGJ 25-2010 for its (new) type."""
    require(actor, MANAGE)
    errors: Errors = defaultdict(list)
    values = _clean(data, _vault_spec(), errors)
    with transaction.atomic():
        vault = Vault.objects.select_for_update().get(pk=vault.pk)
        before = snapshot(vault)
        before_keepers = sorted(vault.keepers.values_list("username", flat=True))
        if "code" in values and values["code"] != vault.code:
            errors["code"].append(
                _("库房编号 %(c)s 已印在架位标签上，不能修改") % {"c": vault.code}
            )
        keepers = values.pop("keepers", None)
        if values.pop("use_defaults", False):
            values.update(default_limits(values.get("vault_type") or vault.vault_type))
        for name, value in values.items():
            if name in ("name", "vault_type") and not value:
                if name not in errors:
                    errors[name].append(_("%(label)s不能为空") % {"label": _label(Vault, name)})
                continue
            if name in LIMIT_FIELDS and value is None:
                if name not in errors:
                    errors[name].append(_("%(label)s不能为空") % {"label": _label(Vault, name)})
                continue
            setattr(vault, name, value)
        _check_vault(vault, errors)
        _raise(errors)
        vault.save()
        extra = {}
        if keepers is not None:
            vault.keepers.set(keepers)
            after_keepers = sorted(u.username for u in keepers)
            if after_keepers != before_keepers:
                extra["keepers"] = [before_keepers, after_keepers]
        _audit_save(actor, vault, before, extra)
    return vault


# --- locations 架位 -----------------------------------------------------------------------------


def location_code(vault_code: str, row: int, column: int, section: int, shelf: int) -> str:
    """架位编码 库房-排-列-节-层, e.g. K01-03-02-05-04."""
    return f"{vault_code}-{row:02d}-{column:02d}-{section:02d}-{shelf:02d}"


def _numbers(value: Any, label: str) -> list[int]:
    """ "3", 3, "1-4" or "1,3,5-6" → the numbers 1..99 it names."""
    if isinstance(value, int) and not isinstance(value, bool):
        parts = [str(value)]
    elif isinstance(value, str) and value.strip():
        parts = [p.strip() for p in value.replace("，", ",").split(",")]
    else:
        raise ValidationError(_("%(label)s不能为空") % {"label": label})
    numbers: set[int] = set()
    for part in parts:
        match = re.fullmatch(r"([0-9]{1,2})(?:\s*[-~－]\s*([0-9]{1,2}))?", part)
        if not match:
            raise ValidationError(
                _("%(label)s“%(v)s”格式不正确，应为数字或范围，如 3 或 1-6")
                % {"label": label, "v": part[:20]}
            )
        start, end = int(match[1]), int(match[2] or match[1])
        if not 1 <= start <= end <= 99:
            raise ValidationError(
                _("%(label)s“%(v)s”应在1至99之间且由小到大") % {"label": label, "v": part}
            )
        numbers.update(range(start, end + 1))
    return sorted(numbers)


def create_locations(actor, vault: Vault, data: dict) -> list[Location]:
    """Create the 架位 of a shelving run: every combination of ``rows``, ``columns``,
    ``sections`` and ``shelves`` (each a number, a range "1-6" or a list "1,3"), with an optional
    ``capacity`` in boxes. Locations that already exist are left as they are."""
    require(actor, MANAGE)
    errors: Errors = defaultdict(list)
    labels = {"rows": _("排"), "columns": _("列"), "sections": _("节"), "shelves": _("层")}
    ranges: dict[str, list[int]] = {}
    for name, label in labels.items():
        try:
            ranges[name] = _numbers(data.get(name), label)
        except ValidationError as exc:
            errors[name].extend(exc.messages)
    capacity = 0
    try:
        capacity = check.integer(data.get("capacity"), _("容量(盒)"), minimum=0) or 0
    except ValidationError as exc:
        errors["capacity"].extend(exc.messages)
    unknown = sorted(set(data) - {*labels, "capacity"})
    if unknown:
        errors[NON_FIELD_ERRORS].append(_("未知字段：%(f)s") % {"f": "、".join(unknown)})
    _raise(errors)
    total = 1
    for numbers in ranges.values():
        total *= len(numbers)
    if total > MAX_LOCATIONS_PER_CALL:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _("一次最多生成%(max)d个架位（现为%(n)d个），请分批生成")
                    % {"max": MAX_LOCATIONS_PER_CALL, "n": total}
                ]
            }
        )
    with transaction.atomic():
        vault = Vault.objects.select_for_update().get(pk=vault.pk)
        existing = set(vault.locations.values_list("row", "column", "section", "shelf"))
        new = [
            Location(
                vault=vault,
                row=r,
                column=c,
                section=s,
                shelf=h,
                code=location_code(vault.code, r, c, s, h),
                capacity=capacity,
            )
            for r in ranges["rows"]
            for c in ranges["columns"]
            for s in ranges["sections"]
            for h in ranges["shelves"]
            if (r, c, s, h) not in existing
        ]
        if not new:
            return []
        Location.objects.bulk_create(new, batch_size=500)
        created = list(vault.locations.filter(code__in=[loc.code for loc in new]))
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=vault,
            detail={
                "locations_created": len(created),
                "first": created[0].code,
                "last": created[-1].code,
                "capacity": capacity,
            },
        )
    return created


def update_location(actor, location: Location, data: dict) -> Location:
    """Change a location's capacity (its code follows its place and never changes)."""
    require(actor, MANAGE)
    errors: Errors = defaultdict(list)
    values = _clean(
        data, {"capacity": lambda v: check.integer(v, _("容量(盒)"), minimum=0) or 0}, errors
    )
    _raise(errors)
    with transaction.atomic():
        location = Location.objects.select_for_update().get(pk=location.pk)
        before = snapshot(location)
        if "capacity" in values:
            in_use = location.boxes.count()
            if values["capacity"] and values["capacity"] < in_use:
                raise ValidationError(
                    {"capacity": [_("该架位已存放%(n)d盒，容量不能小于此数") % {"n": in_use}]}
                )
            location.capacity = values["capacity"]
        location.save()
        _audit_save(actor, location, before)
    return location


def delete_location(actor, location: Location) -> None:
    """Remove an empty location; one that holds anything, or was counted in an inventory,
    stays."""
    require(actor, MANAGE)
    with transaction.atomic():
        location = Location.objects.select_for_update().get(pk=location.pk)
        if location.boxes.exists() or location.placements.exists():
            raise ValidationError(
                {NON_FIELD_ERRORS: [_("架位 %(c)s 上还有档案，不能删除") % {"c": location.code}]}
            )
        if InventoryScan.objects.filter(location=location).exists():
            raise ValidationError(
                {NON_FIELD_ERRORS: [_("架位 %(c)s 已有盘点记录，不能删除") % {"c": location.code}]}
            )
        detail = snapshot(location)
        record(AuditAction.DELETE, actor=actor, obj=location, detail=detail)
        location.delete()


# --- boxes 档案盒 -------------------------------------------------------------------------------


def _box_code(value: Any) -> str:
    code = check.text(value, _("盒号"), max_length=60, required=True)
    if not BOX_CODE.fullmatch(code):
        raise ValidationError(_("盒号“%(v)s”不能含空格或冒号") % {"v": code})
    return code


def _check_capacity(location: Location | None, box: Box | None, errors: Errors) -> None:
    if location is None or not location.capacity:
        return
    others = location.boxes.exclude(pk=box.pk if box and box.pk else None).count()
    if others >= location.capacity:
        errors["location"].append(
            _("架位 %(c)s 已满（容量%(n)d盒）") % {"c": location.code, "n": location.capacity}
        )


def _box_spec() -> dict[str, Any]:
    return {
        "code": _box_code,
        "location": lambda v: _row(Location, v, _("架位")),
        "fonds": lambda v: _row(Fonds, v, _("全宗")),
        "title": lambda v: check.text(v, _("盒脊说明"), max_length=200),
    }


def save_box(actor, data: dict, box: Box | None = None) -> Box:
    """Create a box (``box`` None) or edit one; moving it is changing its ``location``."""
    require(actor, MANAGE)
    errors: Errors = defaultdict(list)
    values = _clean(data, _box_spec(), errors)
    with transaction.atomic():
        if box is None:
            box, before = Box(), None
            if "code" not in errors and not values.get("code"):
                errors["code"].append(_("盒号不能为空"))
        else:
            box = Box.objects.select_for_update().get(pk=box.pk)
            before = snapshot(box)
            if "code" in values and values["code"] != box.code:
                errors["code"].append(_("盒号 %(c)s 已印在标签上，不能修改") % {"c": box.code})
        code = values.get("code") or box.code
        if code and before is None and Box.objects.filter(code=code).exists():
            errors["code"].append(_("盒号 %(c)s 已存在") % {"c": code})
        if "location" in values and "location" not in errors:
            location = values["location"]
            if location is not None:
                location = Location.objects.select_for_update().get(pk=location.pk)
            _check_capacity(location, box, errors)
        _raise(errors)
        for name, value in values.items():
            setattr(box, name, value)
        try:
            with transaction.atomic():
                box.save()
        except IntegrityError as exc:
            raise ValidationError({"code": [_("盒号 %(c)s 已存在") % {"c": code}]}) from exc
        _audit_save(actor, box, before)
    return box


def delete_box(actor, box: Box) -> None:
    """Remove an empty box that is not on any circulation."""
    require(actor, MANAGE)
    with transaction.atomic():
        box = Box.objects.select_for_update().get(pk=box.pk)
        if box.placements.exists():
            raise ValidationError(
                {NON_FIELD_ERRORS: [_("档案盒 %(c)s 中还有档案，不能删除") % {"c": box.code}]}
            )
        if CirculationLine.objects.filter(box=box).exists():
            raise ValidationError(
                {NON_FIELD_ERRORS: [_("档案盒 %(c)s 有出入库记录，不能删除") % {"c": box.code}]}
            )
        record(AuditAction.DELETE, actor=actor, obj=box, detail=snapshot(box))
        box.delete()


# --- placement 上架 -----------------------------------------------------------------------------


def _check_physical(target: Volume | Item, errors: Errors, field_name: str = "target") -> None:
    if target.carrier == Carrier.ELECTRONIC:
        errors[field_name].append(
            _("%(c)s 为电子档案，没有实体，无需上架或出库") % {"c": display_code(target)}
        )


def place(actor, target: Volume | Item, *, box: Box | None = None, location=None) -> Placement:
    """Shelve a volume or a standalone item in a box or directly at a location (上架), or move
    it there. An item inside a volume is shelved with its volume."""
    require(actor, MANAGE)
    errors: Errors = defaultdict(list)
    if (box is None) == (location is None):
        errors["location"].append(_("请指定档案盒或架位（二者选一）"))
    if isinstance(target, Item) and target.volume_id is not None:
        errors["target"].append(
            _("卷内文件随所属案卷存放，请为案卷 %(v)s 指定位置")
            % {"v": display_code(target.volume)}
        )
    if not _visible(actor, target):
        errors["target"].append(_("未找到该档案"))
    else:
        _check_physical(target, errors)
    _raise(errors)
    with transaction.atomic():
        key = {"volume": target} if isinstance(target, Volume) else {"item": target}
        placement = Placement.objects.select_for_update().filter(**key).first()
        before = {"box": placement.box_id, "location": placement.location_id} if placement else None
        placement = placement or Placement(**key)
        placement.box, placement.location = box, location
        placement.save()
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=target,
            detail={
                "placement": [
                    _place_text(before),
                    box.code if box else location.code,
                ]
            },
        )
    return placement


def _place_text(before: dict | None) -> str | None:
    if not before:
        return None
    if before["box"]:
        return Box.objects.filter(pk=before["box"]).values_list("code", flat=True).first()
    return Location.objects.filter(pk=before["location"]).values_list("code", flat=True).first()


def unplace(actor, target: Volume | Item) -> None:
    """Take a volume or item off the shelf list (下架), e.g. when it is transferred away."""
    require(actor, MANAGE)
    with transaction.atomic():
        key = {"volume": target} if isinstance(target, Volume) else {"item": target}
        placement = Placement.objects.select_for_update().filter(**key).first()
        if placement is None:
            return
        was = (placement.box or placement.location).code
        placement.delete()
        record(AuditAction.UPDATE, actor=actor, obj=target, detail={"placement": [was, None]})


def _visible(user, target) -> bool:
    if isinstance(target, Volume):
        return visible_volumes(user).filter(pk=target.pk).exists()
    return visible_items(user).filter(pk=target.pk).exists()


# --- scan codes ---------------------------------------------------------------------------------


def display_code(obj) -> str:
    """The code people read: 档号 for holdings (or 题名 while none is assigned), else code."""
    if isinstance(obj, Volume | Item):
        return obj.reference_code or f"#{obj.pk} {obj.title[:20]}"
    return obj.code


def scan_payload(obj: Location | Box | Volume | Item) -> str:
    """The text of the QR code on the object's label."""
    if isinstance(obj, Location):
        return f"{SCAN_PREFIX}:L:{obj.code}"
    if isinstance(obj, Box):
        return f"{SCAN_PREFIX}:B:{obj.code}"
    kind = "V" if isinstance(obj, Volume) else "I"
    return f"{SCAN_PREFIX}:{kind}:{obj.reference_code or f'#{obj.pk}'}"


@dataclass
class Resolved:
    """What a scanned code names: kind is location, box, volume, item or unknown."""

    code: str
    kind: str = "unknown"
    obj: Any = None

    @property
    def key(self) -> tuple[str, int] | None:
        return (self.kind, self.obj.pk) if self.obj is not None else None


_KINDS = {"L": "location", "B": "box", "V": "volume", "I": "item"}


def _holding_lookup(model, codes: set[str]) -> dict[str, Any]:
    refs = {c for c in codes if not c.startswith("#")}
    pks = {int(c[1:]) for c in codes if c.startswith("#") and c[1:].isdigit()}
    found = {o.reference_code: o for o in model.objects.filter(reference_code__in=refs)}
    found.update({f"#{o.pk}": o for o in model.objects.filter(pk__in=pks)})
    return found


def resolve_codes(codes: Iterable[str]) -> dict[str, Resolved]:
    """Resolve scanned codes in a few queries (one per kind), for scans and reports."""
    wanted: dict[str, tuple[str | None, str]] = {}
    for raw in codes:
        text = (raw or "").strip()
        parts = text.split(":", 2)
        if len(parts) == 3 and parts[0] == SCAN_PREFIX and parts[1] in _KINDS:
            wanted[raw] = (_KINDS[parts[1]], parts[2])
        else:
            wanted[raw] = (None, text)
    by_kind: dict[str, set[str]] = defaultdict(set)
    for kind, code in wanted.values():
        for k in [kind] if kind else ["location", "box", "volume", "item"]:
            by_kind[k].add(code)
    found = {
        "location": {o.code: o for o in Location.objects.filter(code__in=by_kind["location"])},
        "box": {o.code: o for o in Box.objects.filter(code__in=by_kind["box"])},
        "volume": _holding_lookup(Volume, by_kind["volume"]),
        "item": _holding_lookup(Item, by_kind["item"]),
    }
    result = {}
    for raw, (kind, code) in wanted.items():
        resolved = Resolved(code=raw)
        for k in [kind] if kind else ["location", "box", "volume", "item"]:
            if code in found[k]:
                resolved.kind, resolved.obj = k, found[k][code]
                break
        result[raw] = resolved
    return result


def resolve_code(code: str) -> Resolved:
    return resolve_codes([code])[code]


# --- whereabouts 存放位置 -------------------------------------------------------------------------


@dataclass
class Whereabouts:
    """Where a volume, item or box is now: its shelf, and the circulation it is out on."""

    location: Location | None = None
    box: Box | None = None
    via_volume: Volume | None = None
    out_on: Circulation | None = None
    pending: list[Circulation] = field(default_factory=list)
    #: Set by the template tag: whether the viewer may open the circulation.
    can_manage: bool = False

    @property
    def vault(self) -> Vault | None:
        return self.location.vault if self.location else None

    @property
    def shelved(self) -> bool:
        return self.location is not None


def _line_filter(volume=None, item=None, box=None) -> Q:
    q = Q(pk__in=[])
    if volume is not None:
        q |= Q(volume=volume)
    if item is not None:
        q |= Q(item=item)
    if box is not None:
        q |= Q(box=box)
    return q


def whereabouts(target: Volume | Item | Box) -> Whereabouts:
    """Where ``target`` is shelved and whether it (or the volume or box holding it) is out."""
    result = Whereabouts()
    volume = item = box = None
    if isinstance(target, Box):
        box = target
    else:
        if isinstance(target, Item):
            item = target
            if target.volume_id:
                volume = result.via_volume = target.volume
        else:
            volume = target
        holder = volume if volume is not None else item
        placement = (
            Placement.objects.select_related("box__location__vault", "location__vault")
            .filter(**({"volume": holder} if holder is volume else {"item": holder}))
            .first()
        )
        if placement is not None:
            box = placement.box
            result.box = box
            result.location = placement.location
    if box is not None:
        result.location = (
            Location.objects.select_related("vault").filter(pk=box.location_id).first()
        )
    lines = (
        CirculationLine.objects.filter(_line_filter(volume, item, box))
        .filter(returned_at__isnull=True, circulation__status__in=OPEN_STATES)
        .select_related("circulation")
    )
    for line in lines:
        if line.circulation.status == CirculationStatus.OUT:
            result.out_on = line.circulation
        elif line.circulation not in result.pending:
            result.pending.append(line.circulation)
    return result


# --- label sheets 标签 ----------------------------------------------------------------------------

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
#: A4 sheet of 3 × 8 labels (70 × 37 mm, the common 24-up stock).
LABEL_COLUMNS, LABEL_ROWS = 3, 8


@cache
def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        pdfmetrics.registerFont(TTFont("WQY-ZenHei", str(FONT_PATH), subfontIndex=0))
        return "WQY-ZenHei"
    except Exception:  # the font package is missing: fall back on a built-in CJK font
        logger.warning("%s not found; labels use the built-in STSong-Light font", FONT_PATH)
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        return "STSong-Light"


def _label_lines(obj) -> tuple[str, str]:
    if isinstance(obj, Location):
        return obj.code, _("%(v)s %(r)d排%(c)d列%(s)d节%(h)d层") % {
            "v": obj.vault.name,
            "r": obj.row,
            "c": obj.column,
            "s": obj.section,
            "h": obj.shelf,
        }
    if isinstance(obj, Box):
        return obj.code, obj.title or (str(obj.fonds) if obj.fonds_id else "")
    return display_code(obj), obj.title


def _fit(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (CJK text breaks anywhere)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, current = [], ""
    for char in text:
        if stringWidth(current + char, font, size) > width:
            lines.append(current)
            current = char
        else:
            current += char
    if current:
        lines.append(current)
    return lines


def label_sheet(actor, targets: Sequence[Location | Box | Volume | Item]) -> bytes:
    """A PDF of labels, 24 to an A4 page: a QR code (see ``scan_payload``) beside the code and
    a short description, for shelves, boxes, volumes and items."""
    import segno
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    require(actor, MANAGE)
    if not targets:
        raise ValidationError({NON_FIELD_ERRORS: [_("没有可打印的标签")]})
    font = _font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(_("库房标签"))
    pdf.setAuthor(getattr(settings, "LANTAI_ARCHIVE_NAME", ""))
    page_w, page_h = A4
    label_w, label_h = 70 * mm, 37 * mm
    margin_x = (page_w - LABEL_COLUMNS * label_w) / 2
    margin_y = (page_h - LABEL_ROWS * label_h) / 2
    pad = 3 * mm
    per_page = LABEL_COLUMNS * LABEL_ROWS
    for n, obj in enumerate(targets):
        if n and n % per_page == 0:
            pdf.showPage()
        slot = n % per_page
        col, row = slot % LABEL_COLUMNS, slot // LABEL_COLUMNS
        x0 = margin_x + col * label_w
        y0 = page_h - margin_y - (row + 1) * label_h
        # The QR code drawn as vector squares: sharp at any printer resolution.
        qr = segno.make(scan_payload(obj), error="m", micro=False)
        size = label_h - 2 * pad
        matrix = list(qr.matrix_iter(border=0))
        cell = size / len(matrix)
        pdf.setFillColorRGB(0, 0, 0)
        for r, line in enumerate(matrix):
            for c, dark in enumerate(line):
                if dark:
                    pdf.rect(
                        x0 + pad + c * cell, y0 + pad + size - (r + 1) * cell, cell, cell, 0, 1
                    )
        text_x = x0 + 2 * pad + size
        text_w = label_w - size - 3 * pad
        code, description = _label_lines(obj)
        y = y0 + label_h - pad - 10
        pdf.setFont(font, 10)
        for part in _fit(code, font, 10, text_w)[:3]:
            pdf.drawString(text_x, y, part)
            y -= 12
        pdf.setFont(font, 7.5)
        for part in _fit(description or "", font, 7.5, text_w)[:4]:
            pdf.drawString(text_x, y, part)
            y -= 9
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# --- inventories 盘点 -----------------------------------------------------------------------------


def inventory_scope(inventory: Inventory) -> QuerySet[Location]:
    """The locations an inventory covers: those chosen, or the whole vault."""
    chosen = inventory.locations.all()
    if chosen.exists():
        return chosen
    return Location.objects.filter(vault_id=inventory.vault_id)


def start_inventory(actor, vault: Vault, locations: Iterable[Location] | None = None) -> Inventory:
    """Begin a 盘点 of a whole vault or of some of its locations."""
    require(actor, MANAGE)
    locations = list(locations or [])
    foreign = [loc.code for loc in locations if loc.vault_id != vault.pk]
    if foreign:
        raise ValidationError(
            {"locations": [_("架位 %(c)s 不属于本库房") % {"c": "、".join(foreign[:5])}]}
        )
    if not vault.locations.exists():
        raise ValidationError({"vault": [_("库房 %(c)s 还没有架位") % {"c": vault.code}]})
    with transaction.atomic():
        inventory = Inventory.objects.create(vault=vault, started_by=actor or _system_user())
        if locations:
            inventory.locations.set(locations)
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=inventory,
            detail={"vault": vault.code, "locations": [loc.code for loc in locations] or "all"},
        )
    return inventory


def _system_user():
    raise ValidationError({NON_FIELD_ERRORS: [_("盘点须由具体人员发起")]})


@dataclass
class ScanOutcome:
    """The immediate answer to one scan: ok, misplaced, unknown, location (now at) or
    unregistered (known, never shelved)."""

    status: str
    message: str
    resolved: Resolved
    location: Location | None


def _home_location_id(resolved: Resolved) -> int | None:
    """The location where a scanned box, volume or item should be."""
    obj = resolved.obj
    if resolved.kind == "box":
        return obj.location_id
    holder = obj
    if resolved.kind == "item" and obj.volume_id:
        holder = obj.volume
    key = {"volume": holder} if isinstance(holder, Volume) else {"item": holder}
    placement = Placement.objects.select_related("box").filter(**key).first()
    if placement is None:
        return None
    return placement.box.location_id if placement.box_id else placement.location_id


def scan(
    actor, inventory: Inventory, code: str, *, location: Location | None = None
) -> ScanOutcome:
    """Record one scanned code in an open inventory. Scanning a location label sets where the
    following scans are; every other scan is checked against where the thing should be."""
    require(actor, MANAGE)
    code = check.text(code, _("扫描码"), max_length=120)
    if not code:
        raise ValidationError({"code": [_("扫描码不能为空")]})
    with transaction.atomic():
        inventory = Inventory.objects.select_for_update().get(pk=inventory.pk)
        if inventory.status != InventoryStatus.OPEN:
            raise ValidationError({NON_FIELD_ERRORS: [_("该盘点已完成，不能再扫描")]})
        resolved = resolve_code(code)
        scope = inventory_scope(inventory)
        if resolved.kind == "location":
            if not scope.filter(pk=resolved.obj.pk).exists():
                raise ValidationError(
                    {"code": [_("架位 %(c)s 不在本次盘点范围内") % {"c": resolved.obj.code}]}
                )
            location = resolved.obj
        elif location is None:
            last = inventory.scans.order_by("-pk").select_related("location").first()
            location = last.location if last else None
        if location is None:
            raise ValidationError({"code": [_("请先扫描架位标签，再扫描该架位上的档案")]})
        InventoryScan.objects.create(inventory=inventory, location=location, code=code)
    if resolved.kind == "location":
        return ScanOutcome(
            "location", _("当前架位：%(c)s") % {"c": location.code}, resolved, location
        )
    if resolved.obj is None:
        return ScanOutcome("unknown", _("未知的编码：%(c)s") % {"c": code[:60]}, resolved, location)
    home = _home_location_id(resolved)
    label = display_code(resolved.obj)
    if home == location.pk:
        return ScanOutcome("ok", _("%(c)s 位置正确") % {"c": label}, resolved, location)
    if home is None:
        return ScanOutcome(
            "unregistered",
            _("%(c)s 未登记存放位置") % {"c": label},
            resolved,
            location,
        )
    should = Location.objects.filter(pk=home).values_list("code", flat=True).first()
    return ScanOutcome(
        "misplaced",
        _("%(c)s 错架：应在 %(s)s") % {"c": label, "s": should},
        resolved,
        location,
    )


def _out_keys() -> set[tuple[str, int]]:
    keys = set()
    for volume, item, box in CirculationLine.objects.filter(
        returned_at__isnull=True, circulation__status=CirculationStatus.OUT
    ).values_list("volume_id", "item_id", "box_id"):
        for kind, pk in (("volume", volume), ("item", item), ("box", box)):
            if pk:
                keys.add((kind, pk))
    return keys


def inventory_report(inventory: Inventory) -> dict[str, Any]:
    """Compare what was scanned with what should be on the shelves in scope.

    - found: expected and scanned at its own location;
    - misplaced 错架: known but scanned at another location (or never shelved: ``expected`` is
      empty);
    - missing 缺失: expected at a location in scope and scanned nowhere (things out on a
      circulation are listed apart as ``out``, not missing);
    - unknown 无法识别: codes that name nothing in the system.
    Each entry names the code, what it is, where it should be and where it was found."""
    scope_ids = set(inventory_scope(inventory).values_list("pk", flat=True))
    codes = {loc.pk: loc.code for loc in Location.objects.filter(vault_id=inventory.vault_id)}
    expected: dict[tuple[str, int], tuple[Any, int]] = {}
    for box in Box.objects.filter(location_id__in=scope_ids):
        expected[("box", box.pk)] = (box, box.location_id)
    for p in Placement.objects.filter(location_id__in=scope_ids).select_related("volume", "item"):
        obj = p.volume or p.item
        expected[("volume" if p.volume_id else "item", obj.pk)] = (obj, p.location_id)
    scans = list(inventory.scans.order_by("pk").values_list("code", "location_id"))
    resolved = resolve_codes({code for code, _loc in scans})
    last_seen: dict[tuple[str, int], tuple[Resolved, int]] = {}
    unknown: dict[str, int] = {}
    for code, loc_id in scans:
        r = resolved[code]
        if r.kind == "location":
            continue
        if r.obj is None:
            unknown[code] = loc_id
        else:
            last_seen[r.key] = (r, loc_id)

    def loc_code(pk: int | None) -> str | None:
        # Something misplaced may belong to another vault: look its location up once.
        if pk is None:
            return None
        if pk not in codes:
            codes[pk] = Location.objects.filter(pk=pk).values_list("code", flat=True).first()
        return codes[pk]

    def entry(kind: str, obj: Any, expected_at: int | None, found_at: int | None) -> dict:
        return {
            "kind": kind,
            "code": display_code(obj),
            "title": getattr(obj, "title", ""),
            "expected": loc_code(expected_at),
            "found": loc_code(found_at),
        }

    found, misplaced = [], []
    for key, (r, loc_id) in last_seen.items():
        home = expected[key][1] if key in expected else _home_location_id(r)
        if home == loc_id:
            found.append(entry(r.kind, r.obj, home, loc_id))
        else:
            misplaced.append(entry(r.kind, r.obj, home, loc_id))
    out_keys = _out_keys()
    missing, out = [], []
    for key, (obj, loc_id) in expected.items():
        if key in last_seen:
            continue
        (out if key in out_keys else missing).append(entry(key[0], obj, loc_id, None))
    unknown_list = [
        {"kind": "unknown", "code": code, "title": "", "expected": None, "found": codes.get(loc)}
        for code, loc in unknown.items()
    ]
    by_code = lambda e: (e["expected"] or "", e["code"])  # noqa: E731
    return {
        "summary": {
            "expected": len(expected),
            "scanned": len(last_seen) + len(unknown),
            "found": len(found),
            "misplaced": len(misplaced),
            "missing": len(missing),
            "out": len(out),
            "unknown": len(unknown_list),
        },
        "found": sorted(found, key=by_code),
        "misplaced": sorted(misplaced, key=by_code),
        "missing": sorted(missing, key=by_code),
        "out": sorted(out, key=by_code),
        "unknown": sorted(unknown_list, key=lambda e: e["code"]),
    }


def close_inventory(actor, inventory: Inventory) -> Inventory:
    """Finish a 盘点: its discrepancy report is computed, stored and audited."""
    require(actor, MANAGE)
    with transaction.atomic():
        inventory = Inventory.objects.select_for_update().get(pk=inventory.pk)
        if inventory.status != InventoryStatus.OPEN:
            raise ValidationError({NON_FIELD_ERRORS: [_("该盘点已完成")]})
        inventory.result = inventory_report(inventory)
        inventory.status = InventoryStatus.CLOSED
        inventory.closed_at = timezone.now()
        inventory.save(update_fields=["result", "status", "closed_at"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=inventory,
            detail={"status": "closed", "summary": inventory.result["summary"]},
        )
    return inventory


# --- circulation 出入库 ---------------------------------------------------------------------------


def _next_circulation_number(now: dt.datetime) -> str:
    year = timezone.localtime(now).year
    scope = f"vault.circulation:{year}"
    NumberSequence.objects.bulk_create([NumberSequence(scope=scope)], ignore_conflicts=True)
    sequence = NumberSequence.objects.select_for_update().get(scope=scope)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"CK{year}-{sequence.last:05d}"


def _targets(actor, values: Iterable[Any], errors: Errors) -> list[Volume | Item | Box]:
    """Codes or objects → volumes, items and boxes the actor may take out."""
    raw = list(values)
    codes = [v.strip() for v in raw if isinstance(v, str) and v.strip()]
    resolved = resolve_codes(codes)
    targets: list[Any] = []
    unknown: list[str] = []
    for value in raw:
        if isinstance(value, str):
            if not value.strip():
                continue
            r = resolved[value.strip()]
            if r.obj is None:
                unknown.append(value.strip())
                continue
            value = r.obj
        if isinstance(value, Location):
            errors["targets"].append(_("%(c)s 是架位，不能出库") % {"c": value.code})
            continue
        if isinstance(value, Box):
            if not has(actor, MANAGE):
                errors["targets"].append(_("只有库管员可以整盒出库：%(c)s") % {"c": value.code})
                continue
        elif isinstance(value, Volume | Item):
            if not _visible(actor, value):
                # Not revealed: it reads exactly like a code that does not exist.
                unknown.append(display_code(value) if value.reference_code else str(value.pk))
                continue
            _check_physical(value, errors, "targets")
        else:
            errors["targets"].append(_("无法出库的对象：%(v)s") % {"v": str(value)[:40]})
            continue
        if value not in targets:
            targets.append(value)
    if unknown:
        errors["targets"].append(_("未找到：%(c)s") % {"c": "、".join(unknown[:20])})
    if not targets and not errors["targets"]:
        errors["targets"].append(_("请至少列出一件要出库的档案"))
    return targets


def _busy(targets: Sequence[Any]) -> list[str]:
    """Targets already on an open circulation: '档号（单号）' for each."""
    volumes = [t for t in targets if isinstance(t, Volume)]
    items = [t for t in targets if isinstance(t, Item)]
    boxes = [t for t in targets if isinstance(t, Box)]
    # Lock the rows first, so two people requesting the same thing at once queue up here.
    for model, objs in ((Volume, volumes), (Item, items), (Box, boxes)):
        if objs:
            list(model.objects.select_for_update().filter(pk__in=[o.pk for o in objs]))
    lines = CirculationLine.objects.filter(
        Q(volume__in=volumes) | Q(item__in=items) | Q(box__in=boxes),
        returned_at__isnull=True,
        circulation__status__in=OPEN_STATES,
    ).select_related("circulation", "volume", "item", "box")
    return [
        f"{display_code(line.volume or line.item or line.box)}（{line.circulation.number}）"
        for line in lines
    ]


def request_circulation(actor, data: dict) -> Circulation:
    """出库申请: ``purpose`` (required), ``targets`` (codes or volume/item/box objects),
    optional ``due_at`` and ``note``. Anyone who may see holdings may ask; only what they may
    see can be asked for, and nothing already on an open circulation."""
    require(actor, VIEW_HOLDINGS)
    if actor is None:
        raise PermissionDenied(_("出库申请须由具体人员提出"))
    errors: Errors = defaultdict(list)
    spec = {
        "purpose": lambda v: check.text(v, _("出库事由"), max_length=200, required=True),
        "targets": lambda v: v,
        "due_at": lambda v: _moment(v, _("应归还时间")),
        "note": lambda v: check.text(v, _("备注"), multiline=True, max_length=2000),
    }
    values = _clean(data, spec, errors)
    if "purpose" not in values and "purpose" not in errors:
        errors["purpose"].append(_("出库事由不能为空"))
    raw = values.get("targets") or []
    if isinstance(raw, str):
        raw = raw.splitlines()
    now = timezone.now()
    if values.get("due_at") and values["due_at"] <= now:
        errors["due_at"].append(_("应归还时间应晚于现在"))
    with transaction.atomic():
        targets = _targets(actor, raw, errors)
        busy = _busy(targets) if targets else []
        if busy:
            errors["targets"].append(_("已在其他出库单中：%(c)s") % {"c": "、".join(busy)})
        _raise(errors)
        circulation = Circulation.objects.create(
            number=_next_circulation_number(now),
            purpose=values["purpose"],
            requested_by=actor,
            due_at=values.get("due_at"),
            note=values.get("note", ""),
        )
        CirculationLine.objects.bulk_create(
            [
                CirculationLine(
                    circulation=circulation,
                    volume=t if isinstance(t, Volume) else None,
                    item=t if isinstance(t, Item) else None,
                    box=t if isinstance(t, Box) else None,
                )
                for t in targets
            ]
        )
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=circulation,
            detail={
                "status": circulation.status,
                "purpose": circulation.purpose,
                "targets": [display_code(t) for t in targets],
                "due_at": circulation.due_at,
            },
        )
    return circulation


def _transition(actor, circulation: Circulation, allowed: Sequence[str], **fields) -> Circulation:
    """Move a circulation on, locked, from one of ``allowed`` states; audited."""
    with transaction.atomic():
        circ = Circulation.objects.select_for_update().get(pk=circulation.pk)
        if circ.status not in allowed:
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: [
                        _("出库单 %(n)s 当前为“%(s)s”，不能执行此操作")
                        % {"n": circ.number, "s": circ.get_status_display()}
                    ]
                }
            )
        check_fn = fields.pop("_check", None)
        if check_fn:
            check_fn(circ)
        before = {k: _plain(getattr(circ, k)) for k in ("status", *fields)}
        for name, value in fields.items():
            setattr(circ, name, value)
        circ.save()
        after = {k: _plain(getattr(circ, k)) for k in before}
        record(AuditAction.UPDATE, actor=actor, obj=circ, detail=changes(before, after))
    return circ


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return getattr(value, "username", None) or value.pk
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _due(value: Any, errors: Errors) -> dt.datetime | None:
    try:
        due = _moment(value, _("应归还时间"))
    except ValidationError as exc:
        errors["due_at"].extend(exc.messages)
        return None
    if due is not None and due <= timezone.now():
        errors["due_at"].append(_("应归还时间应晚于现在"))
    return due


def approve_circulation(actor, circulation: Circulation, *, due_at: Any = None) -> Circulation:
    """批准: a keeper approves someone else's request, optionally setting the return date."""
    require(actor, MANAGE)
    errors: Errors = defaultdict(list)
    due = _due(due_at, errors)
    _raise(errors)

    def not_own(circ: Circulation) -> None:
        if actor is not None and circ.requested_by_id == actor.pk:
            raise ValidationError({NON_FIELD_ERRORS: [_("不能批准本人提出的出库申请")]})

    fields: dict[str, Any] = {
        "_check": not_own,
        "status": CirculationStatus.APPROVED,
        "approved_by": actor,
        "approved_at": timezone.now(),
    }
    if due is not None:
        fields["due_at"] = due
    return _transition(actor, circulation, [CirculationStatus.REQUESTED], **fields)


def reject_circulation(actor, circulation: Circulation, reason: str) -> Circulation:
    """驳回 with a reason."""
    require(actor, MANAGE)
    reason = check.text(reason, _("驳回理由"), max_length=500)
    if not reason:
        raise ValidationError({"reason": [_("请填写驳回理由")]})
    note = (circulation.note + "\n" if circulation.note else "") + _("驳回：") + reason
    return _transition(
        actor,
        circulation,
        [CirculationStatus.REQUESTED],
        status=CirculationStatus.REJECTED,
        approved_by=actor,
        approved_at=timezone.now(),
        note=note,
    )


def cancel_circulation(actor, circulation: Circulation) -> Circulation:
    """取消: the requester or a keeper withdraws a request not yet taken out."""
    if actor is not None and circulation.requested_by_id != actor.pk:
        require(actor, MANAGE)
    return _transition(
        actor,
        circulation,
        [CirculationStatus.REQUESTED, CirculationStatus.APPROVED],
        status=CirculationStatus.CANCELLED,
    )


def take_out(actor, circulation: Circulation, *, due_at: Any = None) -> Circulation:
    """出库: the keeper hands the material over. Without a return date the loan lasts
    ``LANTAI_VAULT_LOAN_DAYS`` days."""
    require(actor, MANAGE)
    errors: Errors = defaultdict(list)
    due = _due(due_at, errors)
    _raise(errors)
    now = timezone.now()
    current_due = circulation.due_at if circulation.due_at and circulation.due_at > now else None
    return _transition(
        actor,
        circulation,
        [CirculationStatus.APPROVED],
        status=CirculationStatus.OUT,
        handled_by=actor,
        out_at=now,
        due_at=due or current_due or now + dt.timedelta(days=loan_days()),
    )


def return_lines(
    actor, circulation: Circulation, lines: Iterable[CirculationLine] | None = None
) -> Circulation:
    """归还 some lines (default: all still out). The circulation is returned when every line
    is back."""
    require(actor, MANAGE)
    now = timezone.now()
    with transaction.atomic():
        circ = Circulation.objects.select_for_update().get(pk=circulation.pk)
        if circ.status != CirculationStatus.OUT:
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: [
                        _("出库单 %(n)s 当前为“%(s)s”，不能登记归还")
                        % {"n": circ.number, "s": circ.get_status_display()}
                    ]
                }
            )
        pending = circ.lines.filter(returned_at__isnull=True)
        if lines is not None:
            wanted = {line.pk for line in lines}
            foreign = wanted - set(circ.lines.values_list("pk", flat=True))
            if foreign:
                raise ValidationError({"lines": [_("所选明细不属于该出库单")]})
            pending = pending.filter(pk__in=wanted)
        returned = [str(line) for line in pending.select_related("volume", "item", "box")]
        if not returned:
            raise ValidationError({"lines": [_("所选档案均已归还")]})
        pending.update(returned_at=now)
        detail: dict[str, Any] = {"returned": returned}
        if not circ.lines.filter(returned_at__isnull=True).exists():
            circ.status = CirculationStatus.RETURNED
            circ.returned_at = now
            circ.save(update_fields=["status", "returned_at"])
            detail["status"] = [CirculationStatus.OUT, CirculationStatus.RETURNED]
        record(AuditAction.UPDATE, actor=actor, obj=circ, detail=detail)
    return circ


def visible_circulations(user) -> QuerySet[Circulation]:
    """Keepers see every circulation; others see their own requests."""
    qs = Circulation.objects.select_related("requested_by", "approved_by", "handled_by")
    if user is None or has(user, MANAGE):
        return qs
    return qs.filter(requested_by=user)


def overdue_circulations(now: dt.datetime | None = None) -> QuerySet[Circulation]:
    """Circulations out past their return date (index circ_due: status, due_at)."""
    now = now or timezone.now()
    return Circulation.objects.filter(status=CirculationStatus.OUT, due_at__lt=now)


REMINDER_EVENT = "overdue_reminder"


def _recently_reminded(circulation: Circulation, now: dt.datetime) -> bool:
    # The reminder is itself recorded in the audit trail; the latest such record is what stops
    # a second mail within the interval (audit_object index: object_type, object_id, seq).
    last = (
        AuditEntry.objects.filter(
            object_type=circulation._meta.label_lower,
            object_id=str(circulation.pk),
            action=AuditAction.SYSTEM,
            detail__event=REMINDER_EVENT,
        )
        .order_by("-seq")
        .values_list("detail", flat=True)
        .first()
    )
    if not last:
        return False
    sent_at = dt.datetime.fromisoformat(last["sent_at"])
    return now - sent_at < REMINDER_INTERVAL


def send_overdue_reminders(now: dt.datetime | None = None) -> int:
    """催还: mail the requester (copying the keepers of the vaults concerned) about each
    overdue circulation, at most once a day each. Returns the number of reminders sent."""
    now = now or timezone.now()
    sent = 0
    for circ in overdue_circulations(now).select_related("requested_by", "handled_by"):
        if _recently_reminded(circ, now):
            continue
        recipients = _reminder_recipients(circ)
        if not recipients:
            logger.warning("overdue circulation %s: nobody has an e-mail address", circ.number)
            continue
        lines = [
            str(line)
            for line in circ.lines.filter(returned_at__isnull=True).select_related(
                "volume", "item", "box"
            )
        ]
        days = (now - circ.due_at).days
        subject = _("【催还】出库单 %(n)s 已逾期") % {"n": circ.number}
        body = _(
            "%(name)s：\n\n出库单 %(n)s（事由：%(p)s）应于 %(due)s 归还，已逾期%(d)d天。\n"
            "尚未归还：\n%(lines)s\n\n请尽快归还库房。\n%(archive)s"
        ) % {
            "name": circ.requested_by.real_name or circ.requested_by.username,
            "n": circ.number,
            "p": circ.purpose,
            "due": timezone.localtime(circ.due_at).strftime("%Y-%m-%d %H:%M"),
            "d": max(days, 0),
            "lines": "\n".join(f"  · {line}" for line in lines),
            "archive": getattr(settings, "LANTAI_ARCHIVE_NAME", ""),
        }
        try:
            send_mail(subject, body, None, recipients, fail_silently=False)
        except Exception:
            # One bad address or a mail server hiccup must not stop the other reminders;
            # unrecorded, this one is tried again next run.
            logger.exception("overdue reminder for %s failed", circ.number)
            continue
        with transaction.atomic():
            record(
                AuditAction.SYSTEM,
                obj=circ,
                detail={
                    "event": REMINDER_EVENT,
                    "sent_at": now.isoformat(),
                    "to": recipients,
                    "overdue_days": days,
                },
            )
        sent += 1
    return sent


def _reminder_recipients(circ: Circulation) -> list[str]:
    people = [circ.requested_by]
    if circ.handled_by_id:
        people.append(circ.handled_by)
    # The keepers of every vault the material belongs in (a few lines per circulation).
    vault_ids = set()
    for line in circ.lines.select_related("volume", "item", "box"):
        where = whereabouts(line.volume or line.item or line.box)
        if where.location is not None:
            vault_ids.add(where.location.vault_id)
    User = get_user_model()
    people += list(User.objects.filter(vaults__in=vault_ids, is_active=True))
    emails: list[str] = []
    for person in people:
        if person.email and person.email not in emails:
            emails.append(person.email)
    return emails


# --- vault entry log 库房出入登记 ---------------------------------------------------------------


def log_entry(actor, data: dict) -> VaultEntry:
    """登记进入库房: ``vault``, ``reason`` (required), ``person`` (default: the actor),
    ``companions``, ``entered_at`` (default now), ``left_at``, ``circulation``."""
    require(actor, MANAGE)
    errors: Errors = defaultdict(list)
    spec = {
        "vault": lambda v: _row(Vault, v, _("库房")),
        "person": lambda v: _user(v, _("人员")),
        "companions": lambda v: check.text(v, _("陪同人员"), max_length=200),
        "reason": lambda v: check.text(v, _("事由"), max_length=200, required=True),
        "entered_at": lambda v: _moment(v, _("进入时间")),
        "left_at": lambda v: _moment(v, _("离开时间")),
        "circulation": lambda v: _row(Circulation, v, _("出库单"), lookup="number"),
    }
    values = _clean(data, spec, errors)
    for name in ("vault", "reason"):
        if name not in errors and not values.get(name):
            errors[name].append(_("%(label)s不能为空") % {"label": _label(VaultEntry, name)})
    person = values.get("person") or actor
    if person is None and "person" not in errors:
        errors["person"].append(_("人员不能为空"))
    now = timezone.now()
    entered = values.get("entered_at") or now
    # A few minutes of clock skew between a tablet and the server are tolerated.
    if entered > now + dt.timedelta(minutes=5):
        errors["entered_at"].append(_("进入时间不能晚于现在"))
    left = values.get("left_at")
    if left is not None and left < entered:
        errors["left_at"].append(_("离开时间不能早于进入时间"))
    with transaction.atomic():
        if person is not None and values.get("vault") and left is None:
            open_entry = VaultEntry.objects.filter(
                vault=values["vault"], person=person, left_at__isnull=True
            ).first()
            if open_entry:
                errors["person"].append(
                    _("%(p)s 自 %(t)s 进入后尚未登记离开")
                    % {
                        "p": person,
                        "t": timezone.localtime(open_entry.entered_at).strftime("%m-%d %H:%M"),
                    }
                )
        _raise(errors)
        entry = VaultEntry.objects.create(
            vault=values["vault"],
            person=person,
            companions=values.get("companions", ""),
            reason=values["reason"],
            entered_at=entered,
            left_at=left,
            circulation=values.get("circulation"),
        )
        _audit_save(actor, entry, None)
    return entry


def log_exit(actor, entry: VaultEntry, left_at: Any = None) -> VaultEntry:
    """登记离开库房."""
    require(actor, MANAGE)
    errors: Errors = defaultdict(list)
    try:
        left = _moment(left_at, _("离开时间")) or timezone.now()
    except ValidationError as exc:
        errors["left_at"].extend(exc.messages)
        left = None
    with transaction.atomic():
        entry = VaultEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.left_at is not None:
            errors[NON_FIELD_ERRORS].append(_("已登记离开"))
        elif left is not None and left < entry.entered_at:
            errors["left_at"].append(_("离开时间不能早于进入时间"))
        _raise(errors)
        before = snapshot(entry)
        entry.left_at = left
        entry.save(update_fields=["left_at"])
        _audit_save(actor, entry, before)
    return entry


# --- overview -----------------------------------------------------------------------------------


def vault_overview() -> list[dict[str, Any]]:
    """Per vault: locations, boxes, volumes/items shelved, capacity used, open inventories."""
    vaults = Vault.objects.annotate(
        location_count=Count("locations", distinct=True),
        box_count=Count("locations__boxes", distinct=True),
    )
    rows = []
    for vault in vaults:
        shelved = Placement.objects.filter(
            Q(location__vault=vault) | Q(box__location__vault=vault)
        ).count()
        rows.append({"vault": vault, "shelved": shelved})
    return rows
