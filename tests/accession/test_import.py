"""Acceptance: a checked catalog enters holdings in one transaction, or nothing does."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError

from accession.catalog_world import *  # noqa: F403
from accession.catalog_world import HEADERS, PDF, code, real_image, row, rows, write_csv, write_zip
from lantai.accession.checks import check_upload
from lantai.accession.importer import accept_upload
from lantai.accession.models import BatchItem
from lantai.accounts.models import User
from lantai.audit.models import AuditEntry
from lantai.holdings import services as holdings
from lantai.holdings.models import Item, Volume


def test_accept_creates_items_with_provenance_and_one_audit_entry(world):
    data = rows(3)
    data[1][HEADERS.index("保管期限")] = "永久"
    upload = world.upload(write_csv(world.tmp / "c.csv", data))
    assert check_upload(upload)["errors"] == 0
    audit_before = AuditEntry.objects.count()
    result = accept_upload(None, world.batch, upload)
    assert result["items"] == 3 and result["volumes"] == 0 and result["rows"] == 3
    items = list(Item.objects.filter(fonds=world.fonds).order_by("item_no"))
    assert [i.reference_code for i in items] == [code(1), code(2), code(3)]
    first = items[0]
    assert first.title == "关于2011年第1项工作的通知"
    assert first.series_id == world.series.pk
    assert first.unit_id == world.unit.pk
    assert first.retention == "Y" and first.year == 2011
    assert first.date == dt.date(2011, 3, 2)
    assert first.pages == 3
    assert first.doc_number == "兰政办发〔2011〕1号"
    assert first.openness == "unreviewed" and first.classification == "public"
    assert first.extra == {}
    assert first.created_at is not None
    provenance = BatchItem.objects.filter(batch=world.batch).order_by("row")
    assert [(p.item_id, p.row) for p in provenance] == [
        (i.pk, n) for i, n in zip(items, (2, 3, 4), strict=True)
    ]
    entries = AuditEntry.objects.filter(seq__gt=audit_before, object_id=str(world.batch.pk))
    assert entries.count() == 1
    assert entries.get().detail["items"] == 3
    # Holdings' own services see the imported items as any other (numbering continues).
    nxt = holdings.create_item(
        None,
        {"fonds": world.fonds, "category": "WS", "series": world.series, "year": 2011,
         "retention": "Y", "title": "后来著录的一件"},
    )  # fmt: skip
    assert nxt.item_no == 4


def test_an_upload_with_errors_imports_nothing(world):
    upload = world.upload(write_csv(world.tmp / "c.csv", [row(1), row(2, 日期="20110231")]))
    with pytest.raises(ValidationError) as caught:
        accept_upload(None, world.batch, upload)
    assert "目录有错误" in caught.value.messages[0]
    assert "第3行" in caught.value.messages[1]
    assert not Item.objects.exists()
    assert not BatchItem.objects.exists()


def test_a_refcode_taken_after_the_check_imports_nothing(world):
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(3)))
    assert check_upload(upload)["errors"] == 0
    world.item(3)  # someone described it meanwhile
    with pytest.raises(ValidationError, match="错误"):
        accept_upload(None, world.batch, upload)
    assert Item.objects.count() == 1
    assert not BatchItem.objects.exists()


def test_a_catalog_changed_after_the_check_is_refused(world):
    path = write_csv(world.tmp / "c.csv", rows(2))
    upload = world.upload(path)
    check_upload(upload)
    write_csv(path, rows(3))
    with pytest.raises(ValidationError, match="改动"):
        accept_upload(None, world.batch, upload)
    assert not Item.objects.exists()


def test_the_upload_must_belong_to_the_batch(world):
    from lantai.accession.models import TransferBatch

    other = TransferBatch.objects.create(number="YJ-TEST-0002", unit=world.unit, fonds=world.fonds)
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(1)))
    with pytest.raises(ValidationError, match="不属于"):
        accept_upload(None, other, upload)


def test_only_archivists_accept(world):
    officer = User.objects.create_user(username="officer", password="x-Unused-1", unit=world.unit)
    officer.groups.add(Group.objects.get(name="unit_officer"))
    officer = User.objects.get(pk=officer.pk)
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(1)))
    with pytest.raises(PermissionDenied):
        accept_upload(officer, world.batch, upload)
    archivist = User.objects.create_user(username="arch", password="x-Unused-1")
    archivist.groups.add(Group.objects.get(name="archivist"))
    archivist = User.objects.get(pk=archivist.pk)
    assert accept_upload(archivist, world.batch, upload)["items"] == 1
    assert AuditEntry.objects.filter(actor_id=archivist.pk, object_id=str(world.batch.pk)).exists()


def test_files_are_stored_and_attached(world):
    from lantai.storage.models import Component, StoredObject

    archive = write_zip(
        world.tmp / "files.zip",
        {
            f"{code(1)}.pdf": PDF,
            f"{code(2)}/p1.jpg": real_image("JPEG", (10, 10, 10)),
            f"{code(2)}/p2.jpg": real_image("JPEG", (20, 20, 20)),
        },
    )
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(2)), files=archive)
    assert check_upload(upload)["errors"] == 0
    result = accept_upload(None, world.batch, upload)
    assert result["files"] == 3
    one = Item.objects.get(reference_code=code(1))
    component = Component.objects.get(item=one)
    assert component.filename == f"{code(1)}.pdf" and component.role == "master"
    assert component.object.size == len(PDF)
    assert component.object.key == f"accession/{world.batch.number}/{code(1)}.pdf"
    two = Item.objects.get(reference_code=code(2))
    assert sorted(c.filename for c in Component.objects.filter(item=two)) == ["p1.jpg", "p2.jpg"]
    assert StoredObject.objects.count() == 3


def test_a_storage_failure_rolls_everything_back(world):
    from lantai.storage.models import StoredObject

    archive = write_zip(world.tmp / "files.zip", {f"{code(1)}.pdf": PDF, f"{code(2)}.pdf": PDF})
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(2)), files=archive)
    check_upload(upload)
    # A different content already stored under the key the second file needs.
    from lantai.storage.services import put_file

    clash = world.tmp / "other.pdf"
    clash.write_bytes(PDF + b"other")
    put_file(clash, f"accession/{world.batch.number}/{code(2)}.pdf", purpose="test")
    with pytest.raises(ValidationError):
        accept_upload(None, world.batch, upload)
    assert not Item.objects.exists()
    assert not BatchItem.objects.exists()
    assert StoredObject.objects.count() == 1


def test_volumes_from_a_volume_catalog(world):
    headers = ["档号", "案卷号", "案卷题名", "年度", "保管期限", "起始日期", "终止日期", "页数"]
    data = [
        ["Z109-KJ·2011-Y-001", "1", "竣工资料", "2011", "永久", "2011-01-01", "2011-06-30", "80"],
        ["Z109-KJ·2011-Y-002", "2", "监理资料", "2011", "永久", "2011-07-01", "2011-09-01", ""],
    ]
    upload = world.upload(write_csv(world.tmp / "v.csv", data, headers=headers))
    assert check_upload(upload)["errors"] == 0
    result = accept_upload(None, world.batch, upload)
    assert result["volumes"] == 2 and result["items"] == 0
    volume = Volume.objects.get(reference_code="Z109-KJ·2011-Y-001")
    assert volume.volume_no == 1 and volume.title == "竣工资料" and volume.pages == 80
    assert volume.date_end == dt.date(2011, 6, 30)
    assert BatchItem.objects.filter(batch=world.batch, volume=volume, row=2).exists()


def test_items_in_volumes_create_their_volumes(world):
    headers = [
        "案卷号",
        "卷内顺序号",
        "题名",
        "案卷题名",
        "年度",
        "保管期限",
        "门类",
        "日期",
        "页数",
    ]
    data = [
        ["1", "1", "开工报告", "某工程竣工资料", "2011", "永久", "KJ", "2011-01-05", "4"],
        ["1", "2", "竣工报告", "某工程竣工资料", "2011", "永久", "KJ", "2011-06-05", "6"],
        ["2", "1", "监理日志", "某工程监理资料", "2011", "永久", "KJ", "2011-07-05", "1"],
    ]
    upload = world.upload(write_csv(world.tmp / "vi.csv", data, headers=headers))
    assert check_upload(upload)["errors"] == 0
    result = accept_upload(None, world.batch, upload)
    assert result == {**result, "volumes": 2, "items": 3}
    first = Volume.objects.get(reference_code="Z109-KJ·2011-Y-001")
    assert first.title == "某工程竣工资料"
    assert (first.date_start, first.date_end, first.pages) == (
        dt.date(2011, 1, 5),
        dt.date(2011, 6, 5),
        10,
    )
    inside = Item.objects.filter(volume=first).order_by("item_no")
    assert [i.reference_code for i in inside] == [
        "Z109-KJ·2011-Y-001-0001",
        "Z109-KJ·2011-Y-001-0002",
    ]
    assert BatchItem.objects.filter(batch=world.batch).count() == 5
    # A later catalog adds to an existing volume, continuing its numbers.
    later = [["1", "3", "验收报告", "", "2011", "永久", "KJ", "2011-06-25", "2"]]
    more = world.upload(write_csv(world.tmp / "vi2.csv", later, headers=headers))
    assert check_upload(more)["errors"] == 0
    assert accept_upload(None, world.batch, more)["volumes"] == 0
    assert Item.objects.filter(volume=first).count() == 3
