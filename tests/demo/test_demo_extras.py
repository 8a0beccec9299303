"""``lantai demo`` extras: accession, vault shelves, environment, online archiving.

Each part creates what it should through the apps' services, a second run adds nothing,
``--no-extras`` leaves them out, a missing app is skipped with a message, and the audit chain
still verifies. The fixity audit reads the database from worker threads, so these tests commit
(transactional_db).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from lantai.accession.models import Acquisition, ReceiptPlan, TransferBatch
from lantai.audit.services import verify_chain
from lantai.holdings.demo import extras
from lantai.holdings.demo.generator import load_demo
from lantai.holdings.models import Item
from lantai.ingest.models import ApiToken, Sip, SipStatus
from lantai.preservation.models import Aip, FixityAudit, PreservationEvent
from lantai.vault.models import (
    Alarm,
    AlarmStatus,
    Box,
    Circulation,
    CirculationStatus,
    DeviceToken,
    Location,
    Placement,
    Reading,
    ReadingRollup,
    Sensor,
    SensorKind,
    Vault,
    VaultEntry,
)
from lantai.vault.services_shelves import overdue_circulations

SMALL = {"placements": 120, "env_days": 1, "older_days": 0}
#: The parts tested here; the newer areas' parts are tested in test_demo_areas.
FOUNDATION = ["accession", "shelves", "environment", "ingest", "livelihood"]


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    settings.DATA_DIR = Path(tmp_path) / "data"
    from lantai.holdings import refcode

    refcode.clear_scheme_cache()
    load_demo(items=400, seed=11)


def _snapshot() -> dict[str, int]:
    models = (
        ReceiptPlan,
        TransferBatch,
        Acquisition,
        Vault,
        Location,
        Box,
        Placement,
        Circulation,
        VaultEntry,
        Sensor,
        Reading,
        Alarm,
        DeviceToken,
        ApiToken,
        Sip,
        Aip,
        FixityAudit,
    )
    return {m.__name__: m.objects.count() for m in models}


def test_every_part_loads_what_it_should(demo):
    result = extras.load_extras(**SMALL, only=set(FOUNDATION))
    keys = FOUNDATION
    assert [p.key for p in result.parts] == keys
    assert {p.key: p.status for p in result.parts} == dict.fromkeys(keys, extras.DONE), [
        (p.key, p.message) for p in result.parts
    ]

    # 1. accession: plans, accepted batches, a campaign with acquisitions.
    assert ReceiptPlan.objects.exists() and Acquisition.objects.count() == 2

    # 2. shelves: seven vaults of the JGJ types with their limits, the demo keeper on each.
    vaults = {v.code: v for v in Vault.objects.all()}
    assert set(vaults) == {spec.code for spec in extras.VAULTS}
    assert [v.vault_type for v in Vault.objects.order_by("code")] == [
        "paper", "paper", "special", "magnetic", "film_master", "optical", "object"
    ]  # fmt: skip
    assert float(vaults["K05"].temp_max) == 15 and float(vaults["K05"].rh_max) == 45
    assert all(v.keepers.filter(username="keeper").exists() for v in vaults.values())

    def span(text: str) -> int:
        low, _sep, high = text.partition("-")
        return int(high or low) - int(low) + 1

    assert Location.objects.count() == sum(
        span(v.rows) * span(v.columns) * span(v.sections) * span(v.shelves) for v in extras.VAULTS
    )
    placements = Placement.objects.select_related("volume", "item", "box__location")
    assert placements.count() > 50
    for p in placements:
        target = p.volume or p.item
        assert target.carrier != "electronic"  # nothing electronic on a shelf
        assert p.item is None or p.item.volume_id is None  # items inside volumes go with them
        assert (p.box is None) != (p.location is None)
    for loc in Location.objects.filter(capacity__gt=0):
        assert loc.boxes.count() <= loc.capacity
    statuses = set(Circulation.objects.values_list("status", flat=True))
    assert statuses == {
        CirculationStatus.OUT,
        CirculationStatus.REQUESTED,
        CirculationStatus.RETURNED,
    }
    assert overdue_circulations().count() == 1
    assert VaultEntry.objects.filter(left_at__isnull=False).count() == 5

    # 3. environment: the 八防 registry per vault, readings, rollups, alarms in three states.
    k01_kinds = set(Sensor.objects.filter(vault__code="K01").values_list("kind__code", flat=True))
    assert {
        "temperature",
        "humidity",
        "smoke",
        "water",
        "door",
        "light",
        "pm25",
        "gas",
        "pest",
    } <= (k01_kinds)
    assert set(Sensor.objects.values_list("kind__code", flat=True)) <= set(
        SensorKind.objects.values_list("code", flat=True)
    )
    assert Reading.objects.count() > 5000
    assert ReadingRollup.objects.filter(bucket_seconds=600).exists()
    assert ReadingRollup.objects.filter(bucket_seconds=3600).exists()
    alarms = {a.kind: a.status for a in Alarm.objects.all()}
    assert alarms["threshold"] == AlarmStatus.RAISED
    assert alarms["door"] == AlarmStatus.ACKNOWLEDGED
    assert alarms["water"] == AlarmStatus.RESOLVED
    assert Sensor.objects.filter(last_seen_at__isnull=False).count() == Sensor.objects.count()

    # 4. online archiving: SIPs stored as items with AIPs, events and a clean fixity audit.
    sips = Sip.objects.all()
    assert sips.count() == len(extras.SIP_RECORDS)
    assert all(s.status == SipStatus.STORED and s.report["passed"] for s in sips)
    assert Aip.objects.count() == len(extras.SIP_RECORDS)
    assert Item.objects.filter(sips__isnull=False).count() == len(extras.SIP_RECORDS)
    assert PreservationEvent.objects.count() >= len(extras.SIP_RECORDS)
    audit = FixityAudit.objects.get()
    assert audit.status == "done" and audit.failures == 0 and audit.copies_checked > 0

    # Secrets are returned once: the ingest API token and the sensor gateway token.
    values = [s.value for s in result.secrets]
    assert any(v.startswith("lts_") for v in values) and any(v.startswith("lt_") for v in values)

    assert verify_chain().ok


def test_a_second_run_adds_nothing(demo):
    extras.load_extras(**SMALL, only=set(FOUNDATION))
    before = _snapshot()
    again = extras.load_extras(**SMALL, only=set(FOUNDATION))
    assert {p.status for p in again.parts} == {extras.ALREADY}, [
        (p.key, p.status, p.message) for p in again.parts
    ]
    assert again.secrets == []
    assert _snapshot() == before
    assert verify_chain().ok


def test_a_missing_app_is_skipped_with_a_message(demo, monkeypatch):
    real = extras.apps.is_installed
    monkeypatch.setattr(
        extras.apps, "is_installed", lambda name: name != "lantai.vault" and real(name)
    )
    result = extras.load_extras(**SMALL, only={"shelves", "environment"})
    assert [(p.key, p.status) for p in result.parts] == [
        ("shelves", extras.SKIPPED),
        ("environment", extras.SKIPPED),
    ]
    assert all("lantai.vault" in p.message for p in result.parts)
    assert not Vault.objects.exists() and not Sensor.objects.exists()


def test_a_failing_part_is_rolled_back_and_the_others_load(demo, monkeypatch):
    from lantai.vault import services_shelves

    def broken(*args, **kwargs):
        raise RuntimeError("断电")

    monkeypatch.setattr(services_shelves, "log_exit", broken)
    result = extras.load_extras(**SMALL, only={"accession", "shelves"})
    status = {p.key: p.status for p in result.parts}
    assert status == {"accession": extras.DONE, "shelves": extras.FAILED}
    assert "断电" in result.part("shelves").message
    # Nothing of the failed part is left: no vault, location, box or placement.
    assert not Vault.objects.exists() and not Placement.objects.exists()
    assert not Box.objects.exists() and not Circulation.objects.exists()
    assert ReceiptPlan.objects.exists()
    assert verify_chain().ok


def test_command_loads_extras_and_no_extras_leaves_them_out(transactional_db, settings, tmp_path):
    settings.DATA_DIR = Path(tmp_path) / "data"
    out = io.StringIO()
    call_command("demo", items=300, no_extras=True, if_empty=True, stdout=out, stderr=io.StringIO())
    assert "去哪里看" not in out.getvalue()
    assert not Vault.objects.exists() and not Sensor.objects.exists()
    assert not ReceiptPlan.objects.exists() and not Sip.objects.exists()

    # make run again on this demo archive: the holdings are kept, the extras are added.
    out = io.StringIO()
    call_command(
        "demo",
        items=300,
        if_empty=True,
        base_url="http://demo.test:8765",
        stdout=out,
        stderr=io.StringIO(),
    )
    text = out.getvalue()
    assert "未加载演示数据" in text
    assert "http://demo.test:8765/vault/env/" in text and "去哪里看" in text
    assert "lts_" in text  # the ingest token's secret, shown once
    assert Vault.objects.count() == 7 and Sip.objects.filter(status=SipStatus.STORED).exists()
    before = _snapshot()

    out = io.StringIO()
    call_command("demo", items=300, if_empty=True, stdout=out, stderr=io.StringIO())
    assert "已存在" in out.getvalue() and "lts_" not in out.getvalue()
    assert _snapshot() == before
    assert verify_chain().ok


def test_a_real_archive_is_never_given_demo_extras(transactional_db, settings, tmp_path):
    """--if-empty on an archive that was not loaded by the demo does nothing at all."""
    from lantai.holdings import services as holdings

    settings.DATA_DIR = Path(tmp_path) / "data"
    holdings.create_unit(None, {"code": "QZF", "name": "区政府办公室", "kind": "agency"})
    call_command("demo", items=300, if_empty=True, stdout=io.StringIO(), stderr=io.StringIO())
    assert not Vault.objects.exists() and not ReceiptPlan.objects.exists()
