"""Outreach services 宣传与编研服务: visits 参观接待, exhibitions 展览, calls for material 征集公告,
compilation 编研 and oral history 口述档案.

Plain Python used by the views, the API and the CLI alike: every function that changes
something checks the permission, writes in one transaction and records an audit entry.
Functions for the public (booking, offers, online exhibitions) take no user and expose only
what holdings.services.visible_items(AnonymousUser) allows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import ExtractMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction
from lantai.audit.services import changes, record
from lantai.core.permissions import require
from lantai.holdings.models import Carrier, Category, Item, Openness
from lantai.outreach import media as media_probe
from lantai.outreach import transcripts
from lantai.outreach.images import access_images, display_version
from lantai.outreach.models import (
    Article,
    BookingStatus,
    ClosedDay,
    Column,
    CompilationProject,
    CompilationSource,
    Exhibit,
    Exhibition,
    ExhibitionSection,
    Interview,
    Interviewee,
    InterviewMedia,
    MaterialCall,
    MaterialOffer,
    OfferPhoto,
    OfferStatus,
    OralHistoryProject,
    Publication,
    PublishStatus,
    TranscriptSegment,
    VisitBooking,
    VisitSlot,
)
from lantai.storage.models import Component, ComponentRole
from lantai.storage.services import attach, put_file

log = logging.getLogger(__name__)

VISITS = "outreach.manage_visits"
EXHIBITIONS = "outreach.manage_exhibitions"
COMPILATION = "outreach.manage_compilation"
ORAL_HISTORY = "outreach.manage_oral_history"

#: Groups larger than this book several slots (or call the archive).
MAX_GROUP = 200
#: How far ahead the public may book (days from today), on the form and through the API.
BOOKING_DAYS = 90
PHONE = re.compile(r"^[0-9+\-() ]{7,20}$")
ORAL_HISTORY_CATEGORY = "KS"  # 口述档案 (holdings/seed.py)

OFFER_MAX_PHOTOS = 5
OFFER_MAX_BYTES = 5 * 1024 * 1024
OFFER_IMAGE_TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
MEDIA_MAX_BYTES = 4 * 1024**3
CONSENT_TYPES = {b"%PDF": ("application/pdf", "pdf")}


def _public() -> AnonymousUser:
    return AnonymousUser()


def _reference(prefix: str, model: type[models.Model]) -> str:
    """An unguessable reference such as CG-20250314-7K3QX (letters without 0/O/1/I)."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    stamp = timezone.localdate().strftime("%Y%m%d")
    for _attempt in range(10):
        code = "".join(secrets.choice(alphabet) for _i in range(5))
        reference = f"{prefix}-{stamp}-{code}"
        if not model.objects.filter(reference=reference).exists():
            return reference
    raise RuntimeError("no free reference")  # 32^5 codes a day: never in practice


def _snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    out = {}
    for name in fields:
        value = getattr(obj, obj._meta.get_field(name).attname)
        out[name] = (
            value if isinstance(value, int | float | str | bool | type(None)) else str(value)
        )
    return out


