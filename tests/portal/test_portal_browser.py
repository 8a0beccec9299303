"""In Debian's Chromium at a phone's size (390×844): register with a real-name ID, sign out
and in again, search, open an open item and see its watermarked scan; no sideways scrolling."""

from __future__ import annotations

import os
import re

import pytest
from django.urls import reverse
from portal_ids import make_id

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("browser"),
]

PASSWORD = "Lantai-portal-2026!"


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_citizen_on_a_phone(live_server, browser, world):
    from lantai.portal.models import CitizenProfile

    base = live_server.url
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(base + reverse("portal:home"))
    assert no_sideways_scroll(page)
    page.click("text=注册")
    number = make_id(region="440306", birth="19900101", seq="123")
    page.fill("#id_real_name", "林小梅")
    page.fill("#id_id_number", number)
    page.fill("#id_phone", "13912345678")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_confirm", PASSWORD)
    page.check("#id_agree")
    assert no_sideways_scroll(page)
    with page.expect_navigation():
        page.click("form.stacked button[type=submit]")
    assert page.url.endswith(reverse("portal:me"))
    masked = CitizenProfile.objects.get().id_masked
    assert masked in page.inner_text("main") and number not in page.content()

    with page.expect_navigation():
        page.click(".userbox button[type=submit]")  # 退出
    page.goto(base + reverse("portal:login"))
    page.fill("#id_username", "13912345678")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("form.stacked button[type=submit]")
    assert page.url.endswith(reverse("portal:me"))

    page.goto(base + reverse("portal:home"))
    page.fill("#home-q", "公园")
    with page.expect_navigation():
        page.press("#home-q", "Enter")
    assert re.search(r"找到 \d+ 条开放档案", page.inner_text("main"))
    assert no_sideways_scroll(page)
    item_url = reverse("portal:item", args=[world["open"].pk])
    assert page.locator(f"a[href='{item_url}']").count() == 1
    assert (
        page.locator(f"a[href='{reverse('portal:item', args=[world['restricted'].pk])}']").count()
        == 0
    )
    with page.expect_navigation():
        page.click(f"a[href='{item_url}']")
    assert "关于修建兰台公园的通知" in page.inner_text("h1")
    image = page.locator(".files img").first
    image.wait_for()
    page.wait_for_function("document.querySelector('.files img').complete")
    assert page.evaluate("document.querySelector('.files img').naturalWidth") > 0
    width = page.evaluate("document.querySelector('.files img').getBoundingClientRect().width")
    assert width <= 390
    assert no_sideways_scroll(page)
    context.close()
