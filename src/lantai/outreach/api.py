"""Outreach API 宣传与编研接口 (mounted at /api/v1/outreach/; see docs/outreach.md).

For a public booking front-end (no account) and for the reception desk:

* public, no authentication, rate limited per client address (``lantai.core.ratelimit``):
  bookable visit slots with their free places, booking a group visit 参观预约 (the web form's
  service: the same checks, and the same conditional UPDATE that cannot overbook a slot),
  cancelling one's own booking with its reference and phone, and the published online
  exhibitions 网上展览, whose exhibits are filtered at every request to what the public may see
  now (an item restricted after publication drops out);
* staff with ``outreach.manage_visits`` (signed-in session, CSRF token on POST): the booking
  list and check-in 签到 on the day.

Errors are the API's JSON ``{"detail", "errors": {field: [...]}}``; 429 carries Retry-After.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.security import SessionAuth

from lantai.api.schemas import ErrorOut
from lantai.core.middleware import client_ip
from lantai.core.permissions import require
from lantai.core.ratelimit import seconds_left, within_limit
from lantai.outreach import services
from lantai.outreach.models import BookingStatus, Exhibition, PublishStatus, VisitBooking

router = Router(tags=["宣传与编研"])

STAFF = [SessionAuth(csrf=True)]
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
PUBLIC_ERRORS = {404: ErrorOut, 422: ErrorOut, 429: ErrorOut}

#: scope → (requests, seconds) per client address; ``LANTAI_OUTREACH_RATE_LIMITS`` overrides.
RATE_LIMITS: dict[str, tuple[int, int]] = {
    "outreach-read": (120, 60),  # a front-end shows slots and exhibitions; a scraper never stops
    "outreach-book": (20, 3600),  # a school books a visit or two; a script filling slots, hundreds
    "outreach-cancel": (10, 600),  # reference + phone prove a booking: guessing must stay slow
}

BookingStatusCode = Literal[tuple(BookingStatus.values)]  # type: ignore[valid-type]


# --- shapes -------------------------------------------------------------------------------------


class SlotOut(Schema):
    id: int
    date: dt.date = Field(description="日期")
    start: str = Field(description="开始时间 HH:MM")
    capacity: int = Field(description="容量（人）")
    remaining: int = Field(description="余位（人）")
    note: str = Field(description="说明")


class SlotQuery(Schema):
    days: int = Field(
        services.BOOKING_DAYS,
        ge=1,
        le=services.BOOKING_DAYS,
        description="从明天起的天数（最多可预约的天数）",
    )


class SlotRef(Schema):
    id: int
    date: dt.date
    start: str = Field(description="开始时间 HH:MM")


class BookingIn(Schema):
    """A group's booking, as on the portal form."""

    slot: int = Field(description="参观时段 id（见 GET /outreach/slots）")
    organisation: str = Field(max_length=200, description="单位/团体名称")
    contact: str = Field(max_length=100, description="联系人")
    phone: str = Field(max_length=40, description="联系电话（查询与取消时须提供）")
    email: str = Field("", max_length=254, description="电子邮箱（可选，用于通知）")
    people: int = Field(description=f"参观人数（1 到 {services.MAX_GROUP}）")
    purpose: str = Field("", max_length=2000, description="参观目的")


class PublicBookingOut(Schema):
    reference: str = Field(description="预约编号：查询、取消和到馆签到凭此编号")
    status: str = Field(description="状态：pending 待确认、confirmed 已确认、cancelled 已取消 …")
    slot: SlotRef
    organisation: str
    people: int
    created_at: dt.datetime


class CancelIn(Schema):
    phone: str = Field(max_length=40, description="预约时填写的联系电话")


class StaffBookingOut(Schema):
    id: int
    reference: str = Field(description="预约编号")
    slot: SlotRef
    organisation: str = Field(description="单位/团体名称")
    contact: str = Field(description="联系人")
    phone: str = Field(description="联系电话")
    email: str
    people: int = Field(description="预约人数")
    purpose: str
    status: str = Field(description="状态")
    reason: str = Field(description="婉拒原因")
    actual_people: int | None = Field(description="实到人数")
    checked_in_at: dt.datetime | None = Field(description="签到时间")
    created_at: dt.datetime


class BookingPage(Schema):
    total: int
    page: int
    per_page: int
    pages: int
    items: list[StaffBookingOut]


class BookingQuery(Schema):
    status: BookingStatusCode | None = Field(None, description="状态")
    date: dt.date | None = Field(None, description="参观日期 YYYY-MM-DD")
    page: int = Field(1, ge=1)
    per_page: int = Field(50, ge=1, le=200)


class CheckInIn(Schema):
    actual_people: int = Field(description="实到人数")


