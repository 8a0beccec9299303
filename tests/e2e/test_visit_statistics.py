"""End to end in Debian's Chromium: a school books a group visit on the public page, staff
confirm it and, on the day, check the group in; the visitor count then appears in the year's
statistics (统计年报), whose page renders its ECharts charts."""

from __future__ import annotations

import os
import re
from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("browser"),
]

PASSWORD = "Lantai-e2e-2026!"


@pytest.fixture
def visit_world():
    from lantai.accounts.services import create_user
    from lantai.outreach.models import VisitSlot

    tomorrow = timezone.localdate() + timedelta(days=1)
    slot = VisitSlot.objects.create(date=tomorrow, start=time(9, 30), capacity=60)
    staff = create_user(None, username="e2e_staff", password=PASSWORD, roles=["archivist"])
    return {"slot": slot, "staff": staff}


def test_school_visit_counts_in_the_year_statistics(live_server, browser, visit_world, tmp_path):
    from lantai.outreach.models import VisitBooking, VisitSlot

    base = live_server.url
    # A school books a visit for 45 pupils (no account needed).
    school = browser.new_page(locale="zh-CN")
    school.goto(base + reverse("outreach_public:visit_book"))
    school.select_option("#id_slot", str(visit_world["slot"].pk))
    school.fill("#id_organisation", "兰台区实验小学五年级")
    school.fill("#id_contact", "陈老师")
    school.fill("#id_phone", "13800138000")
    school.fill("#id_people", "45")
    with school.expect_navigation():
        school.click("#booking-submit")
    reference = school.inner_text("#booking-reference").strip()
    assert reference
    booking = VisitBooking.objects.get(reference=reference)

    # Staff sign in and confirm the booking.
    page = browser.new_page(locale="zh-CN")
    page.goto(base + reverse("accounts:login"))
    page.fill("#id_username", "e2e_staff")
    page.fill("#id_password", PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    page.goto(base + reverse("outreach:booking_detail", args=[booking.pk]))
    with page.expect_navigation():
        page.click("#confirm-button")
    booking.refresh_from_db()
    assert booking.status == "confirmed"

    # The day of the visit (the slot moves to today): the group arrives, 43 of them.
    today = timezone.localdate()
    VisitSlot.objects.filter(pk=visit_world["slot"].pk).update(date=today)
    page.goto(base + reverse("outreach:booking_detail", args=[booking.pk]))
    page.fill("#id_actual_people", "43")
    with page.expect_navigation():
        page.click("#checkin-button")
    booking.refresh_from_db()
    assert booking.status == "checked_in"

    # The year's statistics show the visitors and draw their charts.
    page.goto(base + reverse("statistics:annual") + f"?year={today.year}")
    row = page.locator("#fig-outreachvisitors")
    assert row.locator(".figure-value").inner_text().strip() == "43"
    assert page.locator("#fig-outreachvisit_groups .figure-value").inner_text().strip() == "1"
    for chart in ("chart-categories", "chart-visitors"):
        page.wait_for_function(
            "id => { const el = document.getElementById(id);"
            " return !!(el && window.echarts && echarts.getInstanceByDom(el)"
            " && el.querySelector('canvas')); }",
            arg=chart,
            timeout=15_000,
        )
    months = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart-visitors'))"
        ".getOption().series[0].data"
    )
    assert sum(months) == 43 and months[today.month - 1] == 43
    page.screenshot(path=str(tmp_path / "statistics.png"), full_page=True)
