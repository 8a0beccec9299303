"""End to end in Debian's Chromium (Playwright, no browser download): a unit records officer
uploads a catalog with errors, sees them, uploads a corrected one and submits it; an archivist
accepts it and downloads the 档案交接文据 PDF."""

from __future__ import annotations

import os
import re
from pathlib import Path

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
HEADERS = "档号,题名,责任者,文号,日期,页数,保管期限,年度,机构问题,件号"


def catalog_rows(*, broken: bool) -> str:
    rows = []
    for n in range(1, 4):
        title = f"关于2011年第{n}项工作的通知"
        day = f"2011-03-{n:02d}"
        if broken and n == 1:
            title = ""  # 题名 missing
        if broken and n == 2:
            day = "2011-02-31"  # impossible date
        rows.append(
            f"Z109-WS·2011-Y-BGS-{n:04d},{title},兰台区人民政府办公室,兰政办发〔2011〕{n}号,"
            f"{day},3,永久,2011,BGS,{n}"
        )
    return "\r\n".join([HEADERS, *rows]) + "\r\n"


@pytest.fixture
def archive(settings, tmp_path):
    from lantai.accounts.services import create_user
    from lantai.holdings import refcode, services

    settings.DATA_DIR = tmp_path / "data"
    refcode.clear_scheme_cache()
    unit = services.create_unit(None, {"code": "QZF", "name": "区政府办公室", "kind": "agency"})
    fonds = services.create_fonds(
        None, {"code": "Z109", "name": "兰台区人民政府办公室", "unit": unit, "start_year": 1980}
    )
    services.create_series(None, {"fonds": fonds, "code": "BGS", "name": "办公室"})
    officer = create_user(
        None, username="e2e_officer", password=PASSWORD, roles=["unit_officer"], unit=unit
    )
    archivist = create_user(None, username="e2e_archivist", password=PASSWORD, roles=["archivist"])
    yield {"unit": unit, "fonds": fonds, "officer": officer, "archivist": archivist}
    refcode.clear_scheme_cache()


def login(page, base: str, username: str) -> None:
    page.goto(base + reverse("accounts:login"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def logout(page) -> None:
    page.click("header .userbox button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/login/.*"))


def test_officer_fixes_catalog_archivist_accepts_and_downloads_handover(
    live_server, browser, archive, tmp_path
):
    from pypdf import PdfReader

    from lantai.accession.models import BatchStatus, TransferBatch
    from lantai.holdings.models import Item

    base = live_server.url
    broken = tmp_path / "归档文件目录-有误.csv"
    broken.write_bytes(catalog_rows(broken=True).encode("gbk"))  # Excel in China saves GBK
    fixed = tmp_path / "归档文件目录.csv"
    fixed.write_bytes(catalog_rows(broken=False).encode("utf-8-sig"))
    page = browser.new_page(locale="zh-CN", accept_downloads=True)

    # The unit officer opens a batch for his unit.
    login(page, base, "e2e_officer")
    page.locator("header nav").get_by_role("link", name="接收进馆").click()
    page.get_by_role("link", name="新建移交批次").click()
    page.select_option("#id_fonds", label=str(archive["fonds"]))
    page.fill("#id_title", "2011年文书档案移交")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r".*/accession/batches/\d+/$"))

    # A catalog with errors: the check says what is wrong, row by row.
    page.set_input_files("#id_catalog", str(broken))
    page.get_by_role("button", name="上传并检测").click()
    page.wait_for_selector("#issue-counts")
    assert page.locator("#batch-status").get_attribute("data-status") == "failed"
    counts = page.locator("#issue-counts").inner_text()
    assert "必填项缺失" in counts and "日期不合法" in counts
    assert "2011-02-31" in page.locator("#issue-list").inner_text()
    assert page.locator("#submit-form").count() == 0
    # Only the date problems, through the kind filter (htmx).
    page.locator("#issues select[name=kind]").select_option("date")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#issue-list tr.issue')]"
        ".every(tr => tr.classList.contains('issue-date'))"
    )
    assert page.locator("#issue-list tr.issue-date").count() >= 1
    page.screenshot(path=str(tmp_path / "officer-errors.png"), full_page=True)

    # The corrected catalog passes; he submits it with his opening opinion.
    page.set_input_files("#id_catalog", str(fixed))
    assert page.get_by_role("heading", name="重新上传目录").is_visible()
    page.get_by_role("button", name="上传并检测").click()
    page.wait_for_selector("#no-issues")
    assert page.locator("#batch-status").get_attribute("data-status") == "checked"
    page.fill("#id_opening_opinion", "形成满25年后开放")
    page.get_by_role("button", name="提交档案馆").click()
    page.wait_for_selector("#batch-status[data-status=submitted]")
    batch = TransferBatch.objects.get()
    assert batch.status == BatchStatus.SUBMITTED
    logout(page)

    # The archivist accepts it and downloads the handover form.
    login(page, base, "e2e_archivist")
    page.goto(base + reverse("accession:batch_list") + "?status=submitted")
    page.get_by_role("link", name=batch.number).click()
    page.get_by_role("button", name="接收进馆").click()
    page.wait_for_selector("#handover-link")
    assert page.locator("#batch-status").get_attribute("data-status") == "accepted"
    with page.expect_download() as info:
        page.click("#handover-link")
    download = info.value
    assert download.suggested_filename.endswith("档案交接文据.pdf")
    saved = Path(tmp_path / "handover.pdf")
    download.save_as(str(saved))
    assert saved.read_bytes().startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(str(saved)).pages)
    assert "档案交接文据" in text and batch.number in text and "区政府办公室" in text
    page.screenshot(path=str(tmp_path / "archivist-accepted.png"), full_page=True)
    assert Item.objects.filter(accession__batch=batch).count() == 3
