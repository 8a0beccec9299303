"""The check engine: every problem of a catalog at once, with row, column, value and reason."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings as django_settings

from accession.catalog_world import *  # noqa: F403
from accession.catalog_world import (
    HEADERS,
    PDF,
    code,
    real_image,
    row,
    rows,
    write_csv,
    write_xlsx,
    write_zip,
)
from lantai.accession.checks import check_upload
from lantai.accession.models import BatchIssue, IssueKind, Severity


def issues(upload, kind=None):
    found = BatchIssue.objects.filter(upload=upload).order_by("row", "id")
    if kind:
        found = found.filter(kind=kind)
    return list(found)


def test_a_good_catalog_has_no_issues(world):
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(5)))
    summary = check_upload(upload)
    assert summary["rows"] == 5
    assert summary["items"] == 5
    assert summary["volumes"] == 0
    assert summary["errors"] == summary["warnings"] == 0
    assert summary["by_kind"] == {}
    assert summary["kind"] == "item"
    upload.refresh_from_db()
    assert upload.summary["rows"] == 5
    assert upload.encoding == "utf-8"
    assert upload.mapping["档号"] == "reference_code"


def test_every_kind_of_error_at_once(world):
    world.item(3)  # Z109-WS·2011-Y-BGS-0003 is already in holdings
    data = [
        row(1, 题名=""),  # row 2: required
        row(2, 日期="20110230"),  # row 3: impossible date
        row(3),  # row 4: duplicate against holdings
        row(4, 档号="Z109-WS-2011-Y-BGS-4"),  # row 5: malformed 档号
        row(5, 年度="2012"),  # row 6: 档号 disagrees with 年度
        row(6),  # row 7
        row(6),  # row 8: duplicate within the batch
        row(7, 机构问题="XYZ", 档号=""),  # row 9: unknown series
        row(8, 保管期限="很久"),  # row 10: bad value
        row(9, 题名="通知\x0b附件"),  # row 11: control character
        row(10, 题名="=HYPERLINK(1)"),  # row 12: formula text
        row(11, 题名="长" * 501),  # row 13: too long
        row(14),  # row 14: gap (12, 13 missing)
    ]
    upload = world.upload(write_csv(world.tmp / "bad.csv", data))
    summary = check_upload(upload)
    found = {(i.row, i.kind) for i in issues(upload)}
    assert (2, IssueKind.REQUIRED) in found
    assert (3, IssueKind.DATE) in found
    assert (4, IssueKind.DUPLICATE_HOLDINGS) in found
    assert (5, IssueKind.REFCODE) in found
    assert (6, IssueKind.MISMATCH) in found
    assert (8, IssueKind.DUPLICATE_BATCH) in found
    assert (9, IssueKind.UNKNOWN_CODE) in found
    assert (10, IssueKind.VALUE) in found
    assert (11, IssueKind.CONTROL_CHARS) in found
    assert (12, IssueKind.FORMULA) in found
    assert (13, IssueKind.TOO_LONG) in found
    assert (14, IssueKind.GAP) in found
    assert summary["errors"] == sum(1 for i in issues(upload) if i.severity == Severity.ERROR)
    # Row, column, value and a reason a person understands.
    date = issues(upload, IssueKind.DATE)[0]
    assert (date.column, date.value) == ("日期", "20110230")
    assert "2月只有28天" in date.message
    required = issues(upload, IssueKind.REQUIRED)[0]
    assert required.column == "题名" and "不能为空" in required.message
    dup = issues(upload, IssueKind.DUPLICATE_BATCH)[0]
    assert "第7行" in dup.message and dup.value == code(6)
    held = issues(upload, IssueKind.DUPLICATE_HOLDINGS)[0]
    assert "已在馆藏中" in held.message
    mismatch = issues(upload, IssueKind.MISMATCH)[0]
    assert "年度" in mismatch.message and "2011" in mismatch.message
    gap = issues(upload, IssueKind.GAP)[0]
    assert "12–13" in gap.message and gap.column == "件号"
    unknown = issues(upload, IssueKind.UNKNOWN_CODE)[0]
    assert unknown.column == "机构问题" and unknown.value == "XYZ"
    assert summary["by_kind"][IssueKind.DATE] == 2  # row 3, and row 6 (日期 not in 年度 2012)


def test_refcode_parts_come_from_the_refcode_when_columns_are_missing(world):
    headers = ["档号", "题名", "日期"]
    data = [[code(n), f"第{n}件", f"2011-03-0{n}"] for n in (1, 2)]
    upload = world.upload(write_csv(world.tmp / "c.csv", data, headers=headers))
    summary = check_upload(upload)
    assert summary["errors"] == 0, [i.message for i in issues(upload)]
    assert summary["items"] == 2


def test_missing_parts_without_a_refcode_are_required(world):
    upload = world.upload(
        write_csv(world.tmp / "c.csv", [["某通知", "办公室"]], headers=["题名", "责任者"])
    )
    check_upload(upload)
    missing = {i.column for i in issues(upload, IssueKind.REQUIRED)}
    assert {"门类", "年度", "保管期限", "件号"} <= missing


def test_unknown_category_and_fonds(world):
    headers = [*HEADERS, "门类", "全宗号"]
    data = [[*row(1), "XX", "Z109"], [*row(2), "文书档案", "Z999"]]
    upload = world.upload(write_csv(world.tmp / "c.csv", data, headers=headers))
    check_upload(upload)
    assert [(i.row, i.column) for i in issues(upload, IssueKind.UNKNOWN_CODE)] == [(2, "门类")]
    mismatch = issues(upload, IssueKind.MISMATCH)
    assert [(i.row, i.column, i.value) for i in mismatch] == [(3, "全宗号", "Z999")]


def test_gap_against_holdings(world):
    world.item(1)
    world.item(2)
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(2, start=5)))
    check_upload(upload)
    gap = issues(upload, IssueKind.GAP)
    assert len(gap) == 1
    assert "3–4" in gap[0].message and "馆藏中该范围已有件号至2" in gap[0].message


def test_a_batch_continuing_holdings_has_no_gap(world):
    world.item(1)
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(2, start=2)))
    assert check_upload(upload)["errors"] == 0


def test_dates_in_the_forms_catalogs_use(world):
    data = [
        row(1, 日期="2011-03-01"),
        row(2, 日期="2011/3/2"),
        row(3, 日期="2011.03.03"),
        row(4, 日期="2011年3月4日"),
        row(5, 日期="20110300"),  # unknown day: a warning, not an error
        row(6, 日期="2010-12-31"),  # not in 年度 2011
        row(7, 日期="三月"),
    ]
    upload = world.upload(write_csv(world.tmp / "c.csv", data))
    check_upload(upload)
    dates = issues(upload, IssueKind.DATE)
    assert [(i.row, i.severity) for i in dates] == [
        (6, Severity.WARNING),
        (7, Severity.ERROR),
        (8, Severity.ERROR),
    ]
    assert "不在年度 2011 内" in dates[1].message
    assert "格式不正确" in dates[2].message


def test_line_breaks_in_cells_are_spaces_not_errors(world):
    upload = world.upload(write_csv(world.tmp / "c.csv", [row(1, 题名="关于\n开展检查的通知")]))
    assert check_upload(upload)["errors"] == 0


def test_classified_rows_warn(world):
    headers = [*HEADERS, "密级"]
    upload = world.upload(write_csv(world.tmp / "c.csv", [[*row(1), "秘密"]], headers=headers))
    summary = check_upload(upload)
    assert summary["errors"] == 0 and summary["warnings"] == 1


def test_formula_cells_in_xlsx(world):
    path = write_xlsx(world.tmp / "f.xlsx", rows(3), formulas=[(1, 2, '="a"&"b"')])
    upload = world.upload(path)
    check_upload(upload)
    formula = issues(upload, IssueKind.FORMULA)
    assert [(i.row, i.column) for i in formula] == [(3, "题名")]


def test_structure_problems_become_issues_not_exceptions(world):
    header_only = world.upload(write_csv(world.tmp / "h.csv", []))
    summary = check_upload(header_only)
    assert summary["errors"] == 1 and summary["rows"] == 0
    issue = issues(header_only)[0]
    assert issue.kind == IssueKind.STRUCTURE and "只有表头" in issue.message
    corrupt = world.tmp / "c.xlsx"
    corrupt.write_bytes(b"PK\x03\x04garbage")
    assert check_upload(world.upload(corrupt))["by_kind"] == {IssueKind.STRUCTURE: 1}


def test_a_new_check_replaces_the_previous_issues(world):
    path = write_csv(world.tmp / "c.csv", [row(1, 题名="")])
    upload = world.upload(path)
    check_upload(upload)
    check_upload(upload)
    assert len(issues(upload)) == 1


def test_tens_of_thousands_of_errors(world, settings):
    settings.LANTAI_CATALOG_MAX_ISSUES = 5_000
    data = [
        row(n, 档号=code(n, series=series), 机构问题=series, 日期="20110231")
        for series in ("BGS", "CWK")
        for n in range(1, 10_000)
    ]
    upload = world.upload(write_csv(world.tmp / "many.csv", data))
    summary = check_upload(upload)
    assert summary["rows"] == 19_998
    assert summary["errors"] == 19_998
    stored = BatchIssue.objects.filter(upload=upload)
    assert stored.filter(kind=IssueKind.DATE).count() == 5_000
    note = stored.get(kind=IssueKind.STRUCTURE)
    assert "另有 14998 条未列出" in note.message


def test_mapping_saved_for_the_unit_is_used(world):
    from lantai.accession.models import ColumnMapping

    headers = ["文件题目", "档号"]
    ColumnMapping.objects.create(unit=world.unit, name="本单位", mapping={"文件题目": "title"})
    data = [[f"第{n}件", code(n)] for n in (1, 2)]
    upload = world.upload(write_csv(world.tmp / "c.csv", data, headers=headers))
    summary = check_upload(upload)
    assert summary["errors"] == 0, [i.message for i in issues(upload)]


# --- files ----------------------------------------------------------------------------------


def files_zip(world, entries: dict[str, bytes]) -> Path:
    return write_zip(world.tmp / "files.zip", entries)


def test_files_named_by_refcode(world):
    archive = files_zip(
        world,
        {
            f"{code(1)}.pdf": PDF,  # a file named by the 档号
            f"{code(2)}/page-001.jpg": real_image("JPEG", (1, 1, 1)),  # a folder named by it
            f"{code(2)}/page-002.jpg": real_image("JPEG", (2, 2, 2)),
            "Thumbs.db": b"junk",  # ignored
            "stray.pdf": PDF,  # no row references it
            f"{code(3)}.pdf": b"",  # empty
        },
    )
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(4)), files=archive)
    summary = check_upload(upload)
    assert summary["files"] == 4
    unreferenced = issues(upload, IssueKind.FILE_UNREFERENCED)
    assert [i.value for i in unreferenced] == ["stray.pdf"]
    unreadable = issues(upload, IssueKind.FILE_UNREADABLE)
    assert [(i.row, i.value) for i in unreadable] == [(4, f"{code(3)}.pdf")]
    assert "为空" in unreadable[0].message
    missing = issues(upload, IssueKind.FILE_MISSING)
    assert [(i.row, i.severity) for i in missing] == [(5, Severity.WARNING)]
    # Extracted into the batch's own folder.
    from lantai.accession.catalog import batch_dir

    extracted = batch_dir(world.batch) / f"files-{upload.pk}"
    assert (extracted / f"{code(1)}.pdf").read_bytes() == PDF


def test_file_column_and_damaged_files(world):
    headers = [*HEADERS, "电子文件", "载体"]
    data = [
        [*row(1), "scan/one.pdf", "电子"],
        [*row(2), "scan/missing.pdf", "电子"],
        [*row(3), "", "电子"],  # electronic without a file: an error
        [*row(4), "scan/fake.pdf", "纸质"],
    ]
    archive = files_zip(world, {"scan/one.pdf": PDF, "scan/fake.pdf": b"GIF89a not a pdf"})
    upload = world.upload(write_csv(world.tmp / "c.csv", data, headers=headers), files=archive)
    check_upload(upload)
    missing = issues(upload, IssueKind.FILE_MISSING)
    assert [(i.row, i.value, i.severity) for i in missing] == [
        (3, "scan/missing.pdf", Severity.ERROR),
        (4, code(3), Severity.ERROR),
    ]
    damaged = issues(upload, IssueKind.FILE_UNREADABLE)
    assert [(i.row, i.value) for i in damaged] == [(5, "scan/fake.pdf")]
    assert "扩展名" in damaged[0].message


def test_file_column_without_files(world):
    headers = [*HEADERS, "电子文件"]
    upload = world.upload(write_csv(world.tmp / "c.csv", [[*row(1), "a.pdf"]], headers=headers))
    check_upload(upload)
    assert [i.kind for i in issues(upload)] == [IssueKind.FILE_MISSING]


def test_unsafe_archives_are_refused_and_nothing_is_written_outside(world, tmp_path):
    outside = Path(django_settings.DATA_DIR) / "escaped.pdf"
    for name in ("../escaped.pdf", "/etc/escaped.pdf", "C:/escaped.pdf", "a/../../escaped.pdf"):
        archive = files_zip(world, {name: PDF, f"{code(1)}.pdf": PDF})
        upload = world.upload(write_csv(world.tmp / "c.csv", rows(1)), files=archive)
        summary = check_upload(upload)
        structure = issues(upload, IssueKind.STRUCTURE)
        assert summary["errors"] == 1 and len(structure) == 1, name
        assert "电子文件包" in structure[0].message
        assert not outside.exists()
        assert not (tmp_path.parent / "escaped.pdf").exists()


def test_a_zip_bomb_of_files_is_refused(world, settings):
    settings.LANTAI_ZIP_MAX_RATIO = 100
    archive = files_zip(world, {f"{code(1)}.pdf": b"%PDF-" + b"\0" * (32 << 20)})
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(1)), files=archive)
    summary = check_upload(upload)
    assert summary["by_kind"] == {IssueKind.STRUCTURE: 1}
    from lantai.accession.catalog import batch_dir

    assert not (batch_dir(world.batch) / f"files-{upload.pk}").exists()


def test_a_folder_of_files(world):
    folder = world.tmp / "scans"
    (folder / code(1)).mkdir(parents=True)
    (folder / code(1) / "1.pdf").write_bytes(PDF)
    (folder / f"{code(2)}.pdf").write_bytes(PDF)
    upload = world.upload(write_csv(world.tmp / "c.csv", rows(2)), files=folder)
    summary = check_upload(upload)
    assert summary["errors"] == summary["warnings"] == 0
    assert summary["files"] == 2


# --- volumes --------------------------------------------------------------------------------


def test_volume_catalog(world):
    headers = ["档号", "案卷号", "案卷题名", "年度", "保管期限", "起始日期", "终止日期"]
    data = [
        ["Z109-KJ·2011-Y-001", "1", "某工程竣工资料", "2011", "永久", "2011-01-01", "2011-06-30"],
        ["Z109-KJ·2011-Y-002", "2", "某工程监理资料", "2011", "永久", "2011-07-01", "2011-03-01"],
        ["Z109-KJ·2011-Y-004", "4", "某工程审计资料", "2011", "永久", "", ""],
    ]
    upload = world.upload(write_csv(world.tmp / "v.csv", data, headers=headers))
    summary = check_upload(upload)
    assert summary["kind"] == "volume"
    found = {(i.row, i.kind) for i in issues(upload)}
    assert found == {(3, IssueKind.DATE), (4, IssueKind.GAP)}
    assert "案卷号" in issues(upload, IssueKind.GAP)[0].message


def test_volume_items_catalog(world):
    headers = ["案卷号", "卷内顺序号", "题名", "案卷题名", "年度", "保管期限", "门类", "日期"]
    data = [
        ["1", "1", "开工报告", "某工程竣工资料", "2011", "永久", "KJ", "2011-01-05"],
        ["1", "2", "竣工报告", "某工程竣工资料", "2011", "永久", "KJ", "2011-06-05"],
        ["2", "1", "监理日志", "", "2011", "永久", "KJ", "2011-07-05"],
        ["1", "4", "验收报告", "某工程竣工资料", "2011", "永久", "KJ", "2011-06-25"],
    ]
    upload = world.upload(write_csv(world.tmp / "vi.csv", data, headers=headers))
    summary = check_upload(upload)
    assert summary["kind"] == "volume_items"
    found = {(i.row, i.kind) for i in issues(upload)}
    # Volume 2 is neither in holdings nor given a title; volume 1 lacks 件号 3.
    assert found == {(4, IssueKind.UNKNOWN_CODE), (5, IssueKind.GAP)}
    assert summary["volumes"] == 1


def test_a_volume_catalog_cannot_bring_files(world):
    headers = ["档号", "案卷号", "案卷题名", "年度", "保管期限"]
    data = [["Z109-KJ·2011-Y-001", "1", "某工程竣工资料", "2011", "永久"]]
    archive = files_zip(world, {"Z109-KJ·2011-Y-001.pdf": PDF})
    upload = world.upload(write_csv(world.tmp / "v.csv", data, headers=headers), files=archive)
    summary = check_upload(upload)
    assert summary["by_kind"] == {IssueKind.STRUCTURE: 1}
    assert "案卷目录不能附带电子文件" in issues(upload)[0].message


def test_symlinks_and_devices_in_the_files_zip_are_refused(world):
    import stat
    import zipfile

    for mode, name in ((stat.S_IFLNK | 0o777, "link.pdf"), (stat.S_IFCHR | 0o644, "dev.pdf")):
        archive = world.tmp / "files.zip"
        with zipfile.ZipFile(archive, "w") as out:
            out.writestr(f"{code(1)}.pdf", PDF)
            info = zipfile.ZipInfo(name)
            info.create_system = 3  # Unix: the mode is in the high bits of external_attr
            info.external_attr = mode << 16
            out.writestr(info, "/etc/passwd")
        upload = world.upload(write_csv(world.tmp / "c.csv", rows(1)), files=archive)
        summary = check_upload(upload)
        assert summary["by_kind"] == {IssueKind.STRUCTURE: 1}, name
        assert name in issues(upload)[0].message


def test_an_overlong_xlsx_cell_is_reported(world):
    import zipfile

    good = write_xlsx(world.tmp / "good.xlsx", rows(2))
    crafted = world.tmp / "long.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(crafted, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/sharedStrings.xml":
                title = "关于2011年第2项工作的通知".encode()
                data = data.replace(title, "长".encode() * 40_000)
            out.writestr(info.filename, data)
    upload = world.upload(crafted)
    check_upload(upload)
    too_long = issues(upload, IssueKind.TOO_LONG)
    assert [(i.row, i.column) for i in too_long] == [(3, "题名"), (3, "题名")]
    assert "32767" in too_long[0].message and "500" in too_long[1].message
