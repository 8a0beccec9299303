"""DIP downloads and DA/T 48 EEP exports: authorised users only, streamed, verified bytes,
audited; an exported EEP opens through the ingest SIP reader to the same metadata and bytes."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest
from django.core.exceptions import PermissionDenied

from lantai.audit.models import AuditEntry
from lantai.preservation import dip, eep
from lantai.preservation.models import PreservationEvent
from lantai.preservation.xmlschema import parse_file


def test_dip_holds_files_metadata_and_mets(stored_aip, item, package, make_user, tmp_path):
    pkg, _report = package
    archivist = make_user("archivist", "archivist")
    dest = dip.write_dip(archivist, item, tmp_path / "out" / "dip.zip")
    with zipfile.ZipFile(dest) as zf:
        names = zf.namelist()
        folder = item.reference_code
        assert f"{folder}/METS.xml" in names and f"{folder}/metadata.json" in names
        for sip_file in pkg.files:
            name = sip_file.path.rsplit("/", 1)[-1]
            assert zf.read(f"{folder}/objects/{name}") == sip_file.abspath.read_bytes()
        meta = json.loads(zf.read(f"{folder}/metadata.json"))
    assert meta["item"]["档号"] == item.reference_code and len(meta["files"]) == 3
    assert AuditEntry.objects.filter(action="download", object_id=str(item.pk)).exists()
    assert PreservationEvent.objects.filter(aip=stored_aip, event_type="dissemination").exists()
    assert not list((tmp_path / "out").glob(".tmp-*"))


def test_dip_and_eep_refused_without_permission(stored_aip, item, make_user, tmp_path):
    keeper = make_user("keeper", "keeper")
    with pytest.raises(PermissionDenied):
        dip.write_dip(keeper, item, tmp_path / "dip.zip")
    with pytest.raises(PermissionDenied):
        eep.export_eep(keeper, item, tmp_path / "eep.xml")
    assert not (tmp_path / "dip.zip").exists() and not (tmp_path / "eep.xml").exists()


def test_dip_refuses_damaged_content(stored_aip, item, locations, tmp_path):
    import os
    import stat
    from pathlib import Path

    from lantai.storage.services import DigestMismatch

    for root in (loc.config["root"] for loc in locations):
        for f in (Path(root) / stored_aip.key_prefix / "data/objects").glob("*.pdf"):
            os.chmod(f, stat.S_IWUSR | stat.S_IRUSR)
            f.write_bytes(b"%PDF-1.4 rotten")
    with pytest.raises(DigestMismatch):
        dip.write_dip(None, item, tmp_path / "dip.zip")
    assert not (tmp_path / "dip.zip").exists()


def test_eep_export_round_trips_through_the_sip_reader(
    stored_aip, item, package, make_user, tmp_path
):
    sip = pytest.importorskip("lantai.ingest.sip")
    pkg, _report = package
    archivist = make_user("archivist", "archivist")
    dest = eep.export_eep(archivist, item, tmp_path / "item.xml")
    tree = parse_file(dest)  # well-formed, no entities
    assert tree.getroot().tag.endswith("电子文件封装包")
    reopened = sip.open_sip(dest, tmp_path / "reopen")
    assert reopened.format == "eep"
    assert reopened.metadata["title"] == item.title
    assert reopened.metadata["fonds"] == "Z109"
    assert str(reopened.metadata["year"]) == "2024"
    assert reopened.metadata["retention"] == "Y"
    original = {f.path.rsplit("/", 1)[-1]: f.abspath.read_bytes() for f in pkg.files}
    got = {f.path: f.abspath.read_bytes() for f in reopened.files}
    assert {k: hashlib.sha256(v).hexdigest() for k, v in got.items()} == {
        k: hashlib.sha256(v).hexdigest() for k, v in original.items()
    }
    assert AuditEntry.objects.filter(action="export", object_id=str(item.pk)).exists()
