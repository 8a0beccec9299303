"""The ingest pipeline end to end: receive → open → check → item + AIP, in this process (the
immediate queue) and through the CLI; failures keep the report and register nothing."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from lantai.holdings.models import Item
from lantai.ingest import services
from lantai.ingest.models import Sip, SipStatus

from .conftest import bearer, make_bag, metadata_for, pdf_bytes, zip_dir

pytestmark = pytest.mark.django_db(transaction=True)


def _aips():
    from lantai.preservation.models import Aip

    return Aip.objects


def _receive(world, path, **kwargs) -> Sip:
    token = services.authenticate_token(world.tokens["a"])
    sip, _created = services.receive_sip(
        path, unit=world.unit_a, token=token, start=False, **kwargs
    )
    return sip


def test_a_good_bag_becomes_an_item_with_an_aip(tworld, tmp_path):
    bag = zip_dir(make_bag(tmp_path / "good", n_files=2), tmp_path / "good.zip")
    sip = _receive(tworld, bag, fonds="Z109")
    seen = []
    sip = services.process_sip(sip, progress=lambda *a, **k: seen.append(a))
    sip.refresh_from_db()
    assert sip.status == SipStatus.STORED, (
        sip.error,
        json.dumps(sip.report, ensure_ascii=False)[:3000],
    )
    assert sip.stage == "stored" and sip.format == "bagit"
    item = Item.objects.get()
    assert sip.item_id == item.pk and item.fonds.code == "Z109"
    assert item.reference_code.startswith("Z109-WS")
    aip = _aips().get()
    assert aip.item_id == item.pk
    assert sip.report["passed"] is True
    assert all(i["result"] != "fail" or not i["blocking"] for i in sip.report["items"])
    # The spool is gone once the AIP is stored.
    assert not services.sip_dir(sip).exists()
    assert seen  # progress was reported
    # Processing again changes nothing.
    services.process_sip(sip)
    assert Item.objects.count() == 1 and _aips().count() == 1


def test_a_corrupted_payload_fails_with_a_report_and_stores_nothing(tworld, tmp_path):
    folder = make_bag(tmp_path / "bad")
    target = next((folder / "data").glob("*.pdf"))
    target.write_bytes(target.read_bytes()[:-10] + b"corrupted!")
    sip = services.process_sip(_receive(tworld, folder, fonds="Z109"))
    sip.refresh_from_db()
    assert sip.status == SipStatus.FAILED
    assert sip.report and sip.report["passed"] is False
    failing = [i for i in sip.report["items"] if i["result"] == "fail"]
    assert failing and all(i["detail"] or i["name"] for i in failing)
    assert Item.objects.count() == 0 and _aips().count() == 0


def test_not_a_package_fails_with_the_reason(tworld, tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip file at all")
    sip = services.process_sip(_receive(tworld, junk))
    sip.refresh_from_db()
    assert sip.status == SipStatus.FAILED
    assert sip.error and sip.report["items"]
    assert Item.objects.count() == 0


def test_metadata_naming_another_units_fonds_fails(tworld, tmp_path):
    files = {"a.pdf": pdf_bytes()}
    meta = metadata_for("X013", files=[("a.pdf", len(files["a.pdf"]))])
    folder = make_bag(tmp_path / "other", payload=files, metadata=meta)
    sip = services.process_sip(_receive(tworld, folder))
    sip.refresh_from_db()
    assert sip.status == SipStatus.FAILED
    assert "X013" in sip.error
    assert Item.objects.count() == 0


def test_api_round_trip_with_the_immediate_queue(tworld, tmp_path, client):
    data = zip_dir(make_bag(tmp_path / "api"), tmp_path / "api.zip").read_bytes()
    response = client.post(
        "/api/v1/sips?fonds=Z109",
        data=data,
        content_type="application/zip",
        HTTP_IDEMPOTENCY_KEY="k-1",
        **bearer(tworld.tokens["a"]),
    )
    assert response.status_code == 202
    sip_id = response.json()["id"]
    status = client.get(f"/api/v1/sips/{sip_id}", **bearer(tworld.tokens["a"])).json()
    assert status["status"] == "stored", status.get("error")
    assert status["reference_code"] and status["report"]["passed"] is True
    again = client.post(
        "/api/v1/sips?fonds=Z109",
        data=data,
        content_type="application/zip",
        HTTP_IDEMPOTENCY_KEY="k-1",
        **bearer(tworld.tokens["a"]),
    )
    assert again.json()["id"] == sip_id and again.json()["status"] == "stored"
    assert Item.objects.count() == 1
    pdf = client.get(f"/api/v1/sips/{sip_id}/report.pdf", **bearer(tworld.tokens["a"]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    rules = client.get("/api/v1/ingest/rules", **bearer(tworld.tokens["a"])).json()
    assert rules["unit"]["code"] == "QZF" and rules["fonds"][0]["code"] == "Z109"


def test_cli_ingest_inline(tworld, tmp_path):
    folder = make_bag(tmp_path / "cli")
    out = StringIO()
    call_command("ingest", str(folder), "--unit", "QZF", "--fonds", "Z109", "--inline", stdout=out)
    sip_id, status, *rest = out.getvalue().strip().split("\t")
    assert status == "stored" and rest[0].startswith("Z109-WS")
    assert Sip.objects.get(pk=sip_id).source == "cli"


def test_sweep_spool_removes_only_orphans(tworld, tmp_path):
    import os
    import uuid

    sip = _receive(tworld, make_bag(tmp_path / "kept"), fonds="Z109")
    orphan = services.ingest_root() / str(uuid.uuid4())
    orphan.mkdir(parents=True)
    (orphan / ".upload.zip.part").write_bytes(b"half")
    old = 1_000_000_000
    os.utime(orphan, (old, old))
    os.utime(services.sip_dir(sip), (old, old))
    assert services.sweep_spool() == 1
    assert not orphan.exists() and services.sip_dir(sip).exists()