def _save(actor, obj: models.Model, data: dict, fields: tuple[str, ...], check=None):
    """Set ``fields`` from ``data``, validate (field messages), save and audit."""
    creating = obj.pk is None
    before = {} if creating else _snapshot(obj, fields)
    for name in fields:
        if name in data:
            value = data[name]
            if isinstance(value, str):
                value = value.strip()
            field = obj._meta.get_field(name)
            if value == "" and field.null:
                value = None
            setattr(obj, field.name, value)
    errors: dict[str, list[str]] = {}
    try:
        obj.full_clean()
    except ValidationError as exc:
        errors = {k: list(v) for k, v in exc.message_dict.items()}
    if check is not None and not errors:
        check(obj, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        obj.save()
        after = _snapshot(obj, fields)
        record(
            AuditAction.CREATE if creating else AuditAction.UPDATE,
            actor=actor,
            obj=obj,
            detail=after if creating else {"changes": changes(before, after)},
        )
    return obj


def _notify(to: str, subject: str, body: str) -> None:
    """Send after commit; a mail server that is down never undoes a booking."""
    if not to:
        return

    def send() -> None:
        try:
            send_mail(subject, body, None, [to])
        except Exception:
            log.exception("outreach: notice to %s not sent", to)

    transaction.on_commit(send)


# --- visits 参观接待 ----------------------------------------------------------------------------


def parse_times(text: str) -> list[dt.time]:
    """ "9:30, 14:00" → [09:30, 14:00]."""
    times = []
    for part in re.split(r"[,，\s]+", (text or "").strip()):
        if not part:
            continue
        try:
            times.append(dt.datetime.strptime(part, "%H:%M").time())
        except ValueError:
            raise ValidationError(
                {"times": [_("时间格式应为 时:分，如 9:30：%(t)s") % {"t": part}]}
            ) from None
    if not times:
        raise ValidationError({"times": [_("请至少填写一个开始时间。")]})
    return sorted(set(times))


def generate_slots(
    actor,
    start: dt.date,
    end: dt.date,
    *,
    weekdays: Iterable[int] = (1, 2, 3, 4, 5),
    times: Iterable[dt.time] = (dt.time(9, 30), dt.time(14, 0)),
    capacity: int = 60,
) -> int:
    """Create slots 参观时段 on ``weekdays`` (Monday = 0; default Tue–Sat) at ``times`` from
    ``start`` to ``end``, skipping closed days 闭馆日 and slots that already exist. Returns the
    number created."""
    require(actor, VISITS)
    if end < start:
        raise ValidationError({"end": [_("结束日期不能早于开始日期。")]})
    if (end - start).days > 366:
        raise ValidationError({"end": [_("一次最多生成一年的时段。")]})
    if capacity < 1:
        raise ValidationError({"capacity": [_("容量须为正整数。")]})
    days = set(weekdays)
    times = sorted(set(times))
    closed = set(ClosedDay.objects.filter(date__range=(start, end)).values_list("date", flat=True))
    existing = set(VisitSlot.objects.filter(date__range=(start, end)).values_list("date", "start"))
    new = []
    day = start
    while day <= end:
        if day.weekday() in days and day not in closed:
            new += [
                VisitSlot(date=day, start=t, capacity=capacity)
                for t in times
                if (day, t) not in existing
            ]
        day += dt.timedelta(days=1)
    with transaction.atomic():
        VisitSlot.objects.bulk_create(new, ignore_conflicts=True)
        record(
            AuditAction.CREATE,
            actor=actor,
            object_type="outreach.visitslot",
            object_repr=_("生成参观时段 %(a)s — %(b)s") % {"a": start, "b": end},
            detail={"created": len(new), "capacity": capacity, "weekdays": sorted(days)},
        )
    return len(new)


SLOT_FIELDS = ("date", "start", "capacity", "closed", "note")


def save_slot(actor, data: dict, slot: VisitSlot | None = None) -> VisitSlot:
    """Create or change a slot by hand. The capacity may not drop below the people booked."""
    require(actor, VISITS)

    def check(obj: VisitSlot, errors: dict) -> None:
        if obj.capacity < obj.booked:
            errors["capacity"] = [_("容量不能小于已预约人数（%(n)d 人）。") % {"n": obj.booked}]

    slot = slot or VisitSlot()
    with transaction.atomic():
        if slot.pk:
            slot = VisitSlot.objects.select_for_update().get(pk=slot.pk)
        return _save(actor, slot, data, SLOT_FIELDS, check)


def close_day(actor, date: dt.date, reason: str = "") -> ClosedDay:
    """Declare a closed day 闭馆日: its slots stop taking bookings (existing ones stay)."""
    require(actor, VISITS)
    with transaction.atomic():
        day, _created = ClosedDay.objects.update_or_create(date=date, defaults={"reason": reason})
        VisitSlot.objects.filter(date=date).update(closed=True)
        record(AuditAction.CREATE, actor=actor, obj=day, detail={"reason": reason})
    return day


def bookable_slots(days: int = BOOKING_DAYS):
    """Slots the public may book: from tomorrow, open, with places left."""
    today = timezone.localdate()
    closed = ClosedDay.objects.values("date")
    return (
        VisitSlot.objects.filter(
            date__gt=today,
            date__lte=today + dt.timedelta(days=days),
            closed=False,
            booked__lt=F("capacity"),
        )
        .exclude(date__in=closed)
        .order_by("date", "start")
    )


def _take(slot_id: int, people: int) -> bool:
    """Hold ``people`` places in the slot if they are free: one conditional UPDATE, so
    PostgreSQL re-checks the condition on the latest row after any concurrent writer."""
    return bool(
        VisitSlot.objects.filter(
            pk=slot_id, closed=False, booked__lte=F("capacity") - people
        ).update(booked=F("booked") + people)
    )


def _release(slot_id: int, people: int) -> None:
    VisitSlot.objects.filter(pk=slot_id).update(booked=F("booked") - people)


def _clean_booking(data: dict) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name, label, limit in (
        ("organisation", _("单位/团体名称"), 200),
        ("contact", _("联系人"), 100),
        ("phone", _("联系电话"), 40),
    ):
        value = str(data.get(name) or "").strip()
        if not value:
            errors[name] = [_("请填写%(f)s。") % {"f": label}]
        elif len(value) > limit:
            errors[name] = [_("%(f)s过长。") % {"f": label}]
        values[name] = value
    if values["phone"] and not PHONE.match(values["phone"]):
        errors["phone"] = [_("联系电话格式不正确。")]
    email = str(data.get("email") or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("电子邮箱格式不正确。")]
    values["email"] = email
    try:
        people = int(data.get("people"))
    except (TypeError, ValueError):
        people = 0
    if people < 1:
        errors["people"] = [_("参观人数须为正整数。")]
    elif people > MAX_GROUP:
        errors["people"] = [_("单次预约最多 %(n)d 人，请分批预约。") % {"n": MAX_GROUP}]
    values["people"] = people
    values["purpose"] = str(data.get("purpose") or "").strip()[:2000]
    slot = data.get("slot")
    if not isinstance(slot, VisitSlot):
        slot = VisitSlot.objects.filter(pk=slot).first() if str(slot or "").isdigit() else None
    if slot is None:
        errors["slot"] = [_("请选择参观时段。")]
    elif slot.date <= timezone.localdate():
        errors["slot"] = [_("只能预约明天及以后的时段。")]
    elif slot.date > timezone.localdate() + dt.timedelta(days=BOOKING_DAYS):
        # The form only offers bookable_slots(); a caller naming a slot id must not get round it.
        errors["slot"] = [_("只能预约 %(n)d 天内的时段。") % {"n": BOOKING_DAYS}]
    elif slot.closed or ClosedDay.objects.filter(date=slot.date).exists():
        errors["slot"] = [_("该时段不接受预约。")]
    values["slot"] = slot
    if errors:
        raise ValidationError(errors)
    return values


def book_visit(data: dict) -> VisitBooking:
    """A group's online booking 网上预约 (anyone, no account). Capacity is enforced by a
    conditional UPDATE of the slot; a full slot raises ValidationError({"slot": ...})."""
    values = _clean_booking(data)
    slot = values["slot"]
    with transaction.atomic():
        if not _take(slot.pk, values["people"]):
            slot.refresh_from_db()
            raise ValidationError(
                {
                    "slot": [
                        _("该时段余位不足（剩余 %(n)d 人），请选择其他时段。")
                        % {"n": slot.remaining}
                    ]
                }
            )
        booking = VisitBooking.objects.create(reference=_reference("CG", VisitBooking), **values)
        record(
            AuditAction.CREATE,
            obj=booking,
            username=_("公众"),
            detail={"slot": str(slot), "people": booking.people},
        )
    _notify(
        booking.email,
        _("参观预约已收到：%(r)s") % {"r": booking.reference},
        _("您为%(o)s预约了 %(s)s 的参观（%(n)d 人），预约编号 %(r)s。我们确认后会再次通知您。")
        % {"o": booking.organisation, "s": slot, "n": booking.people, "r": booking.reference},
    )
    return booking


def find_booking(reference: str, phone: str) -> VisitBooking | None:
    """The booking with ``reference`` whose phone matches (both needed: the public status
    check shows nothing to someone who only guessed a reference)."""
    reference = (reference or "").strip().upper()
    phone = re.sub(r"\D", "", phone or "")
    if not reference or not phone:
        return None
    booking = VisitBooking.objects.select_related("slot").filter(reference=reference).first()
    if booking is None or re.sub(r"\D", "", booking.phone) != phone:
        return None
    return booking


#: Statuses the group itself may still cancel (places are held, the visit has not happened).
CANCELLABLE = (BookingStatus.PENDING, BookingStatus.CONFIRMED)


def cancel_booking(reference: str, phone: str) -> VisitBooking:
    """取消预约 by the group itself (no account): the reference and the phone given when booking
    prove the booking is theirs. Only a pending or confirmed booking whose slot has not begun
    can be cancelled; its places return to the slot. Raises VisitBooking.DoesNotExist when
    reference and phone do not match one booking (the caller cannot tell which was wrong)."""
    found = find_booking(reference, phone)
    if found is None:
        raise VisitBooking.DoesNotExist
    with transaction.atomic():
        booking = _locked(found)
        if booking.status not in CANCELLABLE:
            raise ValidationError(
                _("预约当前状态为“%(s)s”，不能取消。") % {"s": booking.get_status_display()}
            )
        starts = timezone.make_aware(dt.datetime.combine(booking.slot.date, booking.slot.start))
        if starts <= timezone.now():
            raise ValidationError(_("参观时段已开始，不能取消。"))
        old = booking.status
        booking.status = BookingStatus.CANCELLED
        booking.save(update_fields=["status", "updated_at"])
        _release(booking.slot_id, booking.people)
        record(
            AuditAction.UPDATE,
            obj=booking,
            username=_("公众"),
            detail={"status": [old, BookingStatus.CANCELLED], "slot": str(booking.slot)},
        )
    _notify(
        booking.email,
        _("参观预约已取消：%(r)s") % {"r": booking.reference},
        _("您预约的 %(s)s 参观（预约编号 %(r)s）已取消。")
        % {"s": booking.slot, "r": booking.reference},
    )
    return booking


def staff_bookings(actor, *, status: str | None = None, day: dt.date | None = None):
    """Bookings for the reception desk 预约管理, by visit date and time: all, or one status, or
    one day's."""
    require(actor, VISITS)
    bookings = VisitBooking.objects.select_related("slot")
    if status in BookingStatus.values:
        bookings = bookings.filter(status=status)
    if day is not None:
        bookings = bookings.filter(slot__date=day)
    return bookings.order_by("slot__date", "slot__start", "pk")


def _locked(booking: VisitBooking) -> VisitBooking:
    return VisitBooking.objects.select_for_update().select_related("slot").get(pk=booking.pk)


def _transition(actor, booking: VisitBooking, allowed, new_status: str, detail: dict, **fields):
    if booking.status not in allowed:
        raise ValidationError(
            _("预约当前状态为“%(s)s”，不能执行此操作。") % {"s": booking.get_status_display()}
        )
    old = booking.status
    booking.status = new_status
    for name, value in fields.items():
        setattr(booking, name, value)
    booking.save()
    record(
        AuditAction.UPDATE,
        actor=actor,
        obj=booking,
        detail={"status": [old, new_status], **detail},
    )
    return booking


def confirm_booking(actor, booking: VisitBooking) -> VisitBooking:
    require(actor, VISITS)
    with transaction.atomic():
        booking = _locked(booking)
        booking = _transition(actor, booking, (BookingStatus.PENDING,), BookingStatus.CONFIRMED, {})
    _notify(
        booking.email,
        _("参观预约已确认：%(r)s") % {"r": booking.reference},
        _("您预约的 %(s)s 参观（%(n)d 人）已确认。请按时到馆，凭预约编号 %(r)s 签到。")
        % {"s": booking.slot, "n": booking.people, "r": booking.reference},
    )
    return booking


def decline_booking(actor, booking: VisitBooking, reason: str) -> VisitBooking:
    """Decline 婉拒 with a reason told to the group; the places return to the slot."""
    require(actor, VISITS)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("请填写婉拒原因。")]})
    with transaction.atomic():
        booking = _locked(booking)
        booking = _transition(
            actor,
            booking,
            (BookingStatus.PENDING, BookingStatus.CONFIRMED),
            BookingStatus.DECLINED,
            {"reason": reason},
            reason=reason[:300],
        )
        _release(booking.slot_id, booking.people)
    _notify(
        booking.email,
        _("参观预约未能安排：%(r)s") % {"r": booking.reference},
        _("很抱歉，您预约的 %(s)s 参观未能安排。原因：%(why)s")
        % {"s": booking.slot, "why": reason},
    )
    return booking


