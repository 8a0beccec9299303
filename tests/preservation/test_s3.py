"""An AIP is replicated to an S3 location (moto) too; a copy lost on the local disks is
repaired by the fixity audit, and a corrupt S3 object is rewritten from a good copy."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from django.db import transaction

from lantai.preservation import aip as aips
from lantai.preservation import fixity
from lantai.storage.models import CopyStatus, ObjectCopy


def test_aip_on_s3_and_repairs(tmp_path, item, package, locations, s3_replica):
    location, client, bucket = s3_replica
    pkg, report = package
    bag_dir = aips.build_aip(pkg, report, item=item, workdir=tmp_path / "work")
    with transaction.atomic():
        aip = aips.store_aip(bag_dir, item=item)
    keys = {
        obj["Key"] for obj in client.list_objects_v2(Bucket=bucket, Prefix="lantai/")["Contents"]
    }
    assert f"lantai/{aip.key_prefix}/data/METS.xml" in keys
    assert len(keys) == aip.file_count
    assert ObjectCopy.objects.filter(location=location, status=CopyStatus.OK).count() == (
        aip.file_count
    )

    primary, offsite = locations
    mets = aip.files.get(path="data/METS.xml").object
    for root in (primary.config["root"], offsite.config["root"]):
        path = Path(root) / mets.key
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        path.unlink()
    pdf = aip.files.get(path="data/objects/正文.pdf").object
    client.put_object(Bucket=bucket, Key=f"lantai/{pdf.key}", Body=b"rotten")

    audit = fixity.run_audit()
    assert audit.failures == 3 and audit.repaired == 3
    assert (Path(primary.config["root"]) / mets.key).exists()
    body = client.get_object(Bucket=bucket, Key=f"lantai/{pdf.key}")["Body"].read()
    assert body == pkg.files[0].abspath.read_bytes()
    assert fixity.run_audit().failures == 0
