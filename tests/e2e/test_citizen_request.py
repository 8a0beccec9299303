"""End to end in Debian's Chromium (issue 5, point 5): a citizen registers, searches, requests
a record; staff accept and provide it; the citizen downloads the certificate; the verification
page confirms it and rejects a forged code."""

from __future__ import annotations

import io
import os
import re

import pytest
from django.urls import reverse

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("browser"),
]

PASSWORD = "Lantai-e2e-2026!"
WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def id_number(body: str = "11010519840716123") -> str:
    """A 居民身份证号 with its GB 11643-1999 check character, computed here."""
    remainder = (12 - sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11) % 11
    return body + ("X" if remainder == 10 else str(remainder))


@pytest.fixture
def archive():
    from reportlab.pdfgen import canvas

    from lantai.accounts.services import create_user
    from lantai.holdings import refcode
    from lantai.holdings.models import Category, Fonds, Item, Openness, Series, Unit
    from lantai.storage import services as storage
    from lantai.utilization.services import ensure_purposes

    ensure_purposes()
    unit = Unit.objects.create(code="U001", name="区民政局", kind="agency")
    fonds = Fonds.objects.create(code="Z109", name="区民政局", unit=unit, start_year=1980)
    series = Series.objects.create(fonds=fonds, code="HYDJ", name="婚姻登记")
    item = Item(
        fonds=fonds,
        category=Category.objects.get(code="WS"),
        year=1998,
        retention="Y",
        series=series,
        item_no=1,
        title="陈晓明与林慧结婚登记档案",
        openness=Openness.OPEN,
        unit=unit,
    )
    item.reference_code = refcode.code_for_item(item)
    item.save()
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    c.drawString(72, 720, "Marriage registration 1998")
    c.save()
    obj = storage.put_file(io.BytesIO(buffer.getvalue()), f"e2e/{item.pk}/a.pdf", purpose="test")
    storage.attach(item, obj, role="access", filename="登记表.pdf")
    try:  # the portal's search reads the search app's index when that app is installed
        from lantai.search import services as search

        search.index_items([item.pk])
    except ImportError:
        pass
    create_user(None, username="e2e_archivist", password=PASSWORD, roles=["archivist"])
    return item


def _submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_citizen_requests_certificate_staff_provide_and_verify(
    live_server, browser, archive, tmp_path
):
    import cv2
    import numpy as np
    import pikepdf

    from lantai.utilization.models import UseRequest

    base = live_server.url
    citizen = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()

    # Registers with real name …
    citizen.goto(base + reverse("portal:register"))
    citizen.fill("#id_real_name", "陈晓明")
    citizen.fill("#id_id_number", id_number())
    citizen.fill("#id_phone", "13800138000")
    citizen.fill("#id_password", PASSWORD)
    citizen.fill("#id_password_confirm", PASSWORD)
    citizen.check("#id_agree")
    _submit(citizen, "form.stacked button[type=submit]")
    assert citizen.url.endswith(reverse("portal:me"))

    # … searches, opens the record and asks for a certificate.
    citizen.goto(base + reverse("portal:search"))
    citizen.fill("#q", "结婚登记")
    _submit(citizen, "form.searchbox button[type=submit]")
    citizen.click(f"a.hit-title[href='{reverse('portal:item', args=[archive.pk])}']")
    citizen.wait_for_url(re.compile(r".*/portal/items/\d+/$"))
    if citizen.locator("#apply-use").count():
        _submit(citizen, "#apply-use")
    else:  # the item page without its 申请利用 button
        citizen.goto(base + reverse("utilization_public:apply") + f"?ref={archive.reference_code}")
    assert archive.reference_code in citizen.input_value("#id_reference_codes")
    citizen.check("input[name=delivery][value=certificate]")
    citizen.fill("#id_description", "办理出国手续需要结婚证明")
    _submit(citizen, "#apply-form button[type=submit]")
    req = UseRequest.objects.get()
    assert citizen.url.endswith(req.get_absolute_url())
    assert req.number in citizen.content()

    # Staff accept, approve, issue the certificate and provide it.
    staff = browser.new_context(locale="zh-CN").new_page()
    staff.goto(base + reverse("accounts:login"))
    staff.fill("#id_username", "e2e_archivist")
    staff.fill("#id_password", PASSWORD)
    _submit(staff, "form.stacked button[type=submit]")
    staff.goto(base + reverse("utilization:queue"))
    staff.click(f"text={req.number}")
    staff.wait_for_url(re.compile(rf".*/use/{req.pk}/$"))
    for action in ("accept", "approve"):
        _submit(staff, f"form[data-action={action}] button")
    staff.fill("#id_content", "经查，陈晓明与林慧于1998年5月20日登记结婚。")
    _submit(staff, "#certificate-form button[type=submit]")
    assert "已出具档案证明。" in staff.content()
    _submit(staff, "form[data-action=provide] button")
    req.refresh_from_db()
    assert req.status == "provided"

    # The citizen downloads the certificate.
    citizen.reload()
    with citizen.expect_download() as info:
        citizen.click("#certificates a")
    path = tmp_path / "certificate.pdf"
    info.value.save_as(path)
    pdf = path.read_bytes()
    assert pdf.startswith(b"%PDF")
    urls = []
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        images = page.get_images() if hasattr(page, "get_images") else page.images
        for raw in images.values():
            gray = np.array(pikepdf.PdfImage(raw).as_pil_image().convert("L"))
            text, _points, _ = cv2.QRCodeDetector().detectAndDecode(gray)
            if text:
                urls.append(text)
    assert len(urls) == 1 and "/portal/requests/verify/" in urls[0]

    # The QR code's address confirms it …
    visitor = browser.new_context(locale="zh-CN").new_page()
    visitor.goto(urls[0])
    result = visitor.locator("#verify-result")
    assert result.get_attribute("data-result") == "genuine"
    assert archive.reference_code in result.inner_text()
    assert "陈*" in result.inner_text()
    # … and a forged code is rejected.
    visitor.fill("#id_code", "ABCD-EFGH-JKMN-PQRS")
    _submit(visitor, "#verify-form button[type=submit]")
    assert visitor.locator("#verify-result").get_attribute("data-result") == "unknown"
    assert archive.reference_code not in visitor.locator("#verify-result").inner_text()