def reschedule_booking(actor, booking: VisitBooking, slot: VisitSlot) -> VisitBooking:
    """Move a booking to another slot 改期: places are taken there first, then freed here."""
    require(actor, VISITS)
    with transaction.atomic():
        booking = _locked(booking)
        if booking.status not in (BookingStatus.PENDING, BookingStatus.CONFIRMED):
            raise ValidationError(
                _("预约当前状态为“%(s)s”，不能改期。") % {"s": booking.get_status_display()}
            )
        if slot.pk == booking.slot_id:
            raise ValidationError({"slot": [_("新时段与原时段相同。")]})
        if slot.date < timezone.localdate():
            raise ValidationError({"slot": [_("不能改到已过去的日期。")]})
        if not _take(slot.pk, booking.people):
            raise ValidationError({"slot": [_("新时段余位不足或不接受预约。")]})
        old_slot = booking.slot
        _release(old_slot.pk, booking.people)
        booking.slot = slot
        booking.save()
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=booking,
            detail={"slot": [str(old_slot), str(slot)]},
        )
    _notify(
        booking.email,
        _("参观预约已改期：%(r)s") % {"r": booking.reference},
        _("您的参观（预约编号 %(r)s）已改至 %(s)s。") % {"r": booking.reference, "s": slot},
    )
    return booking


