"""Holdings services 馆藏服务: who sees what, describing items and volumes, 档号, numbering,
counts, and the code tables (units, fonds, series, 档号 rules).

Every write checks permission here (``lantai.core.permissions.require``) and appends an audit
entry in the same transaction; bad input raises ``ValidationError({field: [messages]})`` with
every problem found, and nothing is saved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from lantai.accounts.roles import Role
from lantai.audit.models import AuditAction
from lantai.audit.services import changes, record
from lantai.core.permissions import has, require
from lantai.holdings import refcode
from lantai.holdings import validators as check
from lantai.holdings.models import (
    Arrangement,
    Carrier,
    Category,
    Classification,
    Fonds,
    FondsName,
    Item,
    NumberSequence,
    Openness,
    ReferenceScheme,
    Retention,
    Series,
    Unit,
    UnitKind,
    Volume,
)

VIEW = "holdings.view_holdings"
CHANGE = "holdings.change_holdings"
VIEW_RESTRICTED = "holdings.view_restricted"
MANAGE_CODES = "holdings.manage_codes"

#: Roles whose holdings scope is the whole archive; a unit officer holding none of them is
#: limited to the fonds of their own unit.
STAFF_ROLES = (Role.ARCHIVIST, Role.KEEPER, Role.SUPERVISOR, Role.SYSADMIN)

Errors = dict[str, list[str]]


# --- visibility: THE place that scopes holdings -------------------------------------------------


def _unit_scoped(user) -> bool:
    has_role = getattr(user, "has_role", None)
    return bool(has_role and has_role(Role.UNIT_OFFICER) and not has_role(*STAFF_ROLES))


def _unit_fonds_ids(user) -> list[int]:
    # A literal id list (a unit has one or a few fonds), not a subquery: with "fonds_id IN
    # (8)" the planners use the (fonds, …) indexes for sorted pages; with a subquery SQLite
    # walked the global date index instead (175 ms at 1,000,000 items).
    return list(Fonds.objects.filter(unit_id=user.unit_id).values_list("pk", flat=True))


def _public_q() -> Q:
    # Classified material (秘密/机密/绝密) and 内部 never reach the public; only what an
    # opening review opened does.
    return Q(openness=Openness.OPEN, classification=Classification.PUBLIC)


def visible_items(user, *, per_row: bool = False) -> QuerySet[Item]:
    """Items ``user`` may see. None (the system) sees all; staff with view_holdings see all
    but 控制使用 unless they hold view_restricted; a unit records officer sees only their own
    unit's fonds; everyone else only open, public items (not inside a closed volume).

    ``per_row``: the same rule with the volume test as a lookup of each item's own volume
    (a scalar subquery by primary key), for queries that visit a bounded number of items
    (full-text search's candidates); by default the open or closed volumes are listed once
    per query, which suits counting or listing many items but costs ~10 ms at 10,000 volumes
    whatever the query visits."""
    items = Item.objects.all()
    if user is None:
        return items
    if not has(user, VIEW):
        if per_row:
            items = items.alias(_open_volume=_volume_lookup(Volume.objects.filter(_public_q())))
            in_open = Q(_open_volume__isnull=False)
        else:
            in_open = Q(volume__in=Volume.objects.filter(_public_q()).values("pk"))
        return items.filter(_public_q()).filter(Q(volume__isnull=True) | in_open)
    if _unit_scoped(user):
        if not user.unit_id:
            return items.none()
        items = items.filter(fonds__in=_unit_fonds_ids(user))
    if not has(user, VIEW_RESTRICTED):
        closed = Volume.objects.filter(openness=Openness.RESTRICTED)
        if per_row:
            items = items.alias(_closed_volume=_volume_lookup(closed))
            outside_closed = Q(_closed_volume__isnull=True)
        else:
            outside_closed = ~Q(volume__in=closed.values("pk"))
        items = items.exclude(openness=Openness.RESTRICTED).filter(
            Q(volume__isnull=True) | outside_closed
        )
    return items


def _volume_lookup(volumes: QuerySet[Volume]) -> Subquery:
    """The item's own volume if it is among ``volumes``, else NULL: a lookup by primary key
    per item row. A scalar subquery rather than EXISTS: PostgreSQL turns a correlated EXISTS
    under OR into a hash of every such volume, built by reading them all for each query
    (~25 ms at 40,000 volumes), even when a search tests a few hundred items."""
    return Subquery(volumes.filter(pk=OuterRef("volume_id")).order_by().values("pk")[:1])


def visibility_key(user) -> str:
    """A name for the set of items ``visible_items(user)`` yields, the same for every user who
    sees the same items (the public, staff without 控制使用, one unit's officers …): for
    caches of results computed over that set. Follows visible_items' rules branch by branch."""
    if user is None:
        return "all"
    if not has(user, VIEW):
        return "public"
    parts = []
    if _unit_scoped(user):
        if not user.unit_id:
            return "none"
        parts.append("fonds=" + ",".join(str(pk) for pk in sorted(_unit_fonds_ids(user))))
    parts.append("restricted" if has(user, VIEW_RESTRICTED) else "unrestricted")
    return ";".join(parts)


def visible_volumes(user) -> QuerySet[Volume]:
    """Volumes ``user`` may see, by the same rules as ``visible_items``."""
    volumes = Volume.objects.all()
    if user is None:
        return volumes
    if not has(user, VIEW):
        return volumes.filter(_public_q())
    if _unit_scoped(user):
        if not user.unit_id:
            return volumes.none()
        volumes = volumes.filter(fonds__in=_unit_fonds_ids(user))
    if not has(user, VIEW_RESTRICTED):
        volumes = volumes.exclude(openness=Openness.RESTRICTED)
    return volumes


def visible_fonds(user) -> QuerySet[Fonds]:
    """Fonds ``user`` may browse: all for staff, their unit's for a unit officer, and for the
    public only fonds holding something open."""
    fonds = Fonds.objects.all()
    if user is None:
        return fonds
    if has(user, VIEW):
        if _unit_scoped(user):
            return fonds.filter(unit_id=user.unit_id) if user.unit_id else fonds.none()
        return fonds
    # One indexed probe per fonds (item_openness: openness, fonds), never a scan.
    return fonds.filter(
        Exists(visible_items(user).filter(fonds=OuterRef("pk")))
        | Exists(visible_volumes(user).filter(fonds=OuterRef("pk")))
    )


def _as_pk(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def get_item(user, pk) -> Item:
    """The item ``pk`` if ``user`` may see it, else Item.DoesNotExist (its existence is not
    revealed). Reading a 控制使用 item is audited."""
    key = _as_pk(pk)
    if key is None:
        raise Item.DoesNotExist
    item = (
        visible_items(user)
        .select_related("fonds", "category", "series", "unit", "volume")
        .get(pk=key)
    )
    restricted = item.openness == Openness.RESTRICTED or (
        item.volume_id is not None and item.volume.openness == Openness.RESTRICTED
    )
    if restricted:
        record(AuditAction.VIEW, actor=user, obj=item, detail={"openness": item.openness})
    return item


def get_volume(user, pk) -> Volume:
    """The volume ``pk`` if visible to ``user``, else Volume.DoesNotExist; 控制使用 reads are
    audited."""
    key = _as_pk(pk)
    if key is None:
        raise Volume.DoesNotExist
    volume = visible_volumes(user).select_related("fonds", "category", "series", "unit").get(pk=key)
    if volume.openness == Openness.RESTRICTED:
        record(AuditAction.VIEW, actor=user, obj=volume, detail={"openness": volume.openness})
    return volume


# --- snapshots for the audit trail -------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The object's own field values (foreign keys as ids), for audit details."""
    skip = {"created_at", "updated_at"}
    return {
        field.attname: _plain(getattr(obj, field.attname))
        for field in obj._meta.concrete_fields
        if field.attname not in skip
    }


# --- numbering (件号 / 案卷号) -------------------------------------------------------------------

_ITEM_SCOPE_PARTS = ("fonds", "category", "year", "retention", "series")
_VOLUME_SCOPE_PARTS = ("fonds", "category", "year", "retention", "catalog")
_PART_ATTNAMES = {
    "fonds": "fonds_id",
    "category": "category_id",
    "year": "year",
    "retention": "retention",
    "series": "series_id",
    "catalog": "catalog_no",
}


def _scope(kind: str, template: str, values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Numbering scope: the parts of the unique constraint that the template shows. A part the
    template leaves out numbers across it, so codes stay unique whatever the template."""
    parts = _ITEM_SCOPE_PARTS if kind == "item" else _VOLUME_SCOPE_PARTS
    used = refcode.placeholders(template)
    filters = {_PART_ATTNAMES[p]: values[p] for p in parts if p in used}
    key = ":".join(f"{p}={values[p] if values[p] is not None else '-'}" for p in parts if p in used)
    return f"{kind}:{key}", filters


def _next_number(scope: str, existing: QuerySet, field: str) -> int:
    """Lock the scope's sequence row and hand out max(last, highest in use) + 1."""
    with transaction.atomic():
        # Race-safe creation: INSERT … ON CONFLICT DO NOTHING (INSERT OR IGNORE on SQLite);
        # a concurrent creator's row is then found and locked below.
        NumberSequence.objects.bulk_create([NumberSequence(scope=scope)], ignore_conflicts=True)
        sequence = NumberSequence.objects.select_for_update().get(scope=scope)
        highest = existing.aggregate(highest=Max(field))["highest"] or 0
        number = max(sequence.last, highest) + 1
        sequence.last = number
        sequence.save(update_fields=["last"])
    return number


def allocate_item_no(fonds, category, year: int, retention: str, series=None, volume=None) -> int:
    """Next 件号 within the item's numbering scope (inside a volume: that volume). Call it in
    the transaction that saves the item: the sequence row stays locked until commit, so
    concurrent archivists get distinct, contiguous numbers."""
    volume_id = refcode._pk(volume)
    if volume_id is not None:
        return _next_number(
            f"item:volume={volume_id}", Item.objects.filter(volume_id=volume_id), "item_no"
        )
    scheme = refcode.scheme_for(fonds, category)
    values = {
        "fonds": refcode._pk(fonds),
        "category": refcode._pk(category),
        "year": year,
        "retention": retention,
        "series": refcode._pk(series),
    }
    scope, filters = _scope("item", scheme.item_template, values)
    existing = Item.objects.filter(volume__isnull=True, **filters)
    return _next_number(scope, existing, "item_no")


def allocate_volume_no(fonds, category, year: int, retention: str, catalog_no: str = "") -> int:
    """Next 案卷号 within the volume's numbering scope (same locking as allocate_item_no)."""
    scheme = refcode.scheme_for(fonds, category)
    values = {
        "fonds": refcode._pk(fonds),
        "category": refcode._pk(category),
        "year": year,
        "retention": retention,
        "catalog": catalog_no or "",
    }
    scope, filters = _scope("volume", scheme.volume_template, values)
    return _next_number(scope, Volume.objects.filter(**filters), "volume_no")


# --- cleaning item and volume data -----------------------------------------------------------

_COMMON_FIELDS = (
    "fonds",
    "category",
    "series",
    "unit",
    "catalog_no",
    "year",
    "retention",
    "reference_code",
    "title",
    "responsible",
    "date_start",
    "date_end",
    "pages",
    "classification",
    "openness",
    "carrier",
    "keywords",
    "notes",
)
ITEM_FIELDS = (*_COMMON_FIELDS, "volume", "item_no", "doc_number", "date", "extra")
VOLUME_FIELDS = (*_COMMON_FIELDS, "volume_no")
_CHOICES = {
    "retention": (Retention, None),
    "classification": (Classification, Classification.PUBLIC),
    "openness": (Openness, Openness.UNREVIEWED),
    "carrier": (Carrier, Carrier.PAPER),
}
_MULTILINE = {"notes"}
_DATES = {"date_start", "date_end", "date"}
_REQUIRED = ("fonds", "category", "year", "retention", "title")


def _label(model: type[models.Model], name: str) -> str:
    return str(model._meta.get_field(name).verbose_name)


def _resolve(model: type[models.Model], value, label: str, *, lookup: str = "code", **scope):
    """An instance, a primary key or a code → the row; a clear message when unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, model):
        if value.pk is None:
            raise ValidationError(_("%(label)s尚未保存") % {"label": label})
        return value
    if isinstance(value, models.Model):
        raise ValidationError(_("%(label)s类型不正确") % {"label": label})
    query = None
    if isinstance(value, int) and not isinstance(value, bool):
        query = {"pk": value}
    elif isinstance(value, str):
        value = value.strip()
        if model is not Series and value.isascii() and value.isdigit():
            query = {"pk": int(value)}
        else:
            query = {lookup: value}
    if query is None:
        raise ValidationError(_("%(label)s无效") % {"label": label})
    found = model.objects.filter(**query, **scope).first()
    if found is None:
        raise ValidationError(
            _("未知的%(label)s：%(value)s") % {"label": label, "value": str(value)[:40]}
        )
    return found


def _clean_value(model: type[models.Model], name: str, value: Any, fonds) -> Any:
    label = _label(model, name)
    field = model._meta.get_field(name)
    if name == "fonds":
        return _resolve(Fonds, value, label)
    if name == "category":
        return _resolve(Category, value, label)
    if name == "unit":
        return _resolve(Unit, value, label)
    if name == "volume":
        return _resolve(Volume, value, label, lookup="reference_code")
    if name == "series":
        if isinstance(value, str) and value.strip():
            if fonds is None:
                raise ValidationError(_("请先选择全宗，再填写机构(问题)代码"))
            return _resolve(Series, value, label, fonds=fonds)
        return _resolve(Series, value, label)
    if name == "year":
        return check.year(value, label)
    if name in _CHOICES:
        choices, default = _CHOICES[name]
        return check.choice(value, choices, label, default=default)
    if name in _DATES:
        return check.date(value, label)
    if name == "pages":
        return check.integer(value, label, minimum=0)
    if name in ("item_no", "volume_no"):
        return check.integer(value, label, minimum=1)
    if name == "extra":
        if value is None or value == "":
            return {}
        if not isinstance(value, dict):
            raise ValidationError(_("专门字段应为键值对"))
        check.check_controls(value, label)
        return value
    if name == "reference_code":
        code = check.text(value, label, max_length=field.max_length)
        return code or None
    return check.text(
        value,
        label,
        max_length=getattr(field, "max_length", None),
        multiline=name in _MULTILINE,
    )


def _current_values(obj: models.Model, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def _same(a, b) -> bool:
    if isinstance(a, models.Model) or isinstance(b, models.Model):
        return getattr(a, "pk", a) == getattr(b, "pk", b)
    return a == b


class _Prepared:
    """The outcome of checking item or volume data: the unsaved/updated object, errors, and
    what is still to do (allocate a number)."""

    def __init__(self, obj, errors: Errors, allocate: bool, template: str, scheme) -> None:
        self.obj = obj
        self.errors = errors
        self.allocate = allocate
        self.template = template
        self.scheme = scheme


def _prepare(kind: str, data: dict, current: models.Model | None) -> _Prepared:
    model = Item if kind == "item" else Volume
    fields = ITEM_FIELDS if kind == "item" else VOLUME_FIELDS
    number_field = "item_no" if kind == "item" else "volume_no"
    errors: Errors = defaultdict(list)
    if not isinstance(data, dict):
        raise ValidationError({NON_FIELD_ERRORS: [_("数据格式不正确")]})
    unknown = sorted(str(key) for key in data if key not in fields)
    if unknown:
        errors[NON_FIELD_ERRORS].append(_("未知字段：%(f)s") % {"f": "、".join(unknown)})

    if current is not None:
        values = _current_values(current, fields)
    else:
        values = dict.fromkeys(fields)
        for name in fields:
            field = model._meta.get_field(name)
            if name in _CHOICES:
                values[name] = _CHOICES[name][1]
            elif name == "extra":
                values[name] = {}
            elif isinstance(field, models.CharField | models.TextField) and not field.null:
                values[name] = ""

    # Fonds first: a series code is looked up within it.
    order = sorted((name for name in data if name in fields), key=lambda n: n != "fonds")
    for name in order:
        try:
            values[name] = _clean_value(model, name, data[name], values.get("fonds"))
        except ValidationError as exc:
            errors[name].extend(exc.messages)

    if current is None and values.get("year") is None and "year" not in errors:
        dated = values.get("date") if kind == "item" else values.get("date_start")
        if isinstance(dated, date):
            values["year"] = dated.year  # 年度 defaults to the year the record was formed
    for name in _REQUIRED:
        if name not in errors and values.get(name) in (None, ""):
            errors[name].append(_("%(label)s不能为空") % {"label": _label(model, name)})

    _cross_checks(kind, values, errors)

    scheme = template = None
    allocate = False
    obj = current if current is not None else model()
    parts_ok = not any(
        name in errors
        for name in (
            "fonds",
            "category",
            "year",
            "retention",
            "series",
            "catalog_no",
            "volume",
            number_field,
        )
    )
    if parts_ok:
        scheme = refcode.scheme_for(values["fonds"], values["category"])
        if kind == "item":
            template = scheme.volume_item_template if values["volume"] else scheme.item_template
        else:
            template = scheme.volume_template
    if current is not None and current.reference_code:
        _check_immutable(kind, current, values, data, template, errors)

    for name in fields:
        if name == "reference_code" and current is not None and current.reference_code:
            continue
        setattr(obj, name, values[name])

    if parts_ok and not (current is not None and current.reference_code):
        allocate = _check_code(kind, obj, data, scheme, template, errors)
    return _Prepared(obj, errors, allocate, template or "", scheme)


def _cross_checks(kind: str, values: dict, errors: Errors) -> None:
    start, end = values.get("date_start"), values.get("date_end")
    if start and end and "date_start" not in errors and "date_end" not in errors and end < start:
        errors["date_end"].append(
            _("终止日期 %(end)s 早于起始日期 %(start)s")
            % {"end": end.isoformat(), "start": start.isoformat()}
        )
    year = values.get("year")
    formed = values.get("date") if kind == "item" else None
    if formed and year and "date" not in errors and "year" not in errors and formed.year != year:
        errors["date"].append(
            _("形成日期 %(d)s 不在年度 %(y)d 内") % {"d": formed.isoformat(), "y": year}
        )
    fonds, series = values.get("fonds"), values.get("series")
    if fonds and series and "series" not in errors and series.fonds_id != fonds.pk:
        errors["series"].append(
            _("机构(问题) %(s)s 不属于全宗 %(f)s") % {"s": series.code, "f": fonds.code}
        )
    volume = values.get("volume") if kind == "item" else None
    if volume is not None and "volume" not in errors:
        mismatched = [
            _label(Item, name)
            for name, attname in (
                ("fonds", "fonds_id"),
                ("category", "category_id"),
                ("year", "year"),
                ("retention", "retention"),
            )
            if name not in errors
            and values.get(name) is not None
            and getattr(volume, attname) != getattr(values[name], "pk", values[name])
        ]
        if mismatched:
            errors["volume"].append(
                _("所属案卷 %(v)s 的%(what)s与本件不一致")
                % {"v": volume.reference_code or volume.pk, "what": "、".join(mismatched)}
            )


def _check_immutable(kind, current, values, data, template, errors: Errors) -> None:
    """Once a 档号 is assigned, it and the fields that form it never change."""
    code = current.reference_code
    given = data.get("reference_code")
    if given not in (None, "") and str(given).strip() != code:
        errors["reference_code"].append(_("档号 %(c)s 一经确定不能修改") % {"c": code})
    frozen = ["fonds", "category", "year", "retention", "series"]
    frozen.append("item_no" if kind == "item" else "volume_no")
    if kind == "item":
        frozen.append("volume")
    if template and "catalog" in refcode.placeholders(template):
        frozen.append("catalog_no")
    model = type(current)
    for name in frozen:
        if name in data and name not in errors and not _same(getattr(current, name), values[name]):
            errors[name].append(
                _("已有档号（%(c)s）的记录不能修改%(label)s：档号一经确定不再改变")
                % {"c": code, "label": _label(model, name)}
            )


def _check_code(kind, obj, data, scheme, template, errors: Errors) -> bool:
    """Parse a supplied 档号 and check it agrees; compose the code; check numbers and codes
    are free. Returns True when the number is still to be allocated."""
    number_field = "item_no" if kind == "item" else "volume_no"
    number_part = "item" if kind == "item" else "volume"
    supplied = obj.reference_code
    widths = {"item_width": scheme.item_width, "volume_width": scheme.volume_width}
    if supplied:
        try:
            parsed = refcode.parse(template, supplied, **widths)
        except refcode.ReferenceCodeError as exc:
            errors["reference_code"].append(exc.message)
            return False
        if getattr(obj, number_field) is None:
            setattr(obj, number_field, getattr(parsed, number_part))
        for messages in refcode.agreement_errors(supplied, obj).values():
            errors["reference_code"].extend(messages)
        if errors:
            return False
    allocate = getattr(obj, number_field) is None
    if allocate:
        # Check the other parts compose, with a stand-in number.
        setattr(obj, number_field, 1)
    try:
        code = refcode.code_for_item(obj) if kind == "item" else refcode.code_for_volume(obj)
    except refcode.ReferenceCodeError as exc:
        field = refcode.PART_FIELDS.get(exc.part, "reference_code")
        if kind == "volume" and exc.part == "volume":
            field = "volume_no"
        if allocate and exc.part == number_part:
            field = NON_FIELD_ERRORS
        errors[field].append(exc.message)
        code = None
    if allocate:
        setattr(obj, number_field, None)
        return True
    if code is not None and not errors:
        obj.reference_code = code
        _check_free(kind, obj, errors)
    return False


def _number_taken(kind: str, obj) -> bool:
    if kind == "volume":
        clash = Volume.objects.filter(
            fonds_id=obj.fonds_id,
            category_id=obj.category_id,
            year=obj.year,
            retention=obj.retention,
            catalog_no=obj.catalog_no,
            volume_no=obj.volume_no,
        )
    elif obj.volume_id:
        clash = Item.objects.filter(volume_id=obj.volume_id, item_no=obj.item_no)
    else:
        clash = Item.objects.filter(
            volume__isnull=True,
            fonds_id=obj.fonds_id,
            category_id=obj.category_id,
            year=obj.year,
            retention=obj.retention,
            series_id=obj.series_id,
            item_no=obj.item_no,
        )
    if obj.pk:
        clash = clash.exclude(pk=obj.pk)
    return clash.exists()


def _check_free(kind: str, obj, errors: Errors) -> None:
    number_field = "item_no" if kind == "item" else "volume_no"
    if _number_taken(kind, obj):
        errors[number_field].append(
            _("%(label)s %(n)d 在本范围内已被使用")
            % {"label": _label(type(obj), number_field), "n": getattr(obj, number_field)}
        )
    code = obj.reference_code
    item_clash = Item.objects.filter(reference_code=code)
    volume_clash = Volume.objects.filter(reference_code=code)
    if obj.pk and kind == "item":
        item_clash = item_clash.exclude(pk=obj.pk)
    elif obj.pk:
        volume_clash = volume_clash.exclude(pk=obj.pk)
    if item_clash.exists() or volume_clash.exists():
        errors["reference_code"].append(_("档号 %(c)s 已存在") % {"c": code})


def _raise(errors: Errors) -> None:
    if errors:
        raise ValidationError({field: list(messages) for field, messages in errors.items()})


def _finish(kind: str, prepared: _Prepared) -> None:
    """Allocate the number if needed, compose the code and check it is free (in the caller's
    transaction, so the sequence lock holds until commit)."""
    obj = prepared.obj
    if prepared.allocate:
        if kind == "item":
            obj.item_no = allocate_item_no(
                obj.fonds_id,
                obj.category_id,
                obj.year,
                obj.retention,
                series=obj.series_id,
                volume=obj.volume_id,
            )
        else:
            obj.volume_no = allocate_volume_no(
                obj.fonds_id, obj.category_id, obj.year, obj.retention, obj.catalog_no
            )
        errors: Errors = defaultdict(list)
        try:
            obj.reference_code = (
                refcode.code_for_item(obj) if kind == "item" else refcode.code_for_volume(obj)
            )
        except refcode.ReferenceCodeError as exc:
            errors[NON_FIELD_ERRORS].append(exc.message)
        else:
            _check_free(kind, obj, errors)
        _raise(errors)


def _save(obj: models.Model) -> None:
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        # A concurrent writer took the number or code between our check and our insert.
        raise ValidationError(
            {"reference_code": [_("档号或编号已被占用，请重试（%(e)s）") % {"e": str(exc)[:120]}]}
        ) from exc


def validate_item(data: dict, item: Item | None = None) -> Item:
    """Check item data as create_item/update_item would, without saving (for forms).
    Returns the unsaved object; raises ValidationError({field: [messages]})."""
    prepared = _prepare("item", data, _fresh(Item, item) if item is not None else None)
    _raise(prepared.errors)
    return prepared.obj


def validate_volume(data: dict, volume: Volume | None = None) -> Volume:
    prepared = _prepare("volume", data, _fresh(Volume, volume) if volume is not None else None)
    _raise(prepared.errors)
    return prepared.obj


def _fresh(model, obj, lock: bool = False):
    queryset = model.objects.select_related("fonds", "category", "series", "unit")
    if model is Item:
        queryset = queryset.select_related("volume")
    if lock:
        # of=self: PostgreSQL cannot lock the nullable side of the outer joins.
        queryset = queryset.select_for_update(of=("self",))
    return queryset.get(pk=obj.pk)


def _create(kind: str, actor, data: dict):
    require(actor, CHANGE)
    with transaction.atomic():
        prepared = _prepare(kind, data, None)
        _raise(prepared.errors)
        _finish(kind, prepared)
        obj = prepared.obj
        _save(obj)
        record(AuditAction.CREATE, actor=actor, obj=obj, detail=snapshot(obj))
    return obj


def _update(kind: str, actor, obj, data: dict):
    require(actor, CHANGE)
    model = Item if kind == "item" else Volume
    with transaction.atomic():
        # Re-read and lock the row: the caller's instance may already carry unsaved edits.
        current = _fresh(model, obj, lock=True)
        before = snapshot(current)
        prepared = _prepare(kind, data, current)
        _raise(prepared.errors)
        _finish(kind, prepared)
        _save(current)
        detail = changes(before, snapshot(current))
        record(AuditAction.UPDATE, actor=actor, obj=current, detail=detail)
    return current


def _delete(kind: str, actor, obj) -> None:
    require(actor, CHANGE)
    model = Item if kind == "item" else Volume
    with transaction.atomic():
        current = _fresh(model, obj, lock=True)
        if kind == "volume":
            inside = Item.objects.filter(volume_id=current.pk).count()
            if inside:
                raise ValidationError(
                    {NON_FIELD_ERRORS: [_("案卷内还有%(n)d件，不能删除") % {"n": inside}]}
                )
        detail = snapshot(current)
        record(AuditAction.DELETE, actor=actor, obj=current, detail=detail)
        current.delete()


def create_item(actor, data: dict) -> Item:
    """Describe a new 件. Keys of ``data`` are Item field names (fonds/category/series/unit/
    volume as instances, ids or codes). A missing item_no is allocated; the 档号 is composed;
    a supplied reference_code must parse and agree with the fields."""
    return _create("item", actor, data)


def update_item(actor, item: Item, data: dict) -> Item:
    """Change an item's description. Its 档号 and the fields forming it are frozen once
    assigned. Returns the saved item (a fresh instance)."""
    return _update("item", actor, item, data)


def delete_item(actor, item: Item) -> None:
    _delete("item", actor, item)


def create_volume(actor, data: dict) -> Volume:
    """Describe a new 案卷 (Volume field names; volume_no allocated when missing)."""
    return _create("volume", actor, data)


def update_volume(actor, volume: Volume, data: dict) -> Volume:
    return _update("volume", actor, volume, data)


def delete_volume(actor, volume: Volume) -> None:
    """Delete an empty volume (one that still holds items is refused)."""
    _delete("volume", actor, volume)


# --- counts ---------------------------------------------------------------------------------


def holdings_count(
    queryset_items: QuerySet[Item] | None = None, queryset_volumes: QuerySet[Volume] | None = None
) -> dict[str, int]:
    """Holdings in 卷(件): a volume counts once and a standalone item once; items inside
    volumes are reported apart and not added to the total."""
    items = Item.objects.all() if queryset_items is None else queryset_items
    volumes = Volume.objects.all() if queryset_volumes is None else queryset_volumes
    counted = items.order_by().aggregate(
        standalone=Count("pk", filter=Q(volume__isnull=True)),
        inside=Count("pk", filter=Q(volume__isnull=False)),
    )
    volume_count = volumes.order_by().count()
    return {
        "volumes": volume_count,
        "items_standalone": counted["standalone"],
        "items_in_volumes": counted["inside"],
        "total": volume_count + counted["standalone"],
    }


def browse_counts(user, fonds=None, category=None) -> list[dict[str, Any]]:
    """Counts for one level of the browse tree: per fonds (no arguments), per category within
    ``fonds``, or per year within ``fonds`` and ``category``. Each row: level, key, code,
    label, volumes, items_standalone, items_in_volumes, total (卷(件)). Two GROUP BY queries
    over indexed columns; only what ``user`` may see is counted."""
    items = visible_items(user)
    volumes = visible_volumes(user)
    fonds_id, category_id = refcode._pk(fonds), refcode._pk(category)
    if fonds_id is not None:
        items, volumes = items.filter(fonds_id=fonds_id), volumes.filter(fonds_id=fonds_id)
    if category_id is not None:
        items = items.filter(category_id=category_id)
        volumes = volumes.filter(category_id=category_id)
    if fonds_id is None:
        level, key = "fonds", "fonds_id"
    elif category_id is None:
        level, key = "category", "category_id"
    else:
        level, key = "year", "year"

    rows: dict[Any, dict[str, Any]] = {}

    def row(value) -> dict[str, Any]:
        return rows.setdefault(
            value,
            {
                "level": level,
                "key": value,
                "code": "",
                "label": "",
                "volumes": 0,
                "items_standalone": 0,
                "items_in_volumes": 0,
                "total": 0,
            },
        )

    for group in (
        items.order_by()
        .values(key)
        .annotate(
            standalone=Count("pk", filter=Q(volume__isnull=True)),
            inside=Count("pk", filter=Q(volume__isnull=False)),
        )
    ):
        entry = row(group[key])
        entry["items_standalone"] = group["standalone"]
        entry["items_in_volumes"] = group["inside"]
    for group in volumes.order_by().values(key).annotate(n=Count("pk")):
        row(group[key])["volumes"] = group["n"]

    if level == "fonds":
        names = Fonds.objects.filter(pk__in=rows).values_list("pk", "code", "name")
    elif level == "category":
        names = Category.objects.filter(pk__in=rows).values_list("pk", "code", "name")
    else:
        names = [(year, str(year), str(year)) for year in rows]
    for pk, code, name in names:
        rows[pk]["code"], rows[pk]["label"] = code, name
    result = []
    for entry in rows.values():
        entry["total"] = entry["volumes"] + entry["items_standalone"]
        result.append(entry)
    if level == "year":
        result.sort(key=lambda entry: entry["key"], reverse=True)
    else:
        result.sort(key=lambda entry: entry["code"])
    return result


# --- code tables: units, fonds, series, categories, 档号 rules -------------------------------


def _clean_fields(model, data: dict, spec: dict, errors: Errors) -> dict[str, Any]:
    """Run ``spec[name](value)`` for each given field, collecting messages per field."""
    unknown = sorted(str(key) for key in data if key not in spec)
    if unknown:
        errors[NON_FIELD_ERRORS].append(_("未知字段：%(f)s") % {"f": "、".join(unknown)})
    cleaned = {}
    for name, value in data.items():
        if name not in spec:
            continue
        try:
            cleaned[name] = spec[name](value)
        except ValidationError as exc:
            errors[name].extend(exc.messages)
    return cleaned


def _required(model, values: dict, names: Iterable[str], errors: Errors) -> None:
    for name in names:
        if name not in errors and values.get(name) in (None, ""):
            errors[name].append(_("%(label)s不能为空") % {"label": _label(model, name)})


def _opt_year(label_model, name):
    def clean(value):
        if value is None or value == "":
            return None
        return check.year(value, _label(label_model, name))

    return clean


def _text_spec(model, name, *, required=False, multiline=False):
    field = model._meta.get_field(name)

    def clean(value):
        return check.text(
            value,
            str(field.verbose_name),
            max_length=getattr(field, "max_length", None),
            required=required,
            multiline=multiline,
        )

    return clean


def _write(actor, obj, values: dict, errors: Errors, *, creating: bool, unique_checks=()):
    """Apply values, check uniqueness, save and audit, all or nothing."""
    before = {} if creating else snapshot(obj)
    for name, value in values.items():
        setattr(obj, name, value)
    for field_name, queryset, message in unique_checks:
        if field_name not in errors:
            if obj.pk:
                queryset = queryset.exclude(pk=obj.pk)
            if queryset.exists():
                errors[field_name].append(message)
    _raise(errors)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ValidationError({NON_FIELD_ERRORS: [_("保存失败：数据冲突，请重试")]}) from exc
    if creating:
        record(AuditAction.CREATE, actor=actor, obj=obj, detail=snapshot(obj))
    else:
        record(AuditAction.UPDATE, actor=actor, obj=obj, detail=changes(before, snapshot(obj)))
    return obj


def _unit_spec():
    return {
        "code": check.unit_code,
        "name": _text_spec(Unit, "name", required=True),
        "kind": lambda v: check.choice(v, UnitKind, _("单位类型"), default=UnitKind.AGENCY),
        "parent": lambda v: _resolve(Unit, v, _("上级单位")),
        "contact": _text_spec(Unit, "contact"),
        "phone": _text_spec(Unit, "phone"),
        "address": _text_spec(Unit, "address"),
        "active": bool,
    }


def create_unit(actor, data: dict) -> Unit:
    """Register a 立档单位 (manage_codes)."""
    require(actor, MANAGE_CODES)
    errors: Errors = defaultdict(list)
    with transaction.atomic():
        values = _clean_fields(Unit, data, _unit_spec(), errors)
        values.setdefault("kind", UnitKind.AGENCY)
        _required(Unit, values, ("code", "name"), errors)
        unit = Unit()
        return _write(
            actor,
            unit,
            values,
            errors,
            creating=True,
            unique_checks=[
                (
                    "code",
                    Unit.objects.filter(code=values.get("code")),
                    _("单位代码 %(c)s 已存在") % {"c": values.get("code")},
                ),
            ],
        )


def update_unit(actor, unit: Unit, data: dict) -> Unit:
    require(actor, MANAGE_CODES)
    errors: Errors = defaultdict(list)
    with transaction.atomic():
        unit = Unit.objects.select_for_update().get(pk=unit.pk)
        values = _clean_fields(Unit, data, _unit_spec(), errors)
        _required(
            Unit, {**_current_values(unit, ("code", "name")), **values}, ("code", "name"), errors
        )
        parent = values.get("parent")
        if parent is not None and "parent" not in errors:
            # Walk up from the new parent: reaching this unit would make a loop.
            seen, node = set(), parent
            while node is not None and node.pk not in seen:
                if node.pk == unit.pk:
                    errors["parent"].append(_("上级单位不能是本单位或其下级单位"))
                    break
                seen.add(node.pk)
                node = node.parent
        return _write(
            actor,
            unit,
            values,
            errors,
            creating=False,
            unique_checks=[
                (
                    "code",
                    Unit.objects.filter(code=values.get("code", unit.code)),
                    _("单位代码 %(c)s 已存在") % {"c": values.get("code", unit.code)},
                ),
            ],
        )


def _fonds_spec():
    return {
        "code": check.fonds_code,
        "name": _text_spec(Fonds, "name", required=True),
        "unit": lambda v: _resolve(Unit, v, _("立档单位")),
        "start_year": _opt_year(Fonds, "start_year"),
        "end_year": _opt_year(Fonds, "end_year"),
        "description": _text_spec(Fonds, "description", multiline=True),
    }


def _fonds_years(values: dict, errors: Errors) -> None:
    start, end = values.get("start_year"), values.get("end_year")
    if start and end and end < start and "end_year" not in errors:
        errors["end_year"].append(_("终止年度不能早于起始年度"))


def create_fonds(actor, data: dict) -> Fonds:
    """Create a 全宗 (manage_codes). The code follows LANTAI_FONDS_CODE_PATTERN."""
    require(actor, MANAGE_CODES)
    errors: Errors = defaultdict(list)
    with transaction.atomic():
        values = _clean_fields(Fonds, data, _fonds_spec(), errors)
        _required(Fonds, values, ("code", "name", "unit"), errors)
        _fonds_years(values, errors)
        return _write(
            actor,
            Fonds(),
            values,
            errors,
            creating=True,
            unique_checks=[
                (
                    "code",
                    Fonds.objects.filter(code=values.get("code")),
                    _("全宗号 %(c)s 已存在") % {"c": values.get("code")},
                ),
            ],
        )


def update_fonds(actor, fonds: Fonds, data: dict) -> Fonds:
    """Edit a fonds' description; its code is kept for ever."""
    require(actor, MANAGE_CODES)
    errors: Errors = defaultdict(list)
    with transaction.atomic():
        fonds = Fonds.objects.select_for_update().get(pk=fonds.pk)
        values = _clean_fields(Fonds, data, _fonds_spec(), errors)
        if "code" in values and values["code"] != fonds.code:
            errors["code"].append(_("全宗号 %(c)s 一经确定不能修改") % {"c": fonds.code})
        merged = {**_current_values(fonds, ("name", "unit", "start_year", "end_year")), **values}
        _required(Fonds, merged, ("name", "unit"), errors)
        _fonds_years(merged, errors)
        return _write(actor, fonds, values, errors, creating=False)


def create_series(actor, data: dict) -> Series:
    """Add a 机构(问题) to a fonds (manage_codes); its code is unique within the fonds."""
    require(actor, MANAGE_CODES)
    errors: Errors = defaultdict(list)
    spec = {
        "fonds": lambda v: _resolve(Fonds, v, _("全宗")),
        "code": check.series_code,
        "name": _text_spec(Series, "name", required=True),
    }
    with transaction.atomic():
        values = _clean_fields(Series, data, spec, errors)
        _required(Series, values, ("fonds", "code", "name"), errors)
        return _write(
            actor,
            Series(),
            values,
            errors,
            creating=True,
            unique_checks=[
                (
                    "code",
                    Series.objects.filter(fonds=values.get("fonds"), code=values.get("code")),
                    _("该全宗已有机构(问题)代码 %(c)s") % {"c": values.get("code")},
                ),
            ],
        )


def save_category(actor, data: dict, category: Category | None = None) -> Category:
    """Create or edit a 档案门类 (manage_codes). A category's code never changes once created:
    it is part of every 档号 in it."""
    require(actor, MANAGE_CODES)
    errors: Errors = defaultdict(list)
    spec = {
        "code": check.category_code,
        "name": _text_spec(Category, "name", required=True),
        "parent": lambda v: _resolve(Category, v, _("上级门类")),
        "arrangement": lambda v: check.choice(
            v, Arrangement, _("整理方式"), default=Arrangement.ITEM
        ),
        "livelihood": bool,
        "opening_years": lambda v: check.integer(v, _("开放期限（年）"), minimum=0),
        "sort_order": lambda v: check.integer(v, _("排序"), minimum=0),
    }
    with transaction.atomic():
        creating = category is None
        obj = Category() if creating else Category.objects.select_for_update().get(pk=category.pk)
        values = _clean_fields(Category, data, spec, errors)
        if not creating and "code" in values and values["code"] != obj.code:
            errors["code"].append(_("门类代码 %(c)s 一经确定不能修改") % {"c": obj.code})
        merged = {**_current_values(obj, ("code", "name")), **values}
        _required(Category, merged, ("code", "name"), errors)
        if values.get("parent") is not None and obj.pk and values["parent"].pk == obj.pk:
            errors["parent"].append(_("上级门类不能是本门类"))
        return _write(
            actor,
            obj,
            values,
            errors,
            creating=creating,
            unique_checks=[
                (
                    "code",
                    Category.objects.filter(code=merged.get("code")),
                    _("门类代码 %(c)s 已存在") % {"c": merged.get("code")},
                ),
            ],
        )


def _template_spec(name: str, needs: tuple[str, ...]):
    label = _label(ReferenceScheme, name)

    def clean(value):
        template = check.text(value, label, max_length=200, required=True)
        try:
            used = refcode.placeholders(template)
        except refcode.ReferenceCodeError as exc:
            raise ValidationError(exc.message) from exc
        missing = [p for p in needs if p not in used]
        if missing:
            raise ValidationError(
                _("%(label)s必须包含 %(p)s")
                % {"label": label, "p": " ".join(f"{{{p}}}" for p in missing)}
            )
        # DA/T 13: a 档号 begins with its 全宗号. Lists sorted by 档号 within a fonds rely on
        # it (tables.keyset_page narrows the walk to the fonds' code prefix).
        if not template.startswith("{fonds}"):
            raise ValidationError(_("%(label)s必须以 {fonds}（全宗号）开头") % {"label": label})
        return template

    return clean


def save_scheme(actor, data: dict, scheme: ReferenceScheme | None = None) -> ReferenceScheme:
    """Create or edit a 档号规则 (manage_codes). Templates are checked to be parseable; one
    scheme per (fonds, category) scope. Existing 档号 are not changed by a new template."""
    require(actor, MANAGE_CODES)
    errors: Errors = defaultdict(list)

    def width(label):
        def clean(value):
            number = check.integer(value, label, minimum=1, required=True)
            if number > 8:
                raise ValidationError(_("%(label)s不能超过8位") % {"label": label})
            return number

        return clean

    spec = {
        "fonds": lambda v: _resolve(Fonds, v, _("全宗")),
        "category": lambda v: _resolve(Category, v, _("门类")),
        "item_template": _template_spec("item_template", ("item",)),
        "volume_template": _template_spec("volume_template", ("volume",)),
        "volume_item_template": _template_spec("volume_item_template", ("volume", "item")),
        "item_width": width(_("件号位数")),
        "volume_width": width(_("案卷号位数")),
        "note": _text_spec(ReferenceScheme, "note"),
    }
    with transaction.atomic():
        creating = scheme is None
        obj = (
            ReferenceScheme()
            if creating
            else ReferenceScheme.objects.select_for_update().get(pk=scheme.pk)
        )
        values = _clean_fields(ReferenceScheme, data, spec, errors)
        fonds = values.get("fonds", obj.fonds if obj.fonds_id else None)
        category = values.get("category", obj.category if obj.category_id else None)
        return _write(
            actor,
            obj,
            values,
            errors,
            creating=creating,
            unique_checks=[
                (
                    "fonds",
                    ReferenceScheme.objects.filter(fonds=fonds, category=category),
                    _("该全宗与门类已有档号规则"),
                ),
            ],
        )


# --- code tables, continued: series edits, 全宗名称沿革, removing unused rows ----------------


def _series_in_use(series: Series) -> bool:
    return (
        Item.objects.filter(series_id=series.pk).exists()
        or Volume.objects.filter(series_id=series.pk).exists()
    )


def update_series(actor, series: Series, data: dict) -> Series:
    """Rename a 机构(问题) (manage_codes). Its code may change only while no item or volume
    uses it (the code is part of their 档号); its fonds never changes."""
    require(actor, MANAGE_CODES)
    errors: Errors = defaultdict(list)
    spec = {
        "fonds": lambda v: _resolve(Fonds, v, _("全宗")),
        "code": check.series_code,
        "name": _text_spec(Series, "name", required=True),
    }
    with transaction.atomic():
        obj = Series.objects.select_for_update().get(pk=series.pk)
        values = _clean_fields(Series, data, spec, errors)
        if "fonds" in values and values["fonds"] is not None and values["fonds"].pk != obj.fonds_id:
            errors["fonds"].append(_("机构(问题)不能移到其他全宗"))
        values.pop("fonds", None)
        if "code" in values and values["code"] != obj.code and _series_in_use(obj):
            errors["code"].append(_("机构(问题)代码 %(c)s 已用于档号，不能修改") % {"c": obj.code})
        merged = {**_current_values(obj, ("code", "name")), **values}
        _required(Series, merged, ("code", "name"), errors)
        return _write(
            actor,
            obj,
            values,
            errors,
            creating=False,
            unique_checks=[
                (
                    "code",
                    Series.objects.filter(fonds_id=obj.fonds_id, code=merged.get("code")),
                    _("该全宗已有机构(问题)代码 %(c)s") % {"c": merged.get("code")},
                ),
            ],
        )


def _delete_code_row(actor, obj: models.Model) -> None:
    """Audit and delete a code-table row inside the caller's transaction."""
    record(AuditAction.DELETE, actor=actor, obj=obj, detail=snapshot(obj))
    try:
        with transaction.atomic():
            obj.delete()
    except models.ProtectedError as exc:
        raise ValidationError({NON_FIELD_ERRORS: [_("仍有记录引用它，不能删除")]}) from exc


def delete_series(actor, series: Series) -> None:
    """Remove a 机构(问题) that no item or volume uses (manage_codes)."""
    require(actor, MANAGE_CODES)
    with transaction.atomic():
        obj = Series.objects.select_for_update().get(pk=series.pk)
        if _series_in_use(obj):
            message = _("机构(问题) %(c)s 已有条目或案卷使用，不能删除") % {"c": obj.code}
            raise ValidationError({NON_FIELD_ERRORS: [message]})
        _delete_code_row(actor, obj)


def save_fonds_name(actor, data: dict, fonds_name: FondsName | None = None) -> FondsName:
    """Add or edit one entry of a fonds' 全宗名称沿革 (manage_codes). The fonds is given when
    adding and never changes afterwards."""
    require(actor, MANAGE_CODES)
    errors: Errors = defaultdict(list)
    spec = {
        "fonds": lambda v: _resolve(Fonds, v, _("全宗")),
        "name": _text_spec(FondsName, "name", required=True),
        "start_year": _opt_year(FondsName, "start_year"),
        "end_year": _opt_year(FondsName, "end_year"),
        "note": _text_spec(FondsName, "note"),
    }
    with transaction.atomic():
        creating = fonds_name is None
        obj = (
            FondsName() if creating else FondsName.objects.select_for_update().get(pk=fonds_name.pk)
        )
        values = _clean_fields(FondsName, data, spec, errors)
        if not creating:
            moved = values.get("fonds")
            if moved is not None and moved.pk != obj.fonds_id:
                errors["fonds"].append(_("名称沿革不能移到其他全宗"))
            values.pop("fonds", None)
            merged = {**_current_values(obj, ("name", "start_year", "end_year")), **values}
        else:
            merged = values
            if "fonds" not in errors and values.get("fonds") is None:
                errors["fonds"].append(_("全宗不能为空"))
        _required(FondsName, merged, ("name",), errors)
        _fonds_years(merged, errors)
        return _write(actor, obj, values, errors, creating=creating)


def delete_fonds_name(actor, fonds_name: FondsName) -> None:
    """Remove one entry of a 全宗名称沿革 (manage_codes)."""
    require(actor, MANAGE_CODES)
    with transaction.atomic():
        obj = FondsName.objects.select_for_update().get(pk=fonds_name.pk)
        _delete_code_row(actor, obj)


def delete_scheme(actor, scheme: ReferenceScheme) -> None:
    """Remove a 档号规则 for a fonds and/or category (manage_codes); records in its scope then
    follow the next less specific rule. The default rule cannot be removed."""
    require(actor, MANAGE_CODES)
    with transaction.atomic():
        obj = ReferenceScheme.objects.select_for_update().get(pk=scheme.pk)
        if obj.fonds_id is None and obj.category_id is None:
            raise ValidationError({NON_FIELD_ERRORS: [_("默认档号规则不能删除")]})
        _delete_code_row(actor, obj)


SCHEME_TEMPLATE_NEEDS = {
    "item_template": ("item",),
    "volume_template": ("volume",),
    "volume_item_template": ("volume", "item"),
}


def check_scheme_templates(data: dict) -> tuple[dict[str, Any], Errors]:
    """Check the templates and widths in ``data`` by save_scheme's rules, saving nothing (for
    the live preview of a 档号规则). Returns (cleaned values, {field: [messages]})."""
    errors: Errors = defaultdict(list)
    spec: dict[str, Any] = {
        name: _template_spec(name, needs) for name, needs in SCHEME_TEMPLATE_NEEDS.items()
    }
    for name in ("item_width", "volume_width"):
        label = _label(ReferenceScheme, name)

        def clean(value, label=label):
            number = check.integer(value, label, minimum=1, required=True)
            if number > 8:
                raise ValidationError(_("%(label)s不能超过8位") % {"label": label})
            return number

        spec[name] = clean
    given = {name: value for name, value in data.items() if name in spec}
    return _clean_fields(ReferenceScheme, given, spec, errors), dict(errors)
