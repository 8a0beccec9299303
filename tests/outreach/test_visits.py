"""Visits 参观接待: slot generator and closed days, booking with capacity (also under
concurrency on PostgreSQL), confirm/decline/reschedule/check-in/no-show, notices, and the
yearly figures with growth on the previous year."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections, connection
from django.utils import timezone

from lantai.audit.models import AuditEntry
from lantai.outreach import services, stats
from lantai.outreach.models import BookingStatus, ClosedDay, VisitBooking, VisitSlot
from outreach.world import booking_data

pytestmark = pytest.mark.django_db


def test_generator_makes_tue_to_sat_slots_and_skips_closed_days(archivist):
    start = dt.date(2031, 3, 3)  # a Monday
    services.close_day(archivist, dt.date(2031, 3, 6), "设备检修")
    created = services.generate_slots(
        archivist, start, start + dt.timedelta(days=6), times=services.parse_times("9:30, 14:00")
    )
    # Tue, Wed, (Thu closed), Fri, Sat → 4 days × 2 times.
    assert created == 8
    days = {s.date.weekday() for s in VisitSlot.objects.all()}
    assert days == {1, 2, 4, 5}
    assert not VisitSlot.objects.filter(date=dt.date(2031, 3, 6)).exists()
    # Running it again creates nothing new.
    assert services.generate_slots(archivist, start, start + dt.timedelta(days=6)) == 0
    with pytest.raises(ValidationError):
        services.parse_times("9点半")


def test_keeper_may_not_manage_visits(keeper, tomorrow_slot):
    with pytest.raises(PermissionDenied):
        services.generate_slots(keeper, dt.date(2031, 1, 1), dt.date(2031, 1, 2))
    booking = services.book_visit(booking_data(tomorrow_slot))
    with pytest.raises(PermissionDenied):
        services.confirm_booking(keeper, booking)


def test_booking_holds_places_and_refuses_overbooking(tomorrow_slot):
    first = services.book_visit(booking_data(tomorrow_slot, people=45))
    assert first.reference.startswith("CG-") and first.status == BookingStatus.PENDING
    tomorrow_slot.refresh_from_db()
    assert tomorrow_slot.booked == 45 and tomorrow_slot.remaining == 15
    with pytest.raises(ValidationError) as exc:
        services.book_visit(booking_data(tomorrow_slot, people=16))
    assert "余位不足" in str(exc.value)
    second = services.book_visit(booking_data(tomorrow_slot, people=15))
    tomorrow_slot.refresh_from_db()
    assert tomorrow_slot.booked == 60
    assert services.bookable_slots().filter(pk=tomorrow_slot.pk).count() == 0
    # One entry per booking made, none for the refused one (this test's bookings only:
    # transactional tests on the same worker leave their entries behind).
    own = AuditEntry.objects.filter(
        object_type="outreach.visitbooking", object_id__in=[str(first.pk), str(second.pk)]
    )
    assert own.count() == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("people", 0, "参观人数"),
        ("people", "abc", "参观人数"),
        ("phone", "电话", "联系电话"),
        ("email", "not-an-email", "电子邮箱"),
        ("organisation", "  ", "单位/团体名称"),
    ],
)
def test_bad_booking_input_gets_a_chinese_error(tomorrow_slot, field, value, message):
    with pytest.raises(ValidationError) as exc:
        services.book_visit(booking_data(tomorrow_slot, **{field: value}))
    assert message in " ".join(exc.value.message_dict[field])
    tomorrow_slot.refresh_from_db()
    assert tomorrow_slot.booked == 0 and not VisitBooking.objects.exists()


def test_past_closed_and_today_slots_cannot_be_booked(today_slot, tomorrow_slot, archivist):
    with pytest.raises(ValidationError):
        services.book_visit(booking_data(today_slot))
    services.close_day(archivist, tomorrow_slot.date, "闭馆")
    with pytest.raises(ValidationError):
        services.book_visit(booking_data(tomorrow_slot))
    assert ClosedDay.objects.count() == 1


def test_status_lookup_needs_reference_and_phone(tomorrow_slot):
    booking = services.book_visit(booking_data(tomorrow_slot))
    assert services.find_booking(booking.reference.lower(), "057188886666") == booking
    assert services.find_booking(booking.reference, "13800000000") is None
    assert services.find_booking("CG-20000101-XXXXX", "057188886666") is None


def test_confirm_decline_reschedule_and_mail(archivist, tomorrow_slot, mailoutbox):
    other = VisitSlot.objects.create(
        date=tomorrow_slot.date + dt.timedelta(days=1), start=dt.time(9, 30), capacity=30
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("django.db.transaction.on_commit", lambda fn, *a, **k: fn())
        booking = services.book_visit(booking_data(tomorrow_slot, people=25))
        services.confirm_booking(archivist, booking)
        with pytest.raises(ValidationError):  # 25 > 30? no: fill the other slot first
            services.book_visit(booking_data(other, people=10))
            services.reschedule_booking(archivist, booking, other)
        booking.refresh_from_db()
        assert booking.slot == tomorrow_slot
        VisitBooking.objects.filter(slot=other).delete()
        VisitSlot.objects.filter(pk=other.pk).update(booked=0)
        services.reschedule_booking(archivist, booking, other)
        tomorrow_slot.refresh_from_db()
        other.refresh_from_db()
        assert (tomorrow_slot.booked, other.booked) == (0, 25)
        with pytest.raises(ValidationError):
            services.decline_booking(archivist, booking, "  ")
        services.decline_booking(archivist, booking, "当日有重要接待任务")
    other.refresh_from_db()
    booking.refresh_from_db()
    assert other.booked == 0 and booking.status == BookingStatus.DECLINED
    subjects = [m.subject for m in mail.outbox]
    assert any("已收到" in s for s in subjects)
    assert any("已确认" in s for s in subjects)
    assert any("改期" in s for s in subjects)
    assert any("当日有重要接待任务" in m.body for m in mail.outbox)


def test_check_in_only_on_the_day_and_when_confirmed(archivist, today_slot, tomorrow_slot):
    future = services.book_visit(booking_data(tomorrow_slot))
    services.confirm_booking(archivist, future)
    with pytest.raises(ValidationError):
        services.check_in(archivist, future, 38)
    booking = VisitBooking.objects.create(
        reference="CG-T-1", slot=today_slot, organisation="社区", contact="王", phone="12345678",
        people=20,
    )  # fmt: skip
    with pytest.raises(ValidationError):  # pending: not confirmed yet
        services.check_in(archivist, booking, 18)
    services.confirm_booking(archivist, booking)
    with pytest.raises(ValidationError):
        services.check_in(archivist, booking, 0)
    booking = services.check_in(archivist, booking, 18)
    assert booking.status == BookingStatus.CHECKED_IN and booking.actual_people == 18
    assert booking.checked_in_at is not None


def test_no_show_releases_places(archivist, today_slot):
    VisitSlot.objects.filter(pk=today_slot.pk).update(booked=30)
    booking = VisitBooking.objects.create(
        reference="CG-T-2", slot=today_slot, organisation="社区", contact="王", phone="12345678",
        people=30, status=BookingStatus.CONFIRMED,
    )  # fmt: skip
    services.mark_no_show(archivist, booking)
    today_slot.refresh_from_db()
    assert today_slot.booked == 0


def _received(year, month, people, n=1):
    slot, _ = VisitSlot.objects.get_or_create(
        date=dt.date(year, month, 10), start=dt.time(9, 30), defaults={"capacity": 500}
    )
    for i in range(n):
        VisitBooking.objects.create(
            reference=f"CG-{year}{month:02d}-{i}-{people}",
            slot=slot,
            organisation=f"团体{i}",
            contact="联系人",
            phone="12345678",
            people=people + 5,
            actual_people=people,
            status=BookingStatus.CHECKED_IN,
        )


def test_statistics_count_checked_in_groups_and_growth():
    _received(2023, 3, 50, n=25)  # 25 groups, 1,250 visitors
    _received(2024, 3, 60, n=20)
    _received(2024, 9, 40, n=18)  # 38 groups, 2,720 visitors
    VisitBooking.objects.create(  # a no-show counts nowhere but in no_shows
        reference="CG-NS", slot=VisitSlot.objects.filter(date__year=2024).first(),
        organisation="未到", contact="x", phone="12345678", people=30,
        status=BookingStatus.NO_SHOW,
    )  # fmt: skip
    result = services.visit_statistics(2024)
    assert result["current"]["total_groups"] == 38
    assert result["current"]["total_visitors"] == 20 * 60 + 18 * 40
    assert result["current"]["groups"][2] == 20 and result["current"]["groups"][8] == 18
    assert result["groups_growth"] == 52.0  # (38 - 25) / 25
    assert result["visitors_growth"] == round((1920 - 1250) * 100 / 1250, 1)
    assert result["no_shows"] == 1
    figures = {f.key: f for f in stats.annual_figures(2024)}
    assert figures["outreach.visit_groups"].value == 38
    assert figures["outreach.visitors"].breakdown["9月"] == 720
    assert figures["outreach.visit_groups_growth"].value == 52.0
    # No previous year: no growth figure rather than a made-up one.
    assert "outreach.visit_groups_growth" not in {f.key for f in stats.annual_figures(2023)}


def test_statistics_registry_collects_outreach_figures():
    from lantai.statistics.registry import collect

    assert any(f.key == "outreach.visitors" for f in collect(timezone.localdate().year))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_never_overbook(postgres_only):
    """Twenty groups of 7 race for 60 places: exactly 8 get in, booked stays 56."""
    day = timezone.localdate() + dt.timedelta(days=2)
    slot = VisitSlot.objects.create(date=day, start=dt.time(9, 30), capacity=60)
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        try:
            barrier.wait()
            services.book_visit(booking_data(slot, people=7, organisation=f"团体{n}"))
            result = "ok"
        except ValidationError:
            result = "full"
        finally:
            close_old_connections()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slot.refresh_from_db()
    assert connection.vendor == "postgresql"
    assert outcomes.count("ok") == 8 and outcomes.count("full") == 12
    assert slot.booked == 56
    assert VisitBooking.objects.filter(slot=slot).count() == 8
