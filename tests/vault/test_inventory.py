# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""Inventories 盘点 by scanning codes: found, misplaced, missing, out and unknown."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from lantai.audit.models import AuditEntry
from lantai.vault import services_shelves as shelves
from lantai.vault.models import InventoryStatus
from vault.shelves_world import keeper2, sh, world  # noqa: F401


def _codes(entries):
    return sorted(e["code"] for e in entries)


def test_scans_find_every_kind_of_discrepancy(sh, keeper2):
    # A third box at c goes out on a circulation: it is "out", not missing.
    box3 = shelves.save_box(sh.keeper, {"code": "BOX-3", "location": sh.c})
    circ = shelves.request_circulation(sh.keeper, {"purpose": "修裱", "targets": [box3]})
    shelves.take_out(keeper2, shelves.approve_circulation(keeper2, circ))

    inv = shelves.start_inventory(sh.keeper, sh.vault)
    outcome = shelves.scan(sh.keeper, inv, shelves.scan_payload(sh.a))
    assert outcome.status == "location" and outcome.location == sh.a
    assert shelves.scan(sh.keeper, inv, shelves.scan_payload(sh.box1)).status == "ok"
    # The volume belongs at b but sits on a.
    outcome = shelves.scan(sh.keeper, inv, shelves.scan_payload(sh.volume))
    assert outcome.status == "misplaced" and sh.b.code in outcome.message
    assert shelves.scan(sh.keeper, inv, "LT:B:NO-SUCH-BOX").status == "unknown"
    # A bare code typed by a wedge scanner, at b.
    shelves.scan(sh.keeper, inv, sh.b.code)
    assert shelves.scan(sh.keeper, inv, sh.item.reference_code).status == "ok"
    # The same item scanned twice counts once.
    shelves.scan(sh.keeper, inv, shelves.scan_payload(sh.item))
    # An item that was never shelved.
    loose = sh.world.items_a[4]
    assert shelves.scan(sh.keeper, inv, loose.reference_code).status == "unregistered"

    report = shelves.inventory_report(inv)
    assert _codes(report["found"]) == sorted([sh.box1.code, sh.item.reference_code])
    assert _codes(report["misplaced"]) == sorted([sh.volume.reference_code, loose.reference_code])
    volume_row = next(e for e in report["misplaced"] if e["code"] == sh.volume.reference_code)
    assert (volume_row["expected"], volume_row["found"]) == (sh.b.code, sh.a.code)
    loose_row = next(e for e in report["misplaced"] if e["code"] == loose.reference_code)
    assert (loose_row["expected"], loose_row["found"]) == (None, sh.b.code)
    assert _codes(report["missing"]) == [sh.box2.code]
    assert report["missing"][0]["expected"] == sh.a.code
    assert _codes(report["out"]) == ["BOX-3"]
    assert [e["code"] for e in report["unknown"]] == ["LT:B:NO-SUCH-BOX"]
    assert report["summary"] == {
        "expected": 5,  # box1, box2, box3, the volume and the item
        "scanned": 5,
        "found": 2,
        "misplaced": 2,
        "missing": 1,
        "out": 1,
        "unknown": 1,
    }

    closed = shelves.close_inventory(sh.keeper, inv)
    assert closed.status == InventoryStatus.CLOSED and closed.closed_at
    assert closed.result["summary"]["missing"] == 1
    entry = AuditEntry.objects.filter(object_type="vault.inventory", object_id=str(inv.pk)).first()
    assert entry.detail["summary"]["misplaced"] == 2
    with pytest.raises(ValidationError):
        shelves.scan(sh.keeper, closed, sh.a.code)
    with pytest.raises(ValidationError):
        shelves.close_inventory(sh.keeper, closed)


def test_an_item_in_a_box_found_where_its_box_is(sh):
    inv = shelves.start_inventory(sh.keeper, sh.vault, [sh.a])
    shelves.scan(sh.keeper, inv, sh.a.code)
    assert shelves.scan(sh.keeper, inv, sh.world.items_a[0].reference_code).status == "ok"
    report = shelves.inventory_report(inv)
    # Scope is shelf a only: the volume and item at b are not expected.
    assert _codes(report["missing"]) == sorted([sh.box1.code, sh.box2.code])


def test_scan_rules(sh):
    inv = shelves.start_inventory(sh.keeper, sh.vault, [sh.a])
    with pytest.raises(ValidationError) as exc:
        shelves.scan(sh.keeper, inv, sh.box1.code)
    assert "请先扫描架位标签" in exc.value.message_dict["code"][0]
    with pytest.raises(ValidationError) as exc:
        shelves.scan(sh.keeper, inv, sh.b.code)
    assert "不在本次盘点范围" in exc.value.message_dict["code"][0]
    with pytest.raises(ValidationError):
        shelves.scan(sh.keeper, inv, "   ")
    with pytest.raises(PermissionDenied):
        shelves.scan(sh.archivist, inv, sh.a.code)
    assert inv.scans.count() == 0


def test_start_rules(sh, world):
    other = shelves.create_vault(sh.keeper, {"code": "K02", "name": "空库", "vault_type": "paper"})
    with pytest.raises(ValidationError) as exc:
        shelves.start_inventory(sh.keeper, other)
    assert "还没有架位" in exc.value.messages[0]
    with pytest.raises(ValidationError) as exc:
        shelves.start_inventory(sh.keeper, other, [sh.a])
    assert "不属于本库房" in exc.value.messages[0]
    with pytest.raises(PermissionDenied):
        shelves.start_inventory(sh.archivist, sh.vault)
