"""Working-day due dates 办理时限: weekends skipped, holidays off, 调休 weekend days worked."""

from __future__ import annotations

from datetime import date

import pytest

from lantai.utilization.models import Holiday
from lantai.utilization.workdays import add_working_days, is_working_day, working_days_between

pytestmark = pytest.mark.django_db


def test_weekends_are_skipped():
    friday = date(2025, 3, 7)
    assert add_working_days(friday, 1) == date(2025, 3, 10)  # Monday
    assert add_working_days(friday, 5) == date(2025, 3, 14)
    assert add_working_days(date(2025, 3, 8), 1) == date(2025, 3, 10)  # from a Saturday
    assert add_working_days(date(2025, 3, 10), 0) == date(2025, 3, 10)


def test_holidays_from_table_and_settings(settings):
    # 2025 National Day: 1–8 October off, Sunday 28 September and Saturday 11 October worked.
    for day in range(1, 9):
        Holiday.objects.create(date=date(2025, 10, day), name="国庆节")
    Holiday.objects.create(date=date(2025, 9, 28), name="调休", workday=True)
    Holiday.objects.create(date=date(2025, 10, 11), name="调休", workday=True)
    assert is_working_day(date(2025, 9, 28))
    assert not is_working_day(date(2025, 10, 6))
    tuesday = date(2025, 9, 30)
    assert add_working_days(tuesday, 1) == date(2025, 10, 9)
    assert add_working_days(tuesday, 2) == date(2025, 10, 10)
    assert add_working_days(tuesday, 3) == date(2025, 10, 11)  # the worked Saturday
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)  # Friday → worked Sunday
    settings.LANTAI_USE_HOLIDAYS = ["2025-10-09"]
    assert add_working_days(tuesday, 1) == date(2025, 10, 10)
    assert working_days_between(date(2025, 9, 26), date(2025, 10, 12)) == 5
