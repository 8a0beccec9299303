"""AIP bags: built atomically, valid BagIt, METS 1.12 + PREMIS 3 valid against the official
schemas, stored on every location, verified, registered in one transaction."""

from __future__ import annotations

import os
from pathlib import Path

import bagit
import pytest
from django.db import transaction
from lxml import etree

from lantai.preservation import aip as aips
from lantai.preservation.models import Aip, AipFile, PreservationEvent
from lantai.preservation.xmlschema import METS_NS, PREMIS_NS, validate_mets
from lantai.storage.models import Component, CopyStatus, ObjectCopy, StoredObject

NS = {"mets": METS_NS, "premis": PREMIS_NS}


def test_build_aip_is_a_valid_bag_with_valid_mets(tmp_path, item, package, schema_dir, db):
    pkg, report = package
    bag_dir = aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")
    assert bag_dir.name.startswith("aip-")
    assert not list((tmp_path / "work").glob(".aip-*"))  # no temporary left
    bag = bagit.Bag(str(bag_dir))
    bag.validate()  # bagit-python: manifests, oxum, every digest
    assert (bag_dir / "data/objects/附件/图 1.png").exists()
    assert "data/objects/说明 文字.txt" in bag.payload_entries()
    assert validate_mets(bag_dir / "data/METS.xml", schema_dir) == []

    tree = etree.parse(str(bag_dir / "data/METS.xml"))
    digests = tree.xpath("//premis:fixity/premis:messageDigestAlgorithm/text()", namespaces=NS)
    assert digests.count("SHA-256") == 3 and digests.count("SM3") == 3
    keys = tree.xpath("//premis:formatRegistryKey/text()", namespaces=NS)
    assert sorted(keys) == ["fmt/11", "fmt/17", "x-fmt/111"]
    types = tree.xpath("//premis:eventType/text()", namespaces=NS)
    # One event per check, plus the steps.
    assert "fixity check" in types and "format identification" in types
    assert "virus check" in types and "information package creation" in types
    outcomes = tree.xpath(
        "//premis:event[premis:eventType='virus check']//premis:eventOutcome/text()",
        namespaces=NS,
    )
    assert outcomes == ["not run"]
    assert tree.xpath("//premis:agent", namespaces=NS)
    assert tree.xpath("//premis:rightsStatement", namespaces=NS)
    hrefs = tree.xpath(
        "//mets:fileGrp[@USE='original']/mets:file/mets:FLocat/@xlink:href",
        namespaces={**NS, "xlink": "http://www.w3.org/1999/xlink"},
    )
    assert "objects/%E8%AF%B4%E6%98%8E%20%E6%96%87%E5%AD%97.txt" in hrefs


def test_store_aip_replicates_verifies_and_registers(tmp_path, item, package, locations, db):
    pkg, report = package
    bag_dir = aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")
    with transaction.atomic():
        aip = aips.store_aip(bag_dir, item=item)
    assert aip.item == item and aip.verified_at is not None
    paths = set(aip.files.values_list("path", flat=True))
    assert "data/METS.xml" in paths and "bagit.txt" in paths
    assert "data/objects/正文.pdf" in paths
    assert aip.file_count == len(paths) == 11  # 3 originals, 2 metadata, METS, 5 tag files
    pdf = aip.files.get(path="data/objects/正文.pdf")
    assert pdf.puid == "fmt/17"
    # Every file on both locations, and the bag readable straight from the primary folder.
    for copy in ObjectCopy.objects.filter(object__aip_files__aip=aip):
        assert copy.status == CopyStatus.OK
    primary, offsite = locations
    for root in (primary.config["root"], offsite.config["root"]):
        stored = Path(root) / aip.key_prefix
        bagit.Bag(str(stored)).validate()
    assert Component.objects.filter(item=item, role="master").count() == 3
    kinds = set(PreservationEvent.objects.filter(aip=aip).values_list("event_type", flat=True))
    assert {"ingestion", "replication", "fixity check"} <= kinds


def test_store_aip_rolls_back_on_tampered_bag(tmp_path, item, package, locations, db):
    pkg, report = package
    bag_dir = aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")
    target = bag_dir / "data/objects/正文.pdf"
    data = target.read_bytes()
    target.unlink()  # break the hard link; the SIP copy stays intact
    target.write_bytes(data[:-1] + b"X")
    with pytest.raises(aips.AipError), transaction.atomic():
        aips.store_aip(bag_dir, item=item)
    assert not Aip.objects.exists()
    assert not AipFile.objects.exists()
    assert not StoredObject.objects.filter(purpose="aip").exists()


def test_store_aip_refuses_extra_and_missing_files(tmp_path, item, package, locations, db):
    pkg, report = package
    bag_dir = aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")
    (bag_dir / "data/objects/extra.txt").write_text("x")
    with pytest.raises(aips.AipError, match="清单之外"):
        aips.store_aip(bag_dir, item=item)
    os.unlink(bag_dir / "data/objects/extra.txt")
    os.unlink(bag_dir / "data/objects/正文.pdf")
    with pytest.raises(aips.AipError, match="缺少文件"):
        aips.store_aip(bag_dir, item=item)
    assert not Aip.objects.exists()


def test_file_changed_after_check_is_never_registered(tmp_path, item, package, locations, db):
    pkg, report = package
    # The report says other bytes than the file holds (changed after the check).
    report["files"]["正文.pdf"]["sha256"] = "0" * 64
    with pytest.raises(aips.AipError), transaction.atomic():
        bag_dir = aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")
        aips.store_aip(bag_dir, item=item)
    assert not Aip.objects.exists()
    assert not StoredObject.objects.filter(purpose="aip").exists()


def test_percent_and_newline_in_names_are_encoded_per_rfc8493(tmp_path, item, package, db):
    pkg, report = package
    odd = pkg.files[2]
    renamed = odd.abspath.with_name("100%完成.txt")
    odd.abspath.rename(renamed)
    report["files"]["100%完成.txt"] = report["files"].pop(odd.path)
    odd.path, odd.abspath = "100%完成.txt", renamed
    bag_dir = aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")
    manifest = (bag_dir / "manifest-sha256.txt").read_text(encoding="utf-8")
    assert "data/objects/100%25完成.txt" in manifest
    entries = aips.verify_bag(bag_dir, deep=True)
    assert "data/objects/100%完成.txt" in entries
