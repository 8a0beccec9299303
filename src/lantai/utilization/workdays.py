"""Working days 工作日 for due dates 办理时限: weekends are off, except a weekend day marked
调休上班; a weekday listed as a holiday 节假日 is off.

Holidays come from the ``Holiday`` table and from ``settings.LANTAI_USE_HOLIDAYS`` (ISO dates),
so an archive can ship its year's list in the environment and still add a day on screen.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings

from lantai.utilization.models import Holiday

#: Days allowed in each state before the request must move on (受理 1, 审核 2, 提供 2, 办结 1),
#: and for the whole request (办结 within 5 working days of the application).
DEFAULT_DUE_DAYS = {"submitted": 1, "accepted": 2, "approved": 2, "provided": 1, "total": 5}


def due_days() -> dict[str, int]:
    days = dict(DEFAULT_DUE_DAYS)
    days.update(getattr(settings, "LANTAI_USE_DUE_DAYS", {}) or {})
    return days


def _calendar(start: date, end: date) -> tuple[set[date], set[date]]:
    off: set[date] = set()
    on: set[date] = set()
    for value in getattr(settings, "LANTAI_USE_HOLIDAYS", []) or []:
        try:
            off.add(date.fromisoformat(str(value).strip()))
        except ValueError:
            continue
    for day, workday in Holiday.objects.filter(date__gte=start, date__lte=end).values_list(
        "date", "workday"
    ):
        (on if workday else off).add(day)
    return off - on, on


def is_working_day(day: date) -> bool:
    off, on = _calendar(day, day)
    if day in on:
        return True
    return day.weekday() < 5 and day not in off


def add_working_days(start: date, days: int) -> date:
    """The working day ``days`` working days after ``start`` (``start`` itself not counted).

    A request received on Friday with 1 day to answer is due on Monday.
    """
    # Read the calendar once for a window wide enough for any run of holidays.
    off, on = _calendar(start, start + timedelta(days=days * 3 + 40))
    current = start
    remaining = max(days, 0)
    while remaining:
        current += timedelta(days=1)
        if current in on or (current.weekday() < 5 and current not in off):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if ``end`` ≤ ``start``)."""
    if end <= start:
        return 0
    off, on = _calendar(start, end)
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if current in on or (current.weekday() < 5 and current not in off):
            count += 1
    return count