def check_in(actor, booking: VisitBooking, actual_people: int) -> VisitBooking:
    """Check-in 签到 on the day with the headcount actually present."""
    require(actor, VISITS)
    try:
        actual = int(actual_people)
    except (TypeError, ValueError):
        actual = -1
    if actual < 1 or actual > MAX_GROUP * 2:
        raise ValidationError({"actual_people": [_("实到人数须为正整数。")]})
    with transaction.atomic():
        booking = _locked(booking)
        if booking.slot.date > timezone.localdate():
            raise ValidationError(_("参观当天才能签到。"))
        return _transition(
            actor,
            booking,
            (BookingStatus.CONFIRMED,),
            BookingStatus.CHECKED_IN,
            {"actual_people": actual},
            actual_people=actual,
            checked_in_at=timezone.now(),
        )


def mark_no_show(actor, booking: VisitBooking) -> VisitBooking:
    """未到场: a confirmed group that did not come (from the day of the visit)."""
    require(actor, VISITS)
    with transaction.atomic():
        booking = _locked(booking)
        if booking.slot.date > timezone.localdate():
            raise ValidationError(_("参观日期之前不能登记未到场。"))
        booking = _transition(actor, booking, (BookingStatus.CONFIRMED,), BookingStatus.NO_SHOW, {})
        _release(booking.slot_id, booking.people)
        return booking


def growth_percent(current: int | float, previous: int | float) -> float | None:
    """Growth vs the previous year in %, one decimal; None without a previous figure."""
    if not previous:
        return None
    return round((current - previous) * 100 / previous, 1)


def visit_statistics(year: int) -> dict[str, Any]:
    """Groups 批次 and visitors 人次 actually received (checked in) in ``year`` by month, with
    the previous year and growth %. Counts come from checked-in bookings only."""

    def of(y: int) -> dict[str, Any]:
        rows = (
            VisitBooking.objects.filter(status=BookingStatus.CHECKED_IN, slot__date__year=y)
            .annotate(month=ExtractMonth("slot__date"))
            .values("month")
            .annotate(groups=Count("pk"), visitors=Sum("actual_people"))
            .order_by("month")
        )
        groups = [0] * 12
        visitors = [0] * 12
        for row in rows:
            groups[row["month"] - 1] = row["groups"]
            visitors[row["month"] - 1] = row["visitors"] or 0
        return {"groups": groups, "visitors": visitors, "total_groups": sum(groups),
                "total_visitors": sum(visitors)}  # fmt: skip

    current, previous = of(year), of(year - 1)
    no_shows = VisitBooking.objects.filter(
        status=BookingStatus.NO_SHOW, slot__date__year=year
    ).count()
    return {
        "year": year,
        "months": [f"{m}" for m in range(1, 13)],
        "current": current,
        "previous": previous,
        "groups_growth": growth_percent(current["total_groups"], previous["total_groups"]),
        "visitors_growth": growth_percent(current["total_visitors"], previous["total_visitors"]),
        "no_shows": no_shows,
    }


# --- exhibitions and columns 展览 / 专题栏目 ---------------------------------------------------

EXHIBITION_FIELDS = ("title", "summary", "intro", "column", "venue", "start_date", "end_date")
SECTION_FIELDS = ("exhibition", "title", "text", "sort_order")
COLUMN_FIELDS = ("title", "intro", "sort_order")
ARTICLE_FIELDS = ("column", "title", "body")
CALL_FIELDS = ("title", "text", "exhibition", "campaign", "deadline")


def _dates_in_order(obj, errors: dict) -> None:
    if obj.start_date and obj.end_date and obj.end_date < obj.start_date:
        errors["end_date"] = [_("闭展日期不能早于开展日期。")]


def save_exhibition(actor, data: dict, exhibition: Exhibition | None = None) -> Exhibition:
    require(actor, EXHIBITIONS)
    return _save(actor, exhibition or Exhibition(), data, EXHIBITION_FIELDS, _dates_in_order)


