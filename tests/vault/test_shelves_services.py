# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""Vaults with JGJ 25-2010 defaults, locations, boxes, placement and whereabouts (services)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from lantai.accounts.roles import Role
from lantai.audit.models import AuditAction, AuditEntry
from lantai.holdings.models import Carrier, Item
from lantai.vault import services_shelves as shelves
from lantai.vault.models import Box, Location, Placement, Vault, VaultType
from vault.shelves_world import keeper2, sh, world  # noqa: F401  (fixtures)

# The table in shared/docs/standards.md (JGJ 25-2010), written out independently of the code.
STANDARD = {
    "paper": (14, 24, 45, 60),
    "special": (14, 20, 45, 55),
    "magnetic": (14, 24, 40, 60),
    "film_copy": (14, 24, 40, 60),
    "film_master": (13, 15, 35, 45),
    "optical": (4, 20, 20, 50),
}


def _entries(obj, action=None):
    qs = AuditEntry.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return qs.filter(action=action) if action else qs


# --- vaults -------------------------------------------------------------------------------------


@pytest.mark.parametrize("vault_type", list(STANDARD))
def test_vault_limits_default_to_jgj_25_2010(world, vault_type):
    keeper = world.users[Role.KEEPER]
    vault = shelves.create_vault(
        keeper, {"code": f"K-{vault_type[:4]}", "name": "库房", "vault_type": vault_type}
    )
    vault.refresh_from_db()
    got = (vault.temp_min, vault.temp_max, vault.rh_min, vault.rh_max)
    assert got == tuple(Decimal(v) for v in STANDARD[vault_type])
    assert vault.max_daily_temp_swing == Decimal(2)
    assert vault.max_daily_rh_swing == Decimal(5)


def test_every_vault_type_has_defaults(world):
    for vault_type in VaultType.values:
        limits = shelves.default_limits(vault_type)
        assert limits["temp_min"] < limits["temp_max"]
        assert limits["rh_min"] < limits["rh_max"]


def test_limits_are_editable_at_creation_and_later(world):
    keeper = world.users[Role.KEEPER]
    vault = shelves.create_vault(
        keeper,
        {"code": "K02", "name": "特藏库", "vault_type": "special", "temp_max": "18.5"},
    )
    vault.refresh_from_db()
    assert vault.temp_max == Decimal("18.5")
    assert vault.temp_min == Decimal(14)  # the rest still from the standard
    shelves.update_vault(keeper, vault, {"rh_min": 48, "rh_max": "52"})
    vault.refresh_from_db()
    assert (vault.rh_min, vault.rh_max) == (Decimal(48), Decimal(52))
    entry = _entries(vault, AuditAction.UPDATE).first()
    assert entry.detail["rh_min"] == ["45.0", "48.0"] or entry.detail["rh_min"][1] in (48, "48.0")
    # Resetting to the standard for a new type.
    shelves.update_vault(keeper, vault, {"vault_type": "film_master", "use_defaults": True})
    vault.refresh_from_db()
    assert (vault.temp_min, vault.temp_max, vault.rh_min, vault.rh_max) == (13, 15, 35, 45)


def test_vault_validation_collects_every_error(world):
    keeper = world.users[Role.KEEPER]
    with pytest.raises(ValidationError) as exc:
        shelves.create_vault(
            keeper,
            {
                "code": "K 01",
                "name": "",
                "vault_type": "cellar",
                "temp_min": "abc",
                "rh_max": 140,
                "open_from": "25:00",
            },
        )
    errors = exc.value.message_dict
    assert set(errors) >= {"code", "name", "vault_type", "temp_min", "rh_max", "open_from"}
    assert "字母、数字和横线" in errors["code"][0]
    assert "0至100" in errors["rh_max"][0]
    assert not Vault.objects.exists()


def test_vault_min_must_be_below_max_and_hours_paired(world):
    keeper = world.users[Role.KEEPER]
    with pytest.raises(ValidationError) as exc:
        shelves.create_vault(
            keeper,
            {
                "code": "K03",
                "name": "库",
                "vault_type": "paper",
                "temp_min": 25,
                "open_from": "08:00",
            },
        )
    assert "温度下限应低于温度上限" in exc.value.message_dict["temp_max"]
    assert "open_until" in exc.value.message_dict


