"""End to end in Debian's Chromium (Playwright, no browser download): an archivist browses to
an item and edits it; the auditor sees the entry; the administrator is refused the audit screen.
"""

from __future__ import annotations

import os
import re

import pytest
from django.urls import reverse

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
# ordinary synchronous code, so let Django allow them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("browser"),
]

PASSWORD = "Lantai-e2e-2026!"


@pytest.fixture
def archive():
    from lantai.accounts.services import create_user
    from lantai.holdings import services
    from lantai.holdings.models import Category

    unit = services.create_unit(None, {"code": "QZF", "name": "区政府办公室", "kind": "agency"})
    fonds = services.create_fonds(
        None, {"code": "Z109", "name": "兰台区人民政府办公室", "unit": unit, "start_year": 1980}
    )
    series = services.create_series(None, {"fonds": fonds, "code": "BGS", "name": "办公室"})
    ws = Category.objects.get(code="WS")
    item = services.create_item(
        None,
        {
            "fonds": fonds,
            "category": ws,
            "series": series,
            "year": 2011,
            "retention": "Y",
            "title": "关于做好2011年档案移交工作的通知",
            "responsible": "兰台区人民政府办公室",
            "doc_number": "兰政办发〔2011〕12号",
            "date": "2011-03-15",
            "openness": "open",
        },
    )
    users = {
        role: create_user(None, username=f"e2e_{role}", password=PASSWORD, roles=[role])
        for role in ("archivist", "auditor", "sysadmin")
    }
    return {"fonds": fonds, "category": ws, "item": item, "users": users}


def login(page, base: str, username: str) -> None:
    page.goto(base + reverse("accounts:login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def logout(page) -> None:
    page.click("header .userbox button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/login/.*"))


def test_archivist_edits_auditor_sees_admin_refused(live_server, browser, archive, tmp_path):
    base = live_server.url
    item = archive["item"]
    page = browser.new_page(locale="zh-CN")

    # The archivist browses fonds → category → year → item and edits its title.
    login(page, base, "e2e_archivist")
    page.goto(base + reverse("holdings:browse"))
    page.get_by_role("link", name=re.compile("Z109")).first.click()
    page.get_by_role("link", name=re.compile("WS")).first.click()
    page.get_by_role("link", name="2011").first.click()
    page.get_by_role("link", name=item.title).click()
    assert item.reference_code in page.inner_text("h1")
    page.get_by_role("link", name="修改").click()
    new_title = "关于做好2011年度档案移交与进馆工作的通知"
    page.fill("#id_title", new_title)
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(rf".*/holdings/items/{item.pk}/$"))
    assert new_title in page.inner_text("h1")
    # An impossible date (typed into an old browser's plain text box) is refused in place.
    page.get_by_role("link", name="修改").click()
    # eval_on_selector does not wait: let the edit page load first.
    page.locator("#id_date").wait_for()
    page.eval_on_selector("#id_date", "el => { el.type = 'text'; }")
    page.fill("#id_date", "2011-02-31")
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    assert page.locator(".field.has-error .errorlist").count() >= 1
    item.refresh_from_db()
    assert item.title == new_title and str(item.date) == "2011-03-15"
    page.screenshot(path=str(tmp_path / "archivist-error.png"), full_page=True)
    logout(page)

    # The auditor finds the update in the trail.
    login(page, base, "e2e_auditor")
    page.goto(base + reverse("audit:list") + f"?object_id={item.pk}")
    rows = page.locator("table.list tbody tr")
    texts = " ".join(rows.all_inner_texts())
    assert new_title in texts
    assert "修改" in texts
    page.screenshot(path=str(tmp_path / "auditor.png"), full_page=True)
    logout(page)

    # The administrator is refused the audit screen.
    login(page, base, "e2e_sysadmin")
    response = page.goto(base + reverse("audit:list"))
    assert response is not None and response.status == 403
    assert "审计日志" not in page.locator("header nav").inner_text()