def save_section(actor, data: dict, section: ExhibitionSection | None = None) -> ExhibitionSection:
    require(actor, EXHIBITIONS)
    return _save(actor, section or ExhibitionSection(), data, SECTION_FIELDS)


def save_column(actor, data: dict, column: Column | None = None) -> Column:
    require(actor, EXHIBITIONS)
    return _save(actor, column or Column(), data, COLUMN_FIELDS)


def save_article(actor, data: dict, article: Article | None = None) -> Article:
    require(actor, EXHIBITIONS)
    return _save(actor, article or Article(), data, ARTICLE_FIELDS)


def save_call(actor, data: dict, call: MaterialCall | None = None) -> MaterialCall:
    require(actor, EXHIBITIONS)
    return _save(actor, call or MaterialCall(), data, CALL_FIELDS)


def set_published(actor, obj: models.Model, published: bool) -> models.Model:
    """Publish 发布 or withdraw 撤回 an exhibition, column, article or call."""
    require(actor, EXHIBITIONS)
    if not isinstance(obj, Exhibition | Column | Article | MaterialCall):
        raise TypeError(obj)
    status = PublishStatus.PUBLISHED if published else PublishStatus.DRAFT
    with transaction.atomic():
        old = obj.status
        obj.status = status
        fields = ["status"]
        if published and hasattr(obj, "published_at") and obj.published_at is None:
            obj.published_at = timezone.now()
            fields.append("published_at")
        obj.save(update_fields=fields)
        record(AuditAction.UPDATE, actor=actor, obj=obj, detail={"status": [old, status]})
    return obj


def _public_item(item_or_id) -> Item | None:
    pk = getattr(item_or_id, "pk", item_or_id)
    return visible_public_items().filter(pk=pk).first()


def visible_public_items():
    from lantai.holdings.services import visible_items

    return visible_items(_public())


def find_item(actor, reference: str) -> Item:
    """An item the actor may see, by 档号 or id."""
    from lantai.holdings.services import visible_items

    text = (reference or "").strip()
    items = visible_items(actor)
    item = items.filter(reference_code=text).first()
    if item is None and text.isdigit():
        item = items.filter(pk=int(text)).first()
    if item is None:
        raise ValidationError({"item": [_("找不到档号或编号为“%(r)s”的档案。") % {"r": text[:80]}]})
    return item


def add_exhibit(
    actor, section: ExhibitionSection, item: Item, caption: str = "", sort_order: int = 100
) -> Exhibit:
    """Add an item as an exhibit 展品. Only open items 开放档案 the public may see qualify."""
    require(actor, EXHIBITIONS)
    if _public_item(item) is None:
        raise ValidationError(
            {"item": [_("只有向公众开放的档案才能展出：%(i)s") % {"i": str(item)[:80]}]}
        )
    with transaction.atomic():
        exhibit = Exhibit.objects.create(
            section=section, item=item, caption=(caption or "").strip(), sort_order=sort_order
        )
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=exhibit,
            detail={"exhibition": section.exhibition_id, "item": item.pk},
        )
    return exhibit


def remove_exhibit(actor, exhibit: Exhibit) -> None:
    require(actor, EXHIBITIONS)
    with transaction.atomic():
        record(AuditAction.DELETE, actor=actor, obj=exhibit, detail={"item": exhibit.item_id})
        exhibit.delete()


def published_exhibitions():
    return Exhibition.objects.filter(status=PublishStatus.PUBLISHED).order_by("-published_at")


def public_sections(exhibition: Exhibition) -> list[dict[str, Any]]:
    """Sections of a published exhibition with the exhibits the public may see now (an item
    restricted since publication is left out) and their image component if any."""
    visible = visible_public_items().values("pk")
    exhibits = list(
        Exhibit.objects.filter(section__exhibition=exhibition, item__in=visible)
        .select_related("item", "section")
        .order_by("section__sort_order", "section_id", "sort_order", "id")
    )
    images = access_images(e.item_id for e in exhibits)
    sections: dict[int, dict[str, Any]] = {
        s.pk: {"section": s, "exhibits": []} for s in exhibition.sections.all()
    }
    for exhibit in exhibits:
        sections[exhibit.section_id]["exhibits"].append(
            {"exhibit": exhibit, "image": images.get(exhibit.item_id)}
        )
    return list(sections.values())


def count_view(exhibition: Exhibition) -> None:
    """One online view 网上浏览 (a counter, for the annual figures)."""
    Exhibition.objects.filter(pk=exhibition.pk).update(views=F("views") + 1)


def public_image(component_id: int, size: str) -> Path | None:
    """The display image of an access copy, only if its item is open to the public now and
    shown in a published exhibition; None otherwise (the view answers 404)."""
    if size not in ("thumb", "display"):
        return None
    component = (
        Component.objects.filter(
            pk=component_id,
            role=ComponentRole.ACCESS,
            item__in=visible_public_items().values("pk"),
        )
        .select_related("object")
        .first()
    )
    if component is None:
        return None
    shown = Exhibit.objects.filter(
        item_id=component.item_id, section__exhibition__status=PublishStatus.PUBLISHED
    ).exists()
    if not shown:
        return None
    return display_version(component, size)


# --- calls for material and offers 征集公告 / 征集线索 -----------------------------------------


def open_calls():
    today = timezone.localdate()
    return MaterialCall.objects.filter(status=PublishStatus.PUBLISHED).filter(
        Q(deadline__isnull=True) | Q(deadline__gte=today)
    )


