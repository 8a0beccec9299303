"""``lantai import-catalog``: import when right; report, import nothing and fail when wrong."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from python_calamine import CalamineWorkbook

from accession.catalog_world import *  # noqa: F403
from accession.catalog_world import HEADERS, PDF, code, row, rows, write_csv, write_xlsx, write_zip
from lantai.accession.catalog import batch_dir
from lantai.accession.models import BatchItem, BatchStatus, HandoverForm, TransferBatch
from lantai.accession.report import neutralise, write_report_xlsx
from lantai.holdings.models import Item


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_catalog", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def sheet_rows(path, index):
    with CalamineWorkbook.from_path(str(path)) as book:
        return book.get_sheet_by_index(index).to_python()


def test_a_good_catalog_is_imported(world):
    path = write_xlsx(world.tmp / "good.xlsx", rows(4))
    out, err = run(str(path), "--fonds", "Z109")
    assert "已接收批次" in out and "4 件" in out
    assert Item.objects.filter(fonds=world.fonds).count() == 4
    batch = TransferBatch.objects.exclude(pk=world.batch.pk).get()
    assert batch.status == BatchStatus.ACCEPTED
    assert batch.unit_id == world.unit.pk
    assert batch.item_count == 4 and batch.row_count == 4
    assert BatchItem.objects.filter(batch=batch).count() == 4
    assert HandoverForm.objects.filter(batch=batch).exists()
    assert "接收完成" in err  # the progress line


def test_a_bad_catalog_writes_the_report_and_imports_nothing(world):
    data = rows(3)
    data[1] = row(2, 日期="20110230")
    data[2] = row(3, 题名='=HYPERLINK("http://x")')
    path = write_csv(world.tmp / "bad.csv", data, encoding="gbk")
    report = world.tmp / "out" / "report.xlsx"
    with pytest.raises(CommandError, match="未导入任何条目"):
        run(str(path), "--fonds", "Z109", "--report", str(report))
    assert not Item.objects.exists()
    batch = TransferBatch.objects.exclude(pk=world.batch.pk).get()
    assert batch.status == BatchStatus.FAILED
    assert batch.error_count == 2
    assert not BatchItem.objects.exists()
    catalog_sheet = sheet_rows(report, 0)
    assert catalog_sheet[0][:3] == ["行号", "检测结果", "档号"]
    assert [r[0] for r in catalog_sheet[1:]] == [2, 3, 4]
    assert catalog_sheet[1][1] == ""
    assert "日期" in catalog_sheet[2][1] and "2月只有28天" in catalog_sheet[2][1]
    # The formula-looking title is neutralised in the export.
    title = HEADERS.index("题名") + 2
    assert catalog_sheet[3][title] == '\'=HYPERLINK("http://x")'
    issues_sheet = sheet_rows(report, 1)
    assert issues_sheet[0] == ["行号", "列", "值", "类型", "级别", "说明"]
    kinds = {r[3] for r in issues_sheet[1:]}
    assert kinds == {"日期不合法", "单元格含公式"}
    summary_sheet = sheet_rows(report, 2)
    assert ["错误", "2"] in [r[:2] for r in summary_sheet]


def test_default_report_path(world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_csv(world.tmp / "目录.csv", [row(1, 年度="abc")])
    with pytest.raises(CommandError):
        run(str(path), "--fonds", "Z109")
    assert (tmp_path / "目录-检测报告.xlsx").exists()


def test_dry_run_leaves_nothing(world):
    folders = batch_dir(world.batch).parent
    before = set(folders.iterdir())
    path = write_csv(world.tmp / "c.csv", rows(2))
    out, _err = run(str(path), "--fonds", "Z109", "--dry-run")
    assert "检测通过" in out
    assert not Item.objects.exists()
    assert TransferBatch.objects.count() == 1  # only the fixture's
    bad = write_csv(world.tmp / "bad.csv", [row(1, 日期="2011-13-01")])
    report = world.tmp / "dry.xlsx"
    with pytest.raises(CommandError, match="试运行"):
        run(str(bad), "--fonds", "Z109", "--dry-run", "--report", str(report))
    assert report.exists()
    assert TransferBatch.objects.count() == 1
    assert set(folders.iterdir()) <= before  # no batch folder left behind


def test_files_from_a_zip(world):
    archive = write_zip(world.tmp / "f.zip", {f"{code(1)}.pdf": PDF, f"{code(2)}.pdf": PDF})
    path = write_csv(world.tmp / "c.csv", rows(2))
    out, _err = run(str(path), "--fonds", "Z109", "--files", str(archive))
    assert "2 个电子文件" in out


def test_unsafe_zip_fails_with_the_reason(world):
    archive = write_zip(world.tmp / "f.zip", {"../../evil.pdf": PDF})
    path = write_csv(world.tmp / "c.csv", rows(1))
    report = world.tmp / "r.xlsx"
    with pytest.raises(CommandError):
        run(str(path), "--fonds", "Z109", "--files", str(archive), "--report", str(report))
    issues = sheet_rows(report, 1)
    assert issues[1][3] == "文件结构错误" and "电子文件包" in issues[1][5]
    assert not Item.objects.exists()


def test_bad_arguments(world, tmp_path):
    with pytest.raises(CommandError, match="不存在"):
        run(str(tmp_path / "none.csv"), "--fonds", "Z109")
    path = write_csv(tmp_path / "c.csv", rows(1))
    with pytest.raises(CommandError, match="全宗不存在"):
        run(str(path), "--fonds", "Z999")
    with pytest.raises(CommandError, match="单位不存在"):
        run(str(path), "--fonds", "Z109", "--unit", "NOPE")
    other = tmp_path / "c.txt"
    other.write_text("x")
    with pytest.raises(CommandError, match=r"\.xlsx"):
        run(str(other), "--fonds", "Z109")


def test_the_command_is_spelt_with_a_hyphen(capsys):
    from lantai import cli

    with pytest.raises(SystemExit) as caught:
        cli.main(["import-catalog", "--help"])
    assert caught.value.code == 0
    assert "--fonds" in capsys.readouterr().out


def test_neutralise():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("+86") == "'+86"
    assert neutralise("-x") == "'-x"
    assert neutralise("@SUM") == "'@SUM"
    assert neutralise("\tx") == "'\tx"
    assert neutralise("\rx") == "'\rx"
    assert neutralise("关于") == "关于"
    assert neutralise(None) == ""
    assert len(neutralise("x" * 40_000)) == 32_767


def test_report_of_an_unreadable_catalog(world):
    broken = world.tmp / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 broken")
    upload = world.upload(broken)
    from lantai.accession.checks import check_upload

    check_upload(upload)
    dest = write_report_xlsx(upload, world.tmp / "r.xlsx")
    first = sheet_rows(dest, 0)
    assert first[0] == ["检测结果"] and "Excel" in first[1][0]
    assert sheet_rows(dest, 1)[1][3] == "文件结构错误"


def test_a_large_catalog_report_lists_only_rows_with_findings(world, settings):
    settings.LANTAI_REPORT_FULL_ROWS = 2
    path = write_csv(world.tmp / "c.csv", [row(1), row(2, 日期="2011-02-30"), row(3)])
    upload = world.upload(path)
    from lantai.accession.checks import check_upload

    check_upload(upload)
    dest = write_report_xlsx(upload, world.tmp / "r.xlsx")
    catalog_sheet = sheet_rows(dest, 0)
    assert [r[0] for r in catalog_sheet[1:]] == [3]
    assert any("只列出有问题的行" in str(r[1]) for r in sheet_rows(dest, 2))
