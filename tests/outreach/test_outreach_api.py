"""宣传与编研 API /api/v1/outreach/: public slots with free places, booking through the web
form's service (its checks, its capacity guard, also under concurrency on PostgreSQL), the
group cancelling its own booking, rate limits on the public routes, online exhibitions that
show only what the public may see at this moment, staff booking list and check-in by
permission, and the routes in the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.test import Client
from django.utils import timezone
from openapi_spec_validator import validate

from lantai.audit.models import AuditEntry
from lantai.holdings.models import Item, Openness
from lantai.outreach import services
from lantai.outreach.models import BookingStatus, ClosedDay, VisitBooking, VisitSlot
from outreach.world import booking_data

pytestmark = pytest.mark.django_db

API = "/api/v1/outreach"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def post_json(client: Client, url: str, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def book(client: Client, on, **extra):
    data = booking_data(on)
    data.update(extra)  # may name another slot
    return post_json(client, f"{API}/bookings", data)


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def exhibition(archivist, make_item):
    exhibition = services.save_exhibition(
        archivist, {"title": "园区四十年", "summary": "图片展", "intro": "前言"}
    )
    section = services.save_section(
        archivist, {"exhibition": exhibition, "title": "初创岁月", "sort_order": 1}
    )
    first, second = make_item(title="奠基仪式"), make_item(title="第一栋厂房")
    services.add_exhibit(archivist, section, first, "1988年奠基", 1)
    services.add_exhibit(archivist, section, second, "1990年竣工", 2)
    services.set_published(archivist, exhibition, True)
    return exhibition, first, second


def test_openapi_document_lists_the_outreach_routes(client):
    spec = client.get("/api/v1/openapi.json").json()
    validate(spec)
    paths = spec["paths"]
    public = {
        ("/api/v1/outreach/slots", "get"),
        ("/api/v1/outreach/bookings", "post"),
        ("/api/v1/outreach/bookings/{reference}/cancel", "post"),
        ("/api/v1/outreach/exhibitions", "get"),
        ("/api/v1/outreach/exhibitions/{exhibition_id}", "get"),
    }
    staff = {
        ("/api/v1/outreach/bookings", "get"),
        ("/api/v1/outreach/bookings/{reference}/check-in", "post"),
    }
    for path, method in public | staff:
        assert path in paths and method in paths[path], (path, method)
        operation = paths[path][method]
        assert operation["tags"] == ["宣传与编研"]
        if (path, method) in staff:
            assert operation["security"] == [{"SessionAuth": []}]
        else:
            assert not operation.get("security")
            assert "429" in operation["responses"]


def test_public_slots_show_free_places_only_where_booking_is_possible(
    client, tomorrow_slot, today_slot
):
    tomorrow = tomorrow_slot.date
    full = VisitSlot.objects.create(date=tomorrow, start=dt.time(14, 0), capacity=10, booked=10)
    stopped = VisitSlot.objects.create(date=tomorrow, start=dt.time(16, 0), closed=True)
    far = VisitSlot.objects.create(
        date=timezone.localdate() + dt.timedelta(days=services.BOOKING_DAYS + 1), start=dt.time(9)
    )
    ClosedDay.objects.create(date=tomorrow + dt.timedelta(days=1), reason="检修")
    on_closed_day = VisitSlot.objects.create(
        date=tomorrow + dt.timedelta(days=1), start=dt.time(9, 30)
    )
    assert book(client, tomorrow_slot, people=45).status_code == 201
    slots = client.get(f"{API}/slots").json()
    assert [(s["id"], s["start"], s["capacity"], s["remaining"]) for s in slots] == [
        (tomorrow_slot.pk, "09:30", 60, 15)
    ]
    hidden = {full.pk, stopped.pk, far.pk, on_closed_day.pk, today_slot.pk}
    assert not hidden & {s["id"] for s in slots}
    response = client.get(f"{API}/slots", {"days": services.BOOKING_DAYS + 1})
    assert response.status_code == 422 and "days" in response.json()["errors"]


def test_booking_uses_the_forms_service_and_never_overbooks(client, tomorrow_slot):
    response = book(client, tomorrow_slot, people=45)
    assert response.status_code == 201
    body = response.json()
    assert body["reference"].startswith("CG-") and body["status"] == "pending"
    assert body["slot"] == {
        "id": tomorrow_slot.pk,
        "date": tomorrow_slot.date.isoformat(),
        "start": "09:30",
    }
    assert "phone" not in body  # nothing personal echoed back
    booking = VisitBooking.objects.get(reference=body["reference"])
    assert (booking.people, booking.phone) == (45, "0571-88886666")
    assert AuditEntry.objects.filter(object_id=str(booking.pk), actor_username="公众").exists()
    response = book(client, tomorrow_slot, people=16)
    assert response.status_code == 422
    assert "余位不足" in response.json()["errors"]["slot"][0]
    tomorrow_slot.refresh_from_db()
    assert tomorrow_slot.booked == 45


def test_booking_validation_errors_per_field(client, tomorrow_slot, today_slot):
    cases = [
        ({"phone": "请打电话"}, "phone"),
        ({"people": 0}, "people"),
        ({"people": services.MAX_GROUP + 1}, "people"),
        ({"email": "not-an-address"}, "email"),
        ({"organisation": "  "}, "organisation"),
        ({"slot": today_slot.pk}, "slot"),  # today: only from tomorrow
        ({"slot": 999999}, "slot"),
    ]
    for extra, field in cases:
        response = book(client, tomorrow_slot, **extra)
        assert response.status_code == 422, extra
        assert response.json()["detail"] == "数据校验未通过。"
        assert field in response.json()["errors"], extra
    # Types and missing fields are refused before the service, with Chinese messages too.
    data = booking_data(tomorrow_slot)
    del data["contact"]
    response = post_json(client, f"{API}/bookings", data)
    assert response.status_code == 422 and response.json()["errors"]["contact"] == ["必须填写。"]
    response = book(client, tomorrow_slot, people="四十")
    assert response.status_code == 422 and response.json()["errors"]["people"] == ["应为整数。"]
    # A slot beyond the booking horizon cannot be booked by naming its id either.
    far = VisitSlot.objects.create(
        date=timezone.localdate() + dt.timedelta(days=services.BOOKING_DAYS + 1), start=dt.time(9)
    )
    response = book(client, far)
    assert response.status_code == 422 and "天内" in response.json()["errors"]["slot"][0]
    assert not VisitBooking.objects.exists()
    far.refresh_from_db()
    assert far.booked == 0


def test_public_routes_need_no_csrf_token(tomorrow_slot):
    browser = Client(enforce_csrf_checks=True)
    assert book(browser, tomorrow_slot).status_code == 201


def test_the_group_cancels_its_own_booking(client, tomorrow_slot):
    reference = book(client, tomorrow_slot, people=30).json()["reference"]
    url = f"{API}/bookings/{reference}/cancel"
    # A wrong phone (or a guessed reference) finds nothing, and says so without detail.
    response = post_json(client, url, {"phone": "13900000000"})
    assert response.status_code == 404
    assert response.json()["detail"] == "没有找到该预约，请核对预约编号和联系电话。"
    response = post_json(client, f"{API}/bookings/CG-20000101-XXXXX/cancel", {"phone": "0571"})
    assert response.status_code == 404
    tomorrow_slot.refresh_from_db()
    assert tomorrow_slot.booked == 30
    # The phone as typed on a phone keypad (digits only) matches too.
    response = post_json(client, url.lower(), {"phone": "057188886666"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    tomorrow_slot.refresh_from_db()
    assert tomorrow_slot.booked == 0
    booking = VisitBooking.objects.get(reference=reference)
    assert booking.status == BookingStatus.CANCELLED
    entry = AuditEntry.objects.filter(object_id=str(booking.pk)).order_by("-seq").first()
    assert entry.detail["status"] == ["pending", "cancelled"]
    response = post_json(client, url, {"phone": "0571-88886666"})
    assert response.status_code == 422 and "已取消" in response.json()["errors"]["__all__"][0]
    response = post_json(client, url, {})
    assert response.status_code == 422 and "phone" in response.json()["errors"]


def test_a_visit_that_has_begun_or_was_checked_in_cannot_be_cancelled(
    client, archivist, tomorrow_slot
):
    started = book(client, tomorrow_slot, people=10).json()["reference"]
    other = VisitSlot.objects.create(date=tomorrow_slot.date, start=dt.time(14, 0))
    checked = book(client, other, people=10).json()["reference"]
    VisitSlot.objects.filter(pk=tomorrow_slot.pk).update(
        date=timezone.localdate() - dt.timedelta(days=1)
    )
    response = post_json(client, f"{API}/bookings/{started}/cancel", {"phone": "0571-88886666"})
    assert response.status_code == 422 and "已开始" in response.json()["errors"]["__all__"][0]
    booking = VisitBooking.objects.get(reference=checked)
    services.confirm_booking(archivist, booking)
    VisitSlot.objects.filter(pk=other.pk).update(date=timezone.localdate())
    services.check_in(archivist, booking, 9)
    response = post_json(client, f"{API}/bookings/{checked}/cancel", {"phone": "0571-88886666"})
    assert response.status_code == 422
    assert VisitBooking.objects.get(reference=checked).status == BookingStatus.CHECKED_IN


def test_public_routes_are_rate_limited_per_address(client, settings, tomorrow_slot, exhibition):
    settings.LANTAI_OUTREACH_RATE_LIMITS = {
        "outreach-book": (2, 3600),
        "outreach-read": (3, 60),
        "outreach-cancel": (1, 600),
    }
    assert book(client, tomorrow_slot, people=1).status_code == 201
    assert book(client, tomorrow_slot, people=1).status_code == 201
    response = book(client, tomorrow_slot, people=1)
    assert response.status_code == 429
    assert response.json()["detail"] == "请求过于频繁，请稍后再试。"
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert VisitBooking.objects.count() == 2
    # Another address is counted on its own.
    data = booking_data(tomorrow_slot, people=1)
    assert post_json(client, f"{API}/bookings", data, REMOTE_ADDR="10.1.2.3").status_code == 201
    # Reading shares one budget across slots and exhibitions.
    exhibition_obj = exhibition[0]
    assert client.get(f"{API}/slots").status_code == 200
    assert client.get(f"{API}/exhibitions").status_code == 200
    assert client.get(f"{API}/exhibitions/{exhibition_obj.pk}").status_code == 200
    assert client.get(f"{API}/exhibitions").status_code == 429
    # Guessing references and phones is slow.
    post_json(client, f"{API}/bookings/CG-20000101-AAAAA/cancel", {"phone": "1"})
    response = post_json(client, f"{API}/bookings/CG-20000101-AAAAB/cancel", {"phone": "1"})
    assert response.status_code == 429


def test_exhibitions_show_only_what_the_public_may_see_now(client, archivist, exhibition):
    exhibition_obj, first, second = exhibition
    draft = services.save_exhibition(archivist, {"title": "筹备中的展览"})
    listing = client.get(f"{API}/exhibitions").json()
    assert [e["title"] for e in listing] == ["园区四十年"]
    assert client.get(f"{API}/exhibitions/{draft.pk}").status_code == 404
    url = f"{API}/exhibitions/{exhibition_obj.pk}"
    body = client.get(url).json()
    assert body["intro"] == "前言"
    exhibits = body["sections"][0]["exhibits"]
    assert [e["item"]["title"] for e in exhibits] == [first.title, second.title]
    assert exhibits[0]["caption"] == "1988年奠基"
    assert exhibits[0]["item"]["reference_code"] == first.reference_code
    image = client.get(exhibits[1]["image"]["thumb"])
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    # Restricted after publication (an opening review revised): gone at the next request,
    # for anyone calling the public route, staff included, and its image with it.
    Item.objects.filter(pk=second.pk).update(openness=Openness.RESTRICTED)
    for caller in (client, as_user(archivist)):
        exhibits = caller.get(url).json()["sections"][0]["exhibits"]
        assert [e["item"]["id"] for e in exhibits] == [first.pk]
    assert client.get(body["sections"][0]["exhibits"][1]["image"]["thumb"]).status_code == 404
    # Withdrawn: the whole exhibition is gone.
    services.set_published(archivist, exhibition_obj, False)
    assert client.get(url).status_code == 404
    assert client.get(f"{API}/exhibitions").json() == []
    exhibition_obj.refresh_from_db()
    assert exhibition_obj.views == 3


def test_staff_list_bookings_and_check_in_by_permission(client, archivist, keeper, tomorrow_slot):
    first = book(client, tomorrow_slot, people=40).json()["reference"]
    later_slot = VisitSlot.objects.create(
        date=tomorrow_slot.date + dt.timedelta(days=1), start=dt.time(9, 30)
    )
    second = book(client, later_slot, people=12, organisation="老年大学").json()["reference"]
    # Anonymous: 401; a keeper without outreach rights: 403 (and nothing changes).
    assert client.get(f"{API}/bookings").status_code == 401
    response = post_json(client, f"{API}/bookings/{first}/check-in", {"actual_people": 38})
    assert response.status_code == 401
    desk = as_user(keeper)
    assert desk.get(f"{API}/bookings").status_code == 403
    response = post_json(desk, f"{API}/bookings/{first}/check-in", {"actual_people": 38})
    assert response.status_code == 403

    staff = as_user(archivist)
    data = staff.get(f"{API}/bookings").json()
    assert [b["reference"] for b in data["items"]] == [first, second]
    assert data["items"][0]["phone"] == "0571-88886666"
    on_day = staff.get(f"{API}/bookings", {"date": later_slot.date.isoformat()}).json()
    assert [b["reference"] for b in on_day["items"]] == [second]
    assert staff.get(f"{API}/bookings", {"status": "confirmed"}).json()["total"] == 0
    response = staff.get(f"{API}/bookings", {"date": "2024-02-30"})
    assert response.status_code == 422 and "date" in response.json()["errors"]

    # Before the day of the visit: refused.
    services.confirm_booking(archivist, VisitBooking.objects.get(reference=second))
    response = post_json(staff, f"{API}/bookings/{second}/check-in", {"actual_people": 12})
    assert response.status_code == 422 and "当天" in response.json()["errors"]["__all__"][0]
    # On the day, a booking not yet confirmed: refused.
    VisitSlot.objects.filter(pk=tomorrow_slot.pk).update(date=timezone.localdate())
    url = f"{API}/bookings/{first}/check-in"
    response = post_json(staff, url, {"actual_people": 38})
    assert response.status_code == 422 and "待确认" in response.json()["errors"]["__all__"][0]
    services.confirm_booking(archivist, VisitBooking.objects.get(reference=first))
    response = post_json(staff, url, {"actual_people": 0})
    assert response.status_code == 422 and "actual_people" in response.json()["errors"]
    response = post_json(staff, url, {"actual_people": 38})
    assert response.status_code == 200
    assert response.json()["status"] == "checked_in" and response.json()["actual_people"] == 38
    assert response.json()["checked_in_at"]
    assert (
        post_json(staff, f"{API}/bookings/CG-NOPE/check-in", {"actual_people": 1}).status_code
        == 404
    )
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(archivist)
    response = post_json(strict, f"{API}/bookings/{second}/check-in", {"actual_people": 1})
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_api_bookings_never_overbook(postgres_only, settings):
    """Sixteen groups of 7 post at once for 60 places: exactly 8 get 201, booked stays 56."""
    settings.LANTAI_OUTREACH_RATE_LIMITS = {"outreach-book": (1000, 60)}
    day = timezone.localdate() + dt.timedelta(days=2)
    slot = VisitSlot.objects.create(date=day, start=dt.time(9, 30), capacity=60)
    barrier = threading.Barrier(16)
    codes: list[int] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        try:
            client = Client()
            barrier.wait()
            code = book(client, slot, people=7, organisation=f"团体{n}").status_code
        finally:
            close_old_connections()
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slot.refresh_from_db()
    assert connection.vendor == "postgresql"
    assert sorted(codes) == [201] * 8 + [422] * 8
    assert slot.booked == 56
    assert VisitBooking.objects.filter(slot=slot).count() == 8