class ColumnRef(Schema):
    id: int
    title: str = Field(description="专题栏目")


class ExhibitionOut(Schema):
    id: int
    title: str = Field(description="展览名称")
    summary: str = Field(description="简介")
    venue: str = Field(description="展出地点")
    start_date: dt.date | None = Field(description="开展日期")
    end_date: dt.date | None = Field(description="闭展日期")
    published_at: dt.datetime | None
    column: ColumnRef | None = Field(description="所属专题栏目（已发布时）")


class ItemRef(Schema):
    id: int
    reference_code: str | None = Field(description="档号")
    title: str = Field(description="题名")
    year: int = Field(description="年度")
    date: dt.date | None = Field(description="形成日期")


class ImageOut(Schema):
    thumb: str = Field(description="缩略图地址（400 像素）")
    display: str = Field(description="展示图地址（1200 像素）")


class ExhibitOut(Schema):
    id: int
    caption: str = Field(description="说明文字")
    item: ItemRef
    image: ImageOut | None


class SectionOut(Schema):
    id: int
    title: str = Field(description="展览单元")
    text: str = Field(description="单元说明")
    exhibits: list[ExhibitOut] = Field(description="展品（仅当前向公众开放的档案）")


class ExhibitionDetail(ExhibitionOut):
    intro: str = Field(description="前言")
    sections: list[SectionOut]


# --- helpers ------------------------------------------------------------------------------------


def _limits(scope: str) -> tuple[int, int]:
    configured = getattr(settings, "LANTAI_OUTREACH_RATE_LIMITS", None) or {}
    limit, window = configured.get(scope) or RATE_LIMITS[scope]
    return int(limit), int(window)


def _throttled(request: HttpRequest, scope: str) -> HttpResponse | None:
    """None while the client address is within the limit of ``scope``, else the 429 answer."""
    limit, window = _limits(scope)
    if within_limit(f"api:{scope}", client_ip(request) or "-", limit, window):
        return None
    response = JsonResponse(
        {"detail": _("请求过于频繁，请稍后再试。"), "errors": {}},
        status=429,
        json_dumps_params={"ensure_ascii": False},
    )
    response["Retry-After"] = str(seconds_left(window))
    return response


def _slot_ref(slot) -> dict[str, Any]:
    return {"id": slot.pk, "date": slot.date, "start": slot.start.strftime("%H:%M")}


def _public_booking(booking: VisitBooking) -> dict[str, Any]:
    return {
        "reference": booking.reference,
        "status": booking.status,
        "slot": _slot_ref(booking.slot),
        "organisation": booking.organisation,
        "people": booking.people,
        "created_at": booking.created_at,
    }


def _staff_booking(booking: VisitBooking) -> dict[str, Any]:
    return {
        "id": booking.pk,
        "reference": booking.reference,
        "slot": _slot_ref(booking.slot),
        "organisation": booking.organisation,
        "contact": booking.contact,
        "phone": booking.phone,
        "email": booking.email,
        "people": booking.people,
        "purpose": booking.purpose,
        "status": booking.status,
        "reason": booking.reason,
        "actual_people": booking.actual_people,
        "checked_in_at": booking.checked_in_at,
        "created_at": booking.created_at,
    }


def _exhibition(exhibition: Exhibition) -> dict[str, Any]:
    column = exhibition.column
    shown = column is not None and column.status == PublishStatus.PUBLISHED
    return {
        "id": exhibition.pk,
        "title": exhibition.title,
        "summary": exhibition.summary,
        "venue": exhibition.venue,
        "start_date": exhibition.start_date,
        "end_date": exhibition.end_date,
        "published_at": exhibition.published_at,
        "column": {"id": column.pk, "title": column.title} if shown else None,
    }


def _image(component) -> dict[str, str] | None:
    if component is None:
        return None
    return {
        size: reverse("outreach_public:image", args=[component.pk, size])
        for size in ("thumb", "display")
    }


# --- visits 参观预约 (public) ---------------------------------------------------------------------


@router.get(
    "/slots",
    auth=None,
    response={200: list[SlotOut], **PUBLIC_ERRORS},
    summary="可预约的参观时段",
)
def list_slots(request: HttpRequest, filters: Query[SlotQuery]):
    """Slots the public may book now: from tomorrow, open, not on a closed day, with places
    left (``remaining``)."""
    if throttled := _throttled(request, "outreach-read"):
        return throttled
    return [
        {
            "id": slot.pk,
            "date": slot.date,
            "start": slot.start.strftime("%H:%M"),
            "capacity": slot.capacity,
            "remaining": slot.remaining,
            "note": slot.note,
        }
        for slot in services.bookable_slots(filters.days)
    ]