def test_vault_code_unique_and_fixed(world):
    keeper = world.users[Role.KEEPER]
    vault = shelves.create_vault(keeper, {"code": "K01", "name": "一号", "vault_type": "paper"})
    with pytest.raises(ValidationError) as exc:
        shelves.create_vault(keeper, {"code": "K01", "name": "又一号", "vault_type": "paper"})
    assert "已存在" in exc.value.message_dict["code"][0]
    with pytest.raises(ValidationError) as exc:
        shelves.update_vault(keeper, vault, {"code": "K09"})
    assert "不能修改" in exc.value.message_dict["code"][0]


def test_vault_keepers_and_hours(world, keeper2):
    keeper = world.users[Role.KEEPER]
    vault = shelves.create_vault(
        keeper,
        {
            "code": "K04",
            "name": "四号",
            "vault_type": "paper",
            "keepers": [keeper, keeper2.username],
            "open_from": "08:30",
            "open_until": "17:30",
        },
    )
    assert set(vault.keepers.all()) == {keeper, keeper2}
    assert str(vault.open_from) == "08:30:00"
    shelves.update_vault(keeper, vault, {"keepers": [keeper2.pk]})
    assert list(vault.keepers.all()) == [keeper2]
    assert _entries(vault, AuditAction.UPDATE).first().detail["keepers"] == [
        ["keeper", "keeper2"],
        ["keeper2"],
    ]


def test_only_keepers_manage_vaults(world):
    for role in (Role.ARCHIVIST, Role.PUBLIC, Role.SYSADMIN, Role.UNIT_OFFICER):
        with pytest.raises(PermissionDenied):
            shelves.create_vault(
                world.users[role], {"code": "K05", "name": "五号", "vault_type": "paper"}
            )
    assert not Vault.objects.exists()


# --- locations ----------------------------------------------------------------------------------


def test_locations_for_a_shelving_run(world):
    keeper = world.users[Role.KEEPER]
    vault = shelves.create_vault(keeper, {"code": "K01", "name": "一号", "vault_type": "paper"})
    created = shelves.create_locations(
        keeper,
        vault,
        {"rows": "1-2", "columns": "1,3", "sections": 2, "shelves": "1-3", "capacity": 6},
    )
    assert len(created) == 2 * 2 * 1 * 3
    codes = sorted(loc.code for loc in created)
    assert codes[0] == "K01-01-01-02-01" and codes[-1] == "K01-02-03-02-03"
    assert all(loc.capacity == 6 for loc in created)
    entry = _entries(vault, AuditAction.CREATE).first()
    assert entry.detail["locations_created"] == 12
    # Running it again over an overlapping range creates only the new ones.
    again = shelves.create_locations(
        keeper, vault, {"rows": "2-3", "columns": 1, "sections": 2, "shelves": 1}
    )
    assert [loc.code for loc in again] == ["K01-03-01-02-01"]


def test_location_ranges_are_validated(world):
    keeper = world.users[Role.KEEPER]
    vault = shelves.create_vault(keeper, {"code": "K01", "name": "一号", "vault_type": "paper"})
    with pytest.raises(ValidationError) as exc:
        shelves.create_locations(
            keeper, vault, {"rows": "3-1", "columns": "x", "sections": "", "shelves": 100}
        )
    assert set(exc.value.message_dict) == {"rows", "columns", "sections", "shelves"}
    with pytest.raises(ValidationError) as exc:
        shelves.create_locations(
            keeper, vault, {"rows": "1-99", "columns": "1-99", "sections": 1, "shelves": 1}
        )
    assert "分批" in exc.value.messages[0]
    assert not Location.objects.exists()


def test_location_with_boxes_cannot_be_deleted(sh):
    with pytest.raises(ValidationError):
        shelves.delete_location(sh.keeper, sh.a)
    shelves.delete_location(sh.keeper, sh.c)
    assert not Location.objects.filter(pk=sh.c.pk).exists()
    assert (
        _entries(sh.c, AuditAction.DELETE).exists()
        or AuditEntry.objects.filter(
            action=AuditAction.DELETE, object_repr="K01-02-01-01-01"
        ).exists()
    )


# --- boxes --------------------------------------------------------------------------------------


