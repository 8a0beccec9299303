"""Packages of many files are stored as one tar of the bag (one object, replicated and audited
like any other): still a plain BagIt bag after ``tar -x``, and DIP / EEP / fixity work on it."""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from pathlib import Path

import bagit
import pytest
from django.db import transaction

from lantai.preservation import aip as aips
from lantai.preservation import dip, eep, fixity
from lantai.storage.models import Component, StoredObject


@pytest.fixture
def packed(tmp_path, item, package, locations, monkeypatch):
    monkeypatch.setenv("LANTAI_AIP_LOOSE_MAX_FILES", "5")
    pkg, report = package
    bag_dir = aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")
    with transaction.atomic():
        return aips.store_aip(bag_dir, item=item)


def test_packed_aip_is_one_object_holding_a_valid_bag(packed, locations, tmp_path):
    tar_obj = aips.packed_object(packed)
    assert tar_obj is not None and tar_obj.key.endswith("/bag.tar")
    assert StoredObject.objects.filter(purpose="aip").count() == 1
    assert packed.files.count() == 11 and packed.size == tar_obj.size
    assert not Component.objects.exists()  # originals live inside the tar
    primary, offsite = locations
    for root in (primary.config["root"], offsite.config["root"]):
        with tarfile.open(Path(root) / tar_obj.key) as tar:
            tar.extractall(tmp_path / "x" / root.replace("/", "_"), filter="data")
    for bag in (tmp_path / "x").glob("*/aip-*"):
        bagit.Bag(str(bag)).validate()


def test_packed_aip_refuses_tampered_member(tmp_path, item, package, locations, monkeypatch):
    monkeypatch.setenv("LANTAI_AIP_LOOSE_MAX_FILES", "5")
    pkg, report = package
    bag_dir = aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")
    target = bag_dir / "data/objects/正文.pdf"
    data = target.read_bytes()
    target.unlink()
    target.write_bytes(data[:-1] + b"Y")
    with pytest.raises(aips.AipError), transaction.atomic():
        aips.store_aip(bag_dir, item=item)
    assert not StoredObject.objects.exists()


def test_dip_and_eep_from_a_packed_aip(packed, item, package, tmp_path):
    pkg, _report = package
    dest = dip.write_dip(None, item, tmp_path / "dip.zip")
    with zipfile.ZipFile(dest) as zf:
        names = zf.namelist()
        assert any(n.endswith("/METS.xml") for n in names)
        pdf = next(n for n in names if n.endswith("正文.pdf"))
        assert zf.read(pdf) == pkg.files[0].abspath.read_bytes()
    xml = eep.export_eep(None, item, tmp_path / "eep.xml").read_bytes()
    assert xml.count("<文档>".encode()) == 3


def test_fixity_repairs_a_corrupt_packed_copy(packed, locations):
    primary, _offsite = locations
    tar_obj = aips.packed_object(packed)
    path = Path(primary.config["root"]) / tar_obj.key
    good = path.read_bytes()
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    path.write_bytes(good[:1000] + b"X" * 10 + good[1010:])
    audit = fixity.run_audit()
    assert audit.failures == 1 and audit.repaired == 1
    assert path.read_bytes() == good