def _check_photo(upload) -> tuple[bytes, str, str]:
    """(bytes, mime, extension) of an uploaded photo, or ValidationError: size limit, and the
    content must really be a JPEG or PNG (Pillow reads it; the file name is not trusted)."""
    from PIL import Image, UnidentifiedImageError

    name = getattr(upload, "name", "") or "photo"
    if upload.size > OFFER_MAX_BYTES:
        raise ValidationError(
            _("照片“%(n)s”超过 %(mb)d MB。") % {"n": name[:60], "mb": OFFER_MAX_BYTES // 2**20}
        )
    data = upload.read(OFFER_MAX_BYTES + 1)
    if len(data) > OFFER_MAX_BYTES:
        raise ValidationError(
            _("照片“%(n)s”超过 %(mb)d MB。") % {"n": name[:60], "mb": OFFER_MAX_BYTES // 2**20}
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        kind = None
    if kind not in OFFER_IMAGE_TYPES:
        raise ValidationError(_("“%(n)s”不是 JPEG 或 PNG 图片。") % {"n": name[:60]})
    mime, ext = OFFER_IMAGE_TYPES[kind]
    return data, mime, ext


def submit_offer(call: MaterialCall, data: dict, photos: list) -> MaterialOffer:
    """A member of the public answers a call 提交征集线索: name, contact, description and up to
    five JPEG/PNG photos of at most 5 MB each. All checked before anything is stored."""
    if call.status != PublishStatus.PUBLISHED or (
        call.deadline and call.deadline < timezone.localdate()
    ):
        raise ValidationError(_("该征集公告已截止或未发布。"))
    errors: dict[str, list[str]] = {}
    values = {}
    for name, label, limit in (
        ("name", _("姓名"), 100),
        ("contact", _("联系方式"), 200),
        ("description", _("材料描述"), 5000),
    ):
        value = str(data.get(name) or "").strip()
        if not value:
            errors[name] = [_("请填写%(f)s。") % {"f": label}]
        elif len(value) > limit:
            errors[name] = [_("%(f)s过长。") % {"f": label}]
        values[name] = value
    photos = [p for p in photos or [] if p]
    checked = []
    if len(photos) > OFFER_MAX_PHOTOS:
        errors["photos"] = [_("最多上传 %(n)d 张照片。") % {"n": OFFER_MAX_PHOTOS}]
    else:
        problems = []
        for photo in photos:
            try:
                checked.append(_check_photo(photo))
            except ValidationError as exc:
                problems += exc.messages
        if problems:
            errors["photos"] = problems
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        offer = MaterialOffer.objects.create(
            reference=_reference("ZJ", MaterialOffer), call=call, **values
        )
        for number, (content, mime, ext) in enumerate(checked, 1):
            digest = hashlib.sha256(content).hexdigest()[:16]
            stored = put_file(
                io.BytesIO(content),
                f"outreach/offers/{offer.reference}/{number}-{digest}.{ext}",
                purpose="outreach-offer",
            )
            OfferPhoto.objects.create(
                offer=offer, object=stored, filename=f"{number}.{ext}", mime=mime
            )
        record(
            AuditAction.CREATE,
            obj=offer,
            username=_("公众"),
            detail={"call": call.pk, "photos": len(checked)},
        )
    return offer


def triage_offer(
    actor, offer: MaterialOffer, decision: str, note: str = "", *, acquisition: bool = False
) -> MaterialOffer:
    """Staff decide on an offer 线索处理: accept (拟征集) or decline (不予征集). Accepting with
    ``acquisition=True`` opens an acquisition 征集 in the accession app (negotiating), linked
    to the offer and to the call's campaign."""
    require(actor, EXHIBITIONS)
    if decision not in (OfferStatus.ACCEPTED, OfferStatus.DECLINED):
        raise ValidationError({"decision": [_("请选择处理结果。")]})
    if decision == OfferStatus.DECLINED and not (note or "").strip():
        raise ValidationError({"note": [_("不予征集须填写处理意见。")]})
    with transaction.atomic():
        offer = MaterialOffer.objects.select_for_update().get(pk=offer.pk)
        if offer.status != OfferStatus.NEW:
            raise ValidationError(_("该线索已处理。"))
        offer.status = decision
        offer.note = (note or "").strip()
        if decision == OfferStatus.ACCEPTED and acquisition:
            from lantai.accession.services import save_acquisition

            offer.acquisition = save_acquisition(
                actor,
                {
                    "campaign": offer.call.campaign,
                    "method": "donation",
                    "donor_name": offer.name[:200],
                    "donor_kind": "person",
                    "donor_contact": offer.contact,
                    "description": offer.description,
                },
            )
        offer.save()
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=offer,
            detail={
                "status": [OfferStatus.NEW, decision],
                "acquisition": getattr(offer.acquisition, "number", None),
            },
        )
    return offer


# --- compilation 编研 -----------------------------------------------------------------------------

PROJECT_FIELDS = ("title", "description", "status", "start_date")
PUBLICATION_FIELDS = ("project", "title", "kind", "isbn", "year")
ISBN = re.compile(r"^(97[89])?\d{9}[\dX]$")


def save_project(actor, data: dict, project: CompilationProject | None = None):
    """Create or update a compilation project 编研项目; ``data["team"]`` lists users."""
    require(actor, COMPILATION)
    data = dict(data)
    team = data.pop("team", None)
    with transaction.atomic():
        project = _save(actor, project or CompilationProject(), data, PROJECT_FIELDS)
        if team is not None:
            project.team.set(team)
    return project


def add_source(actor, project: CompilationProject, item: Item, note: str = ""):
    """Add a source item 选材 (only one the actor may see)."""
    require(actor, COMPILATION)
    from lantai.holdings.services import visible_items

    if not visible_items(actor).filter(pk=item.pk).exists():
        raise ValidationError({"item": [_("找不到该档案或无权查看。")]})
    try:
        with transaction.atomic():
            source = CompilationSource.objects.create(
                project=project, item=item, note=(note or "").strip()[:500]
            )
            record(AuditAction.CREATE, actor=actor, obj=source, detail={"project": project.pk})
    except IntegrityError:
        raise ValidationError({"item": [_("该档案已在选材中。")]}) from None
    return source


def _check_isbn(pub: Publication, errors: dict) -> None:
    if pub.isbn:
        digits = pub.isbn.replace("-", "").replace(" ", "").upper()
        if not ISBN.match(digits):
            errors["isbn"] = [_("ISBN 格式不正确。")]
        else:
            pub.isbn = digits
    if pub.year and not 1900 <= pub.year <= timezone.localdate().year + 1:
        errors["year"] = [_("出版年度不正确。")]


def save_publication(actor, data: dict, upload=None, publication: Publication | None = None):
    """Create or update a publication 成果; an uploaded file is stored through storage."""
    require(actor, COMPILATION)
    with transaction.atomic():
        publication = _save(actor, publication or Publication(), data, PUBLICATION_FIELDS,
                            _check_isbn)  # fmt: skip
        if upload is not None:
            name = Path(getattr(upload, "name", "") or "file").name[:200]
            stored = _store_upload(upload, f"outreach/publications/{publication.pk}", name,
                                   "outreach-publication")  # fmt: skip
            publication.file = stored
            publication.filename = name
            publication.save(update_fields=["file", "filename"])
    return publication


def _store_upload(upload, prefix: str, name: str, purpose: str):
    """put_file an upload under ``prefix/<sha256-16>/<safe name>``."""
    hasher = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1 << 20), b""):
        hasher.update(chunk)
    upload.seek(0)
    safe = re.sub(r"[^\w.\-]+", "_", name) or "file"
    return put_file(upload, f"{prefix}/{hasher.hexdigest()[:16]}/{safe}", purpose=purpose)