@router.post(
    "/bookings",
    auth=None,
    response={201: PublicBookingOut, **PUBLIC_ERRORS},
    summary="预约参观",
)
def book(request: HttpRequest, payload: BookingIn):
    """Book a slot for a group 网上预约. A slot without enough places left answers 422 on
    ``slot`` (concurrent bookings can never overbook it). Keep the ``reference``: with the
    phone number it finds and cancels the booking; the group checks in with it."""
    if throttled := _throttled(request, "outreach-book"):
        return throttled
    booking = services.book_visit(payload.dict())
    return Status(201, _public_booking(booking))


@router.post(
    "/bookings/{reference}/cancel",
    auth=None,
    response={200: PublicBookingOut, **PUBLIC_ERRORS},
    summary="取消预约",
)
def cancel(request: HttpRequest, reference: str, payload: CancelIn):
    """The group cancels its own booking: the reference and the phone given when booking must
    both match (404 otherwise, without saying which). Only before the visit begins, while the
    booking is pending or confirmed; the places return to the slot."""
    if throttled := _throttled(request, "outreach-cancel"):
        return throttled
    try:
        booking = services.cancel_booking(reference, payload.phone)
    except VisitBooking.DoesNotExist:
        return Status(
            404, {"detail": _("没有找到该预约，请核对预约编号和联系电话。"), "errors": {}}
        )
    return _public_booking(booking)


# --- visits 参观接待 (staff) --------------------------------------------------------------------


@router.get(
    "/bookings",
    auth=STAFF,
    response={200: BookingPage, **ERRORS},
    summary="预约列表（接待人员）",
)
def list_bookings(request: HttpRequest, filters: Query[BookingQuery]):
    """Bookings by visit date and time, optionally one status or one day (``date``)."""
    bookings = services.staff_bookings(request.auth, status=filters.status, day=filters.date)
    total = bookings.count()
    start = (filters.page - 1) * filters.per_page
    return {
        "total": total,
        "page": filters.page,
        "per_page": filters.per_page,
        "pages": max(1, math.ceil(total / filters.per_page)),
        "items": [_staff_booking(b) for b in bookings[start : start + filters.per_page]],
    }


@router.post(
    "/bookings/{reference}/check-in",
    auth=STAFF,
    response={200: StaffBookingOut, **ERRORS},
    summary="到馆签到（接待人员）",
)
def check_in(request: HttpRequest, reference: str, payload: CheckInIn):
    """签到 on the day of the visit (or later) with the headcount actually present; the booking
    must be confirmed."""
    require(request.auth, services.VISITS)
    booking = VisitBooking.objects.select_related("slot").get(reference=reference.strip().upper())
    booking = services.check_in(request.auth, booking, payload.actual_people)
    return _staff_booking(booking)


# --- exhibitions 网上展览 (public) ---------------------------------------------------------------


@router.get(
    "/exhibitions",
    auth=None,
    response={200: list[ExhibitionOut], **PUBLIC_ERRORS},
    summary="网上展览列表",
)
def list_exhibitions(request: HttpRequest):
    """Published exhibitions, newest first."""
    if throttled := _throttled(request, "outreach-read"):
        return throttled
    return [_exhibition(e) for e in services.published_exhibitions().select_related("column")]


@router.get(
    "/exhibitions/{exhibition_id}",
    auth=None,
    response={200: ExhibitionDetail, **PUBLIC_ERRORS},
    summary="网上展览详情",
)
def get_exhibition(request: HttpRequest, exhibition_id: int):
    """A published exhibition (a draft is 404) with its sections and the exhibits the public
    may see at this moment, checked again on every request; counts one online view."""
    if throttled := _throttled(request, "outreach-read"):
        return throttled
    exhibition = services.published_exhibitions().select_related("column").get(pk=exhibition_id)
    services.count_view(exhibition)
    sections = []
    for entry in services.public_sections(exhibition):
        section = entry["section"]
        sections.append(
            {
                "id": section.pk,
                "title": section.title,
                "text": section.text,
                "exhibits": [
                    {
                        "id": e["exhibit"].pk,
                        "caption": e["exhibit"].caption,
                        "item": {
                            "id": e["exhibit"].item.pk,
                            "reference_code": e["exhibit"].item.reference_code,
                            "title": e["exhibit"].item.title,
                            "year": e["exhibit"].item.year,
                            "date": e["exhibit"].item.date,
                        },
                        "image": _image(e["image"]),
                    }
                    for e in entry["exhibits"]
                ],
            }
        )
    return {**_exhibition(exhibition), "intro": exhibition.intro, "sections": sections}


__all__ = ["router"]
