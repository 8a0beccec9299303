"""End to end in Debian's Chromium: a keeper watches the vault environment screen, an alarm
appears by itself (htmx refresh) when a reading crosses the limit, the keeper acknowledges it
and resolves it with a note."""

from __future__ import annotations

import os
import re
from datetime import time
from decimal import Decimal

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
def vault_world():
    from lantai.accounts.services import create_user
    from lantai.vault.models import Sensor, SensorKind, Vault
    from lantai.vault.seed_env import seed_kinds

    seed_kinds(SensorKind)
    vault = Vault.objects.create(
        code="K01",
        name="一号库房",
        vault_type="paper",
        temp_min=Decimal("14"),
        temp_max=Decimal("24"),
        rh_min=Decimal("45"),
        rh_max=Decimal("60"),
        open_from=time(8),
        open_until=time(18),
    )
    sensor = Sensor.objects.create(
        vault=vault, code="K01-T1", name="东墙温度", kind=SensorKind.objects.get(code="temperature")
    )
    keeper = create_user(None, username="e2e_keeper", password=PASSWORD, roles=["keeper"])
    return {"vault": vault, "sensor": sensor, "keeper": keeper}


def test_keeper_sees_alarm_appear_acknowledges_and_resolves(
    live_server, browser, vault_world, tmp_path
):
    from lantai.vault import services_env as env
    from lantai.vault.models import Alarm, AlarmStatus

    base = live_server.url
    page = browser.new_page(locale="zh-CN")
    page.goto(base + reverse("accounts:login"))
    page.fill("#id_username", "e2e_keeper")
    page.fill("#id_password", PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))

    # From the 库房 home to the environment screen.
    page.goto(base + reverse("vault:home"))
    page.get_by_role("link", name="库房环境").first.click()
    page.wait_for_url(re.compile(r".*/vault/env/$"))
    env.ingest(
        [{"sensor": "K01-T1", "ts": timezone.now().isoformat(), "value": 20.5}], source="http"
    )
    page.locator("#vault-K01 tr[data-state='ok']").wait_for(timeout=15_000)
    assert page.locator("tr.alarm-row").count() == 0

    # A reading over the limit arrives (as from a gateway); the page shows it by itself.
    env.ingest(
        [{"sensor": "K01-T1", "ts": timezone.now().isoformat(), "value": 27.3}], source="http"
    )
    row = page.locator("tr.alarm-row[data-status='raised']")
    row.wait_for(timeout=15_000)
    assert "高于上限 24" in row.inner_text()
    page.locator("#alarm-badge.badge").wait_for(timeout=15_000)
    page.screenshot(path=str(tmp_path / "alarm-raised.png"), full_page=True)

    row.get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/vault/env/alarms/\d+/$"))
    page.fill("#id_ack_note", "已通知空调维保")
    # The form posts back to the same address: wait for that navigation, not for the URL.
    with page.expect_navigation():
        page.get_by_role("button", name="确认告警").click()
    assert page.inner_text("#alarm-status") == "已确认"
    assert "e2e_keeper" in page.inner_text("#alarm-ack")

    # Resolving needs a note: an empty one is refused in place.
    page.eval_on_selector("#id_resolve_note", "el => el.removeAttribute('required')")
    with page.expect_navigation():
        page.get_by_role("button", name="解除告警").click()
    assert "请填写处置说明" in page.inner_text(".field.has-error .errorlist")
    page.fill("#id_resolve_note", "空调压缩机故障，已修复，温度回落到 21 ℃")
    with page.expect_navigation():
        page.get_by_role("button", name="解除告警").click()
    assert page.inner_text("#alarm-status") == "已解除"
    assert "空调压缩机故障" in page.inner_text("#alarm-resolve")

    alarm = Alarm.objects.get()
    assert alarm.status == AlarmStatus.RESOLVED
    assert alarm.acknowledged_by == vault_world["keeper"]
    assert alarm.resolved_by == vault_world["keeper"]
    assert alarm.acknowledged_at <= alarm.resolved_at
    page.screenshot(path=str(tmp_path / "alarm-resolved.png"), full_page=True)