# --- oral history 口述档案 ------------------------------------------------------------------------

OH_PROJECT_FIELDS = ("title", "description", "fonds", "series")
INTERVIEWEE_FIELDS = ("project", "name", "birth_year", "bio", "contact")
INTERVIEW_FIELDS = (
    "project",
    "interviewee",
    "title",
    "date",
    "place",
    "interviewer",
    "duration",
    "rights",
    "embargo_until",
    "permitted_uses",
)


def save_oh_project(actor, data: dict, project: OralHistoryProject | None = None):
    require(actor, ORAL_HISTORY)

    def check(obj: OralHistoryProject, errors: dict) -> None:
        if obj.series_id and obj.series.fonds_id != obj.fonds_id:
            errors["series"] = [_("机构(问题)不属于所选全宗。")]

    return _save(actor, project or OralHistoryProject(), data, OH_PROJECT_FIELDS, check)


def save_interviewee(actor, data: dict, interviewee: Interviewee | None = None):
    require(actor, ORAL_HISTORY)

    def check(obj: Interviewee, errors: dict) -> None:
        if obj.birth_year and not 1880 <= obj.birth_year <= timezone.localdate().year:
            errors["birth_year"] = [_("出生年份不正确。")]

    return _save(actor, interviewee or Interviewee(), data, INTERVIEWEE_FIELDS, check)


def save_interview(actor, data: dict, consent=None, interview: Interview | None = None):
    """Create or update an interview 访谈 with its consent 授权书 (a PDF) and rights."""
    require(actor, ORAL_HISTORY)

    def check(obj: Interview, errors: dict) -> None:
        if obj.interviewee.project_id != obj.project_id:
            errors["interviewee"] = [_("受访人不属于该口述项目。")]

    consent_head = b""
    if consent is not None:
        consent_head = consent.read(4)
        consent.seek(0)
        if consent_head not in CONSENT_TYPES:
            raise ValidationError({"consent": [_("授权书须为 PDF 文件。")]})
        if consent.size > 50 * 1024 * 1024:
            raise ValidationError({"consent": [_("授权书文件过大（最多 50 MB）。")]})
    with transaction.atomic():
        interview = _save(actor, interview or Interview(), data, INTERVIEW_FIELDS, check)
        if consent is not None:
            name = Path(consent.name or "consent.pdf").name[:200]
            interview.consent = _store_upload(
                consent, f"outreach/consent/{interview.pk}", name, "outreach-consent"
            )
            interview.consent_filename = name
            interview.save(update_fields=["consent", "consent_filename"])
            record(AuditAction.UPDATE, actor=actor, obj=interview, detail={"consent": name})
    return interview