def test_box_capacity_and_moves(sh):
    shelves.update_location(sh.keeper, sh.c, {"capacity": 1})
    box = shelves.save_box(sh.keeper, {"code": "B-3", "location": sh.c.code})
    with pytest.raises(ValidationError) as exc:
        shelves.save_box(sh.keeper, {"code": "B-4", "location": sh.c})
    assert "已满" in exc.value.message_dict["location"][0]
    # Moving a box records where from and where to.
    shelves.save_box(sh.keeper, {"location": sh.b}, box=box)
    box.refresh_from_db()
    assert box.location == sh.b
    change = _entries(box, AuditAction.UPDATE).first().detail["location_id"]
    assert change == [sh.c.pk, sh.b.pk]
    with pytest.raises(ValidationError) as exc:
        shelves.update_location(sh.keeper, sh.a, {"capacity": 1})
    assert "不能小于" in exc.value.message_dict["capacity"][0]


def test_box_codes_are_unique_and_fixed(sh):
    with pytest.raises(ValidationError) as exc:
        shelves.save_box(sh.keeper, {"code": sh.box1.code})
    assert "已存在" in exc.value.message_dict["code"][0]
    with pytest.raises(ValidationError):
        shelves.save_box(sh.keeper, {"code": "NEW"}, box=sh.box1)
    with pytest.raises(ValidationError) as exc:
        shelves.save_box(sh.keeper, {"code": "has space", "location": "K99-00"})
    assert set(exc.value.message_dict) == {"code", "location"}


def test_box_with_contents_cannot_be_deleted(sh):
    with pytest.raises(ValidationError):
        shelves.delete_box(sh.keeper, sh.box1)
    shelves.delete_box(sh.keeper, sh.box2)
    assert not Box.objects.filter(pk=sh.box2.pk).exists()


# --- placement and whereabouts -----------------------------------------------------------------


def test_whereabouts_of_shelved_things(sh):
    w = shelves.whereabouts(sh.world.items_a[0])
    assert (w.box, w.location, w.vault) == (sh.box1, sh.a, sh.vault)
    w = shelves.whereabouts(sh.volume)
    assert (w.box, w.location) == (None, sh.b)
    # An item inside a volume is where its volume is.
    inside = sh.volume.items.first()
    w = shelves.whereabouts(inside)
    assert w.via_volume == sh.volume and w.location == sh.b
    w = shelves.whereabouts(sh.world.items_a[4])
    assert not w.shelved and w.out_on is None


def test_place_moves_and_is_audited(sh):
    placement = shelves.place(sh.keeper, sh.item, box=sh.box2)
    assert placement.box == sh.box2 and placement.location is None
    assert Placement.objects.filter(item=sh.item).count() == 1
    detail = _entries(sh.item, AuditAction.UPDATE).first().detail
    assert detail["placement"] == [sh.b.code, sh.box2.code]
    shelves.unplace(sh.keeper, sh.item)
    assert not shelves.whereabouts(sh.item).shelved


def test_place_refusals(sh):
    inside = sh.volume.items.first()
    with pytest.raises(ValidationError) as exc:
        shelves.place(sh.keeper, inside, location=sh.c)
    assert "随所属案卷" in exc.value.message_dict["target"][0]
    with pytest.raises(ValidationError) as exc:
        shelves.place(sh.keeper, sh.item, box=sh.box1, location=sh.c)
    assert "二者选一" in exc.value.message_dict["location"][0]
    electronic = sh.world.items_a[3]
    electronic.carrier = Carrier.ELECTRONIC
    electronic.save()
    with pytest.raises(ValidationError) as exc:
        shelves.place(sh.keeper, electronic, location=sh.c)
    assert "电子档案" in exc.value.message_dict["target"][0]
    with pytest.raises(PermissionDenied):
        shelves.place(sh.archivist, sh.item, location=sh.c)


def test_scan_codes_resolve_back(sh):
    for obj in (sh.a, sh.box1, sh.volume, sh.item):
        resolved = shelves.resolve_code(shelves.scan_payload(obj))
        assert resolved.obj == obj
    # Bare codes from a keyboard wedge scanner work too.
    assert shelves.resolve_code(sh.box1.code).obj == sh.box1
    assert shelves.resolve_code(sh.a.code).obj == sh.a
    assert shelves.resolve_code(sh.item.reference_code).obj == sh.item
    assert shelves.resolve_code("LT:B:nothing").obj is None
    # An item without a 档号 (not yet numbered) is labelled by its id.
    bare = Item.objects.create(
        fonds=sh.item.fonds,
        category=sh.item.category,
        year=2014,
        retention="Y",
        item_no=1,
        title="待编号文件",
    )
    assert shelves.scan_payload(bare) == f"LT:I:#{bare.pk}"
    assert shelves.resolve_code(f"LT:I:#{bare.pk}").obj == bare
