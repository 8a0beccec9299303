"""Screens: every staff route refuses anonymous users and staff without the permission; the
public booking page, status lookup and staff confirm/check-in pages work end to end with the
stable ids the browser tests use; the statistics page carries its chart data."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from lantai.outreach import services
from lantai.outreach.models import BookingStatus, VisitBooking, VisitSlot
from outreach.world import booking_data

pytestmark = pytest.mark.django_db

STAFF_URLS = [
    ("outreach:home", []),
    ("outreach:booking_list", []),
    ("outreach:booking_detail", [1]),
    ("outreach:slot_list", []),
    ("outreach:slot_create", []),
    ("outreach:visit_stats", []),
    ("outreach:exhibition_list", []),
    ("outreach:exhibition_create", []),
    ("outreach:exhibition_detail", [1]),
    ("outreach:column_create", []),
    ("outreach:article_create", []),
    ("outreach:call_create", []),
    ("outreach:offer_list", []),
    ("outreach:offer_detail", [1]),
    ("outreach:offer_photo", [1]),
    ("outreach:project_list", []),
    ("outreach:project_create", []),
    ("outreach:project_detail", [1]),
    ("outreach:publication_file", [1]),
    ("outreach:oral_list", []),
    ("outreach:oral_create", []),
    ("outreach:oral_detail", [1]),
    ("outreach:interview_detail", [1]),
    ("outreach:interview_vtt", [1]),
    ("outreach:interview_consent", [1]),
]
STAFF_POSTS = [
    ("outreach:booking_action", [1, "confirm"]),
    ("outreach:exhibit_add", [1]),
    ("outreach:exhibit_remove", [1]),
    ("outreach:publish", ["exhibition", 1]),
]


@pytest.mark.parametrize(("name", "args"), STAFF_URLS + STAFF_POSTS)
def test_staff_routes_refuse_anonymous_and_unentitled(client, keeper, password, name, args):
    url = reverse(name, args=args)
    method = client.post if (name, args) in STAFF_POSTS else client.get
    response = method(url)
    assert response.status_code == 302 and "/accounts/login" in response["Location"]
    client.force_login(keeper)
    assert method(url).status_code == 403


@pytest.fixture
def staff(client, archivist, password):
    client.force_login(archivist)
    return client


def test_archivist_pages_render(staff, archivist, tomorrow_slot):
    booking = services.book_visit(booking_data(tomorrow_slot))
    for name, args in STAFF_URLS:
        if args:
            continue
        assert staff.get(reverse(name)).status_code == 200, name
    page = staff.get(reverse("outreach:booking_detail", args=[booking.pk])).content.decode()
    assert 'id="confirm-form"' in page and 'id="decline-form"' in page
    nav = staff.get(reverse("core:dashboard")).content.decode()
    assert reverse("outreach:home") in nav


def test_public_booking_to_checkin_through_the_pages(client, staff, today_slot):
    # Booked for tomorrow through the page...
    tomorrow = VisitSlot.objects.create(
        date=timezone.localdate() + dt.timedelta(days=1), start=dt.time(9, 30), capacity=60
    )
    from django.test import Client

    public = Client()
    page = public.get(reverse("outreach_public:visit_book")).content.decode()
    assert 'id="booking-form"' in page and f'value="{tomorrow.pk}"' in page
    assert f'value="{today_slot.pk}"' not in page  # today's slot is not offered
    response = public.post(reverse("outreach_public:visit_book"), booking_data(tomorrow, people=35))
    assert response.status_code == 302
    done = public.get(response["Location"]).content.decode()
    booking = VisitBooking.objects.get()
    assert booking.reference in done and 'id="booking-reference"' in done
    # ... checked by reference and phone.
    status = public.get(
        reverse("outreach_public:visit_status"),
        {"reference": booking.reference, "phone": booking.phone},
    ).content.decode()
    assert 'data-status="pending"' in status
    wrong = public.get(
        reverse("outreach_public:visit_status"), {"reference": booking.reference, "phone": "1"}
    ).content.decode()
    assert "没有找到该预约" in wrong and "兰台第一中学" not in wrong
    # Staff confirm; the visit is moved to today's slot and checked in with 33 people.
    staff.post(reverse("outreach:booking_action", args=[booking.pk, "confirm"]))
    staff.post(
        reverse("outreach:booking_action", args=[booking.pk, "reschedule"]),
        {"slot": today_slot.pk},
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    # today's slot is not bookable by the public, so reschedule refuses it: do it directly
    assert booking.slot == tomorrow
    VisitBooking.objects.filter(pk=booking.pk).update(slot=today_slot)
    page = staff.get(reverse("outreach:booking_detail", args=[booking.pk])).content.decode()
    assert 'id="checkin-form"' in page and 'id="checkin-button"' in page
    staff.post(
        reverse("outreach:booking_action", args=[booking.pk, "checkin"]), {"actual_people": 33}
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_IN and booking.actual_people == 33
    stats = staff.get(reverse("outreach:visit_stats")).content.decode()
    assert 'id="stat-visitors">33<' in stats and 'id="chart-visits"' in stats
    data = json.loads(
        stats.split('id="visit-stats-data" type="application/json">')[1].split("<")[0]
    )
    assert sum(data["visitors"]) == 33 and len(data["months"]) == 12


def test_public_booking_errors_are_shown(client, tomorrow_slot):
    response = client.post(
        reverse("outreach_public:visit_book"), booking_data(tomorrow_slot, people=61)
    )
    assert response.status_code == 400 and "余位不足" in response.content.decode()
    assert client.get(reverse("outreach_public:visit_booked")).status_code == 302


def test_staff_decline_with_reason_is_visible_to_the_group(client, staff, tomorrow_slot):
    booking = services.book_visit(booking_data(tomorrow_slot))
    response = staff.post(
        reverse("outreach:booking_action", args=[booking.pk, "decline"]), {"reason": ""}
    )
    booking.refresh_from_db()
    assert response.status_code == 302 and booking.status == BookingStatus.PENDING
    staff.post(
        reverse("outreach:booking_action", args=[booking.pk, "decline"]),
        {"reason": "当日闭馆布展"},
    )
    from django.test import Client

    page = (
        Client()
        .get(
            reverse("outreach_public:visit_status"),
            {"reference": booking.reference, "phone": booking.phone},
        )
        .content.decode()
    )
    assert "当日闭馆布展" in page and 'data-status="declined"' in page


def test_interview_screen_imports_and_exports(staff, archivist, fonds, series):
    project = services.save_oh_project(archivist, {"title": "口述", "fonds": fonds})
    person = services.save_interviewee(archivist, {"project": project, "name": "王"})
    interview = services.save_interview(
        archivist,
        {
            "project": project,
            "interviewee": person,
            "title": "访谈一",
            "date": dt.date(2024, 1, 2),
            "interviewer": "李",
        },
    )
    url = reverse("outreach:interview_detail", args=[interview.pk])
    bad = staff.post(url, {"action": "transcript", "fmt": "plain", "text": "无时间码"})
    assert bad.status_code == 400 and "格式" in bad.content.decode()
    staff.post(url, {"action": "transcript", "fmt": "auto", "text": "[00:00:03] 王：你好\n"})
    vtt = staff.get(reverse("outreach:interview_vtt", args=[interview.pk]))
    assert vtt["Content-Type"].startswith("text/vtt")
    assert "<v 王>你好" in vtt.content.decode()
    # The contact of an interviewee shows on staff screens only: no public route exists.
    assert not any("oral" in str(p.pattern) for p in __import__(
        "lantai.outreach.urls_public", fromlist=["urlpatterns"]).urlpatterns)  # fmt: skip