def add_media(actor, interview: Interview, upload) -> InterviewMedia:
    """Store a recording 音视频 (wav/mp3/mp4, recognised by content) with its duration if it
    can be read cheaply; the interview's duration is filled from it when empty. If the item
    exists the recording is attached to it as a master file 原件."""
    require(actor, ORAL_HISTORY)
    if upload.size > MEDIA_MAX_BYTES:
        raise ValidationError({"file": [_("文件过大（最多 4 GB）。")]})
    fmt, duration = media_probe.probe(upload)
    if fmt is None:
        raise ValidationError({"file": [_("只接受 WAV、MP3 或 MP4 音视频文件。")]})
    name = Path(upload.name or f"recording.{fmt}").name[:200]
    with transaction.atomic():
        stored = _store_upload(upload, f"outreach/interviews/{interview.pk}", name, "oral-history")
        media = InterviewMedia.objects.create(
            interview=interview,
            object=stored,
            filename=name,
            format=fmt,
            mime=media_probe.FORMATS[fmt],
            duration=duration,
        )
        if duration and not interview.duration:
            Interview.objects.filter(pk=interview.pk).update(duration=round(duration))
        if interview.item_id:
            attach(interview.item, stored, role=ComponentRole.MASTER, filename=name,
                   mime=media.mime)  # fmt: skip
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=media,
            detail={"interview": interview.pk, "format": fmt, "duration": duration},
        )
    return media


def import_transcript(actor, interview: Interview, text: str, fmt: str = "auto") -> int:
    """Replace the interview's transcript 转写稿 with the segments of ``text`` (WebVTT, SRT or
    "[00:01:23] 说话人：文字"). If the oral-history item exists its full text 全文 is replaced
    too, so search finds the new words. Returns the number of segments."""
    require(actor, ORAL_HISTORY)
    segments = transcripts.parse(text, fmt)
    with transaction.atomic():
        interview.segments.all().delete()
        TranscriptSegment.objects.bulk_create(
            TranscriptSegment(
                interview=interview,
                seq=number,
                start=s.start,
                end=s.end,
                speaker=s.speaker[:100],
                text=s.text,
            )
            for number, s in enumerate(segments, 1)
        )
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=interview,
            detail={"transcript_segments": len(segments)},
        )
        if interview.item_id:
            _store_text(interview)
    return len(segments)


def export_webvtt(interview: Interview) -> str:
    return transcripts.to_webvtt(interview.segments.all())


def _store_text(interview: Interview) -> Component | None:
    """Store the transcript as the item's full-text component 全文 (role text), replacing an
    earlier one, and have search index the item after commit."""
    segments = list(interview.segments.all())
    if not segments:
        return None
    content = transcripts.to_plain_text(segments).encode("utf-8")
    digest = hashlib.sha256(content).hexdigest()
    stored = put_file(
        io.BytesIO(content),
        f"outreach/transcripts/{interview.pk}/{digest[:16]}.txt",
        purpose="oral-history-text",
    )
    Component.objects.filter(item_id=interview.item_id, role=ComponentRole.TEXT).exclude(
        object=stored
    ).delete()
    component = attach(
        interview.item,
        stored,
        role=ComponentRole.TEXT,
        filename=f"{interview.item.reference_code or interview.pk}-转写稿.txt",
        mime="text/plain",
    )
    item_id = interview.item_id

    def index() -> None:
        try:
            from lantai.search.services import index_item
        except ImportError:
            return
        index_item(item_id)

    transaction.on_commit(index)
    return component


def embargoed(interview: Interview) -> bool:
    return bool(interview.embargo_until and interview.embargo_until > timezone.localdate())


def create_item(actor, interview: Interview, *, retention: str = "Y") -> Item:
    """Make the interview an item 件 of the 口述档案 category in the project's fonds/series:
    recordings become master files 原件, the transcript its full text 全文. The item stays
    控制使用 (restricted) while embargoed, otherwise 未鉴定 until an opening review opens it."""
    require(actor, ORAL_HISTORY)
    from lantai.holdings.services import create_item as holdings_create_item

    if interview.item_id:
        raise ValidationError(_("该访谈已生成口述档案。"))
    category = Category.objects.filter(code=ORAL_HISTORY_CATEGORY).first()
    if category is None:
        raise ValidationError(_("找不到“口述档案”门类（%(c)s）。") % {"c": ORAL_HISTORY_CATEGORY})
    project = interview.project
    interviewee = interview.interviewee
    with transaction.atomic():
        item = holdings_create_item(
            actor,
            {
                "fonds": project.fonds,
                "category": category,
                "series": project.series,
                "year": interview.date.year,
                "retention": retention,
                "title": interview.title,
                "responsible": interviewee.name,
                "date": interview.date,
                "carrier": Carrier.AUDIOVISUAL,
                "openness": Openness.RESTRICTED if embargoed(interview) else Openness.UNREVIEWED,
                "extra": {
                    "interviewee": interviewee.name,
                    "birth_year": interviewee.birth_year,
                    "interviewer": interview.interviewer,
                    "place": interview.place,
                    "duration": interview.duration,
                    "embargo_until": interview.embargo_until.isoformat()
                    if interview.embargo_until
                    else None,
                    "permitted_uses": interview.permitted_uses,
                    "rights": interview.rights,
                },
            },
        )
        interview.item = item
        interview.save(update_fields=["item"])
        for recording in interview.media.all():
            attach(item, recording.object, role=ComponentRole.MASTER, filename=recording.filename,
                   mime=recording.mime)  # fmt: skip
        _store_text(interview)
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=interview,
            detail={"item": item.pk, "reference_code": item.reference_code},
        )
    return item


def guard_embargo(item: Item) -> None:
    """Refuse opening an oral-history item before its interview's embargo date (called by the
    pre_save signal, so every path that saves the item is covered)."""
    if item.pk is None or item.openness != Openness.OPEN:
        return
    today = timezone.localdate()
    if Interview.objects.filter(item_id=item.pk, embargo_until__gt=today).exists():
        raise ValidationError({"openness": [_("口述档案尚在限制利用期内，不能开放。")]})
