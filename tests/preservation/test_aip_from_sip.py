"""The real path: a BagIt SIP opened by ingest.sip, checked by ingest.checks, then built into
an AIP whose METS (valid METS/PREMIS) carries one event per check item."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from lxml import etree

from lantai.preservation import aip as aips
from lantai.preservation.xmlschema import PREMIS_NS, validate_mets


def test_checked_bag_becomes_a_valid_aip(tmp_path, item, locations, schema_dir, pdf_bytes):
    bagit = pytest.importorskip("bagit")
    sip = pytest.importorskip("lantai.ingest.sip")
    checks = pytest.importorskip("lantai.ingest.checks")
    folder = tmp_path / "bag"
    folder.mkdir()
    pdf = pdf_bytes
    (folder / "正文.pdf").write_bytes(pdf)
    meta = {
        "fonds": "Z109",
        "category": "WS",
        "year": 2024,
        "retention": "Y",
        "title": "关于做好2024年档案工作的通知",
        "responsible": "兰台区人民政府办公室",
        "date": "2024-03-01",
        "pages": 1,
        "classification": "public",
        "component_count": 1,
        "components": [{"name": "正文.pdf", "path": "正文.pdf", "size": len(pdf), "sequence": 1}],
    }
    (folder / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    bagit.make_bag(
        str(folder), {"Source-Organization": "兰台区人民政府办公室"}, checksums=["sha256"]
    )

    package = sip.open_sip(folder, tmp_path / "work")
    report = checks.run_checks(package, stage="GD", unit=item.fonds.unit, fonds=item.fonds)
    bag_dir = aips.build_aip(package, report, item=item, workdir=tmp_path / "aipwork")
    assert validate_mets(bag_dir / "data/METS.xml", schema_dir) == []
    assert (bag_dir / "data/metadata/submitted/metadata.json").exists()
    tree = etree.parse(str(bag_dir / "data/METS.xml"))
    events = tree.xpath("//p:event", namespaces={"p": PREMIS_NS})
    assert len(events) >= len(report["items"]) + 3
    types = tree.xpath("//p:eventType/text()", namespaces={"p": PREMIS_NS})
    assert {"fixity check", "format identification", "virus check"} <= set(types)
    virus = tree.xpath(
        "//p:event[p:eventType='virus check']//p:eventOutcome/text()", namespaces={"p": PREMIS_NS}
    )
    assert virus == ["not run"]  # no clamd here: reported as not run, never as passed
    with transaction.atomic():
        aip = aips.store_aip(bag_dir, item=item)
    pdf_file = aip.files.get(path="data/objects/正文.pdf")
    assert pdf_file.puid == report["files"]["正文.pdf"].get("puid", "")[:20]
