"""In Debian's Chromium: the 档号 rule preview updates live as the archivist types (an unknown
placeholder is reported in place), the rule is saved, and a 名称沿革 row is edited inline."""

from __future__ import annotations

import os
import re

import pytest
from django.urls import reverse

# Playwright's sync API runs an event loop in this thread; allow the test's own ORM calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("browser"),
]

PASSWORD = "Lantai-codes-2026!"


def test_live_preview_and_inline_name_edit(live_server, browser, fonds, series):
    from lantai.accounts.services import create_user
    from lantai.holdings.models import FondsName, ReferenceScheme

    create_user(None, username="codes_archivist", password=PASSWORD, roles=["archivist"])
    entry = FondsName.objects.create(fonds=fonds, name="兰台县人民政府", start_year=1950)
    base = live_server.url
    page = browser.new_page(locale="zh-CN")
    page.goto(base + reverse("accounts:login"))
    page.fill("#id_username", "codes_archivist")
    page.fill("#id_password", PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))

    page.get_by_role("link", name="代码与规则").click()
    page.goto(base + reverse("holdings:scheme_create"))
    page.select_option("#id_fonds", str(fonds.pk))
    page.select_option("#id_category", label="WS 文书档案")
    item_row = page.locator("#preview-item_template")
    item_row.get_by_text(re.compile(r"Z109-WS·\d{4}-Y-BGS-0012")).wait_for()

    page.fill("#id_item_template", "{fonds}-{category}·{year}-{oops}-{item}")
    item_row.get_by_text("档号模板中有未知的占位符 {oops}", exact=False).wait_for()
    page.fill("#id_item_template", "{fonds}-{category}·{year}·{retention}·{series}-{item}")
    page.fill("#id_item_width", "5")
    item_row.get_by_text(re.compile(r"Z109-WS·\d{4}·Y·BGS-00012")).wait_for()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r".*/holdings/codes/schemes/$"))
    scheme = ReferenceScheme.objects.get(fonds=fonds, category__code="WS")
    assert scheme.item_template == "{fonds}-{category}·{year}·{retention}·{series}-{item}"

    # 名称沿革: the row turns into a form and back without leaving the page.
    page.goto(base + reverse("holdings:codes_fonds_edit", args=[fonds.pk]))
    row = page.locator(f"#name-{entry.pk}")
    row.get_by_role("link", name="修改").click()
    row.locator("input[name=end_year]").fill("1993")
    row.locator("input[name=note]").fill("撤县设区")
    row.get_by_role("button", name="保存").click()
    page.locator(f"#name-{entry.pk}").get_by_text("撤县设区").wait_for()
    assert page.url.endswith(reverse("holdings:codes_fonds_edit", args=[fonds.pk]))
    entry.refresh_from_db()
    assert (entry.end_year, entry.note) == (1993, "撤县设区")
