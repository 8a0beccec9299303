# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""The shelves screens through HTTP: a keeper builds a vault, shelves, prints labels, runs an
inventory and a circulation; others are refused; holdings pages show where a record is."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lantai.accounts.roles import Role
from lantai.vault import services_shelves as shelves
from lantai.vault.models import Box, Circulation, CirculationStatus, Location, Vault, VaultEntry
from vault.shelves_world import keeper2, sh, world  # noqa: F401


def test_keeper_builds_a_vault_through_the_screens(world):
    client = world.client(Role.KEEPER)
    page = client.get(reverse("vault:home"))
    assert page.status_code == 200 and "新建库房" in page.content.decode()
    form = client.get(reverse("vault:vault_create")).content.decode()
    assert "JGJ 25-2010" in form and "13–15" in form
    response = client.post(
        reverse("vault:vault_create"),
        {"code": "K07", "name": "光盘库", "vault_type": "optical", "keepers": "keeper"},
    )
    vault = Vault.objects.get(code="K07")
    assert response.status_code == 302
    assert (vault.temp_min, vault.rh_max) == (4, 50)
    response = client.post(
        reverse("vault:locations_create", args=[vault.pk]),
        {"rows": "1-2", "columns": "1-3", "sections": "1", "shelves": "1-4", "capacity": "5"},
    )
    assert Location.objects.filter(vault=vault).count() == 24
    detail = client.get(reverse("vault:vault_detail", args=[vault.pk])).content.decode()
    assert "K07-02-03-01-04" in detail
    pdf = client.get(reverse("vault:labels", args=[vault.pk]) + "?row=1")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    # Editing: a bad range is shown on the field, nothing saved.
    response = client.post(
        reverse("vault:vault_edit", args=[vault.pk]),
        {
            "name": "光盘库",
            "vault_type": "optical",
            "temp_min": "30",
            "temp_max": "20",
            "rh_min": "20",
            "rh_max": "50",
            "max_daily_temp_swing": "2",
            "max_daily_rh_swing": "5",
        },
    )
    assert response.status_code == 200
    assert "温度下限应低于温度上限" in response.content.decode()
    vault.refresh_from_db()
    assert vault.temp_min == 4


def test_vault_form_errors_are_shown_in_chinese(world):
    client = world.client(Role.KEEPER)
    response = client.post(reverse("vault:vault_create"), {"code": "K 1", "vault_type": "paper"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "库房编号“K 1”只能由字母、数字和横线组成" in body and "库房名称不能为空" in body


def test_boxes_and_placing_by_scanning(sh):
    client = sh.world.client(Role.KEEPER)
    response = client.post(
        reverse("vault:box_list"), {"code": "BOX-9", "location": sh.c.code, "fonds": "Z101"}
    )
    assert response.status_code == 302
    box = Box.objects.get(code="BOX-9")
    assert box.location == sh.c and box.fonds.code == "Z101"
    target = sh.world.items_a[2]
    response = client.post(
        reverse("vault:place"), {"target": target.reference_code, "destination": "LT:B:BOX-9"}
    )
    assert response.status_code == 302 and "destination=LT" in response["Location"]
    assert shelves.whereabouts(target).box == box
    response = client.post(reverse("vault:place"), {"target": "NOPE", "destination": "NOPE"})
    body = response.content.decode()
    assert "未找到该档号的案卷或件" in body and "未找到该盒号或架位" in body


def test_inventory_scanning_with_htmx(sh):
    client = sh.world.client(Role.KEEPER)
    response = client.post(reverse("vault:inventory_start", args=[sh.vault.pk]), {})
    inventory = sh.vault.inventories.get()
    assert response["Location"] == reverse("vault:inventory_detail", args=[inventory.pk])
    url = reverse("vault:inventory_scan", args=[inventory.pk])
    hx = {"HTTP_HX_REQUEST": "true"}
    panel = client.post(url, {"code": sh.box1.code}, **hx).content.decode()
    assert "请先扫描架位标签" in panel
    panel = client.post(url, {"code": shelves.scan_payload(sh.a)}, **hx).content.decode()
    assert "当前架位" in panel and sh.a.code in panel
    panel = client.post(url, {"code": shelves.scan_payload(sh.volume)}, **hx).content.decode()
    assert "错架" in panel
    client.post(reverse("vault:inventory_close", args=[inventory.pk]))
    inventory.refresh_from_db()
    assert inventory.result["summary"]["misplaced"] == 1
    page = client.get(reverse("vault:inventory_detail", args=[inventory.pk])).content.decode()
    assert sh.box2.code in page  # listed as missing


def test_circulation_through_the_screens(sh, keeper2):
    archivist = sh.world.client(Role.ARCHIVIST)
    response = archivist.post(
        reverse("vault:circulation_create"),
        {"purpose": "编研", "targets": f"{sh.item.reference_code}\n{sh.volume.reference_code}\n"},
    )
    circ = Circulation.objects.get()
    assert response["Location"] == reverse("vault:circulation_detail", args=[circ.pk])
    # The archivist sees their own request but cannot approve it.
    assert archivist.get(reverse("vault:circulation_list")).content.decode().count(circ.number)
    archivist.post(reverse("vault:circulation_action", args=[circ.pk, "approve"]))
    circ.refresh_from_db()
    assert circ.status == CirculationStatus.REQUESTED
    keeper = sh.world.client(Role.KEEPER)
    keeper.post(reverse("vault:circulation_action", args=[circ.pk, "approve"]), {"due_at": ""})
    keeper.post(reverse("vault:circulation_action", args=[circ.pk, "out"]), {})
    circ.refresh_from_db()
    assert circ.status == CirculationStatus.OUT
    # The item page shows it is out, with the circulation number.
    page = keeper.get(reverse("holdings:item_detail", args=[sh.item.pk])).content.decode()
    assert "已出库" in page and circ.number in page and sh.b.code in page
    line = circ.lines.get(item=sh.item)
    keeper.post(reverse("vault:circulation_action", args=[circ.pk, "return"]), {"line": line.pk})
    circ.refresh_from_db()
    assert circ.status == CirculationStatus.OUT
    keeper.post(reverse("vault:circulation_action", args=[circ.pk, "return"]))
    circ.refresh_from_db()
    assert circ.status == CirculationStatus.RETURNED
    # Someone else's circulation is not even found for another archivist.
    from ui.world import make_user

    other = make_user("archivist2", Role.ARCHIVIST)
    client = sh.world.client(Role.ARCHIVIST)
    client.force_login(other)
    assert client.get(reverse("vault:circulation_detail", args=[circ.pk])).status_code == 404


def test_request_form_shows_field_errors(sh):
    client = sh.world.client(Role.ARCHIVIST)
    response = client.post(
        reverse("vault:circulation_create"), {"purpose": "", "targets": "NO-SUCH"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "出库事由不能为空" in body and "未找到：NO-SUCH" in body


def test_entry_log_screen(sh):
    client = sh.world.client(Role.KEEPER)
    response = client.post(
        reverse("vault:entry_list"), {"vault": sh.vault.code, "reason": "巡查", "companions": ""}
    )
    assert response.status_code == 302
    entry = VaultEntry.objects.get()
    assert entry.person == sh.keeper
    client.post(reverse("vault:entry_exit", args=[entry.pk]))
    entry.refresh_from_db()
    assert entry.left_at is not None
    page = client.get(reverse("vault:entry_list")).content.decode()
    assert "巡查" in page


def test_whereabouts_on_holdings_pages(sh):
    archivist = sh.world.client(Role.ARCHIVIST)
    page = archivist.get(reverse("holdings:item_detail", args=[sh.world.items_a[0].pk]))
    body = page.content.decode()
    assert "存放位置" in body and sh.box1.code in body and sh.a.code in body and "在库" in body
    page = archivist.get(reverse("holdings:volume_detail", args=[sh.volume.pk])).content.decode()
    assert sh.b.code in page
    # A unit officer sees the item, but not the shelf marks.
    officer = sh.world.client(Role.UNIT_OFFICER)
    page = officer.get(reverse("holdings:item_detail", args=[sh.world.items_a[0].pk]))
    assert page.status_code == 200 and sh.a.code not in page.content.decode()


@pytest.mark.parametrize(
    "name,args,method",
    [
        ("vault:vault_create", [], "get"),
        ("vault:box_list", [], "get"),
        ("vault:place", [], "get"),
        ("vault:entry_list", [], "get"),
        ("vault:circulation_remind", [], "post"),
    ],
)
def test_keeper_screens_refuse_others(world, name, args, method):
    for role in (Role.ARCHIVIST, Role.PUBLIC, Role.SYSADMIN, Role.AUDITOR):
        client = world.client(role)
        response = getattr(client, method)(reverse(name, args=args))
        assert response.status_code == 403, (role, name)


def test_home_for_archivist_and_public(sh):
    assert sh.world.client(Role.ARCHIVIST).get(reverse("vault:home")).status_code == 200
    assert sh.world.client(Role.PUBLIC).get(reverse("vault:home")).status_code == 403
    labels = sh.world.client(Role.ARCHIVIST).get(reverse("vault:labels", args=[sh.vault.pk]))
    assert labels.status_code == 403
