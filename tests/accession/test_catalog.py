"""Reading catalogs: formats, encodings, headers, mappings and broken files."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest
from django.core.exceptions import ValidationError

from accession.catalog_world import *  # noqa: F403
from accession.catalog_world import HEADERS, row, rows, write_csv, write_xls, write_xlsx
from lantai.accession.catalog import (
    FIELDS,
    CatalogError,
    clean_mapping,
    detect_encoding,
    peek_headers,
    read_catalog,
    recognise_headers,
)


def test_common_chinese_headers_are_recognised():
    mapping = recognise_headers(
        [
            "序号",
            "档号",
            "题名",
            "责任者",
            "文号",
            "成文日期",
            "页数",
            "保管期限",
            "密级",
            "备注",
            "年度",
            "机构（问题）*",
            "件号",
            "案卷号",
            "全宗号",
            "门类代码",
            "电子文件名",
        ]
    )
    assert mapping == {
        "档号": "reference_code",
        "题名": "title",
        "责任者": "responsible",
        "文号": "doc_number",
        "成文日期": "date",
        "页数": "pages",
        "保管期限": "retention",
        "密级": "classification",
        "备注": "notes",
        "年度": "year",
        "机构（问题）*": "series",
        "件号": "item_no",
        "案卷号": "volume_no",
        "全宗号": "fonds",
        "门类代码": "category",
        "电子文件名": "file",
    }
    # Every target is a field the mapping screen offers.
    assert set(mapping.values()) <= set(FIELDS)
    assert all(str(spec.label) for spec in FIELDS.values())


def test_fields_say_what_is_required():
    required = {name for name, spec in FIELDS.items() if spec.required}
    assert {"title", "year", "retention", "category", "item_no"} <= required
    assert "notes" not in required


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_in_every_encoding_reads_the_same(tmp_path, encoding):
    data = rows(3)
    path = write_csv(tmp_path / "c.csv", data, encoding=encoding)
    catalog = read_catalog(path)
    expected = "utf-16" if encoding == "utf-16" else encoding
    if encoding == "gbk":
        expected = "gb18030"  # GB18030 is the superset GBK files are read with
    assert catalog.encoding == expected
    got = list(catalog.iter_rows())
    assert [number for number, _ in got] == [2, 3, 4]
    assert got[0][1]["title"] == "关于2011年第1项工作的通知"
    assert got[0][1]["reference_code"] == "Z109-WS·2011-Y-BGS-0001"
    assert catalog.kind == "item"


def test_gb18030_only_characters(tmp_path):
    # 䶮 (U+4DAE) is outside GBK: Excel's "GB18030" CSV has it.
    path = write_csv(tmp_path / "c.csv", [row(1, 题名="刘䶮研究资料")], encoding="gb18030")
    assert detect_encoding(path) == "gb18030"
    assert next(read_catalog(path).iter_rows())[1]["title"] == "刘䶮研究资料"


def test_mixed_encodings_are_refused_naming_the_lines(tmp_path):
    path = tmp_path / "mixed.csv"
    head = ",".join(HEADERS).encode("utf-8") + b"\r\n"
    utf8 = ",".join(row(1)).encode("utf-8") + b"\r\n"
    gbk = ",".join(row(2)).encode("gbk") + b"\r\n"
    path.write_bytes(head + utf8 + gbk)
    with pytest.raises(CatalogError) as caught:
        read_catalog(path)
    assert "混用" in caught.value.message
    assert "第1行" in caught.value.message and "第3行" in caught.value.message


def test_undecodable_bytes_are_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(",".join(HEADERS).encode() + b"\r\n\xff\xff\xff,\x81\r\n")
    with pytest.raises(CatalogError, match="编码无法识别"):
        read_catalog(path)


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CatalogError, match="空文件"):
        read_catalog(empty)
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"\r\n ,, \r\n")
    with pytest.raises(CatalogError, match="没有任何内容"):
        read_catalog(blank)
    header_only = write_csv(tmp_path / "header.csv", [])
    with pytest.raises(CatalogError, match="只有表头") as caught:
        read_catalog(header_only)
    assert caught.value.row == 1
    header_only_xlsx = write_xlsx(tmp_path / "header.xlsx", [])
    with pytest.raises(CatalogError, match="只有表头"):
        read_catalog(header_only_xlsx)


def test_unrecognisable_headers(tmp_path):
    path = write_csv(tmp_path / "x.csv", [["1", "2"]], headers=["甲", "乙"])
    with pytest.raises(CatalogError, match="找不到表头") as caught:
        read_catalog(path)
    assert "甲" in caught.value.message


def test_peek_headers_for_the_mapping_editor(tmp_path):
    # Unrecognised names: the first non-empty row, as the unit wrote it.
    path = write_csv(tmp_path / "x.csv", [["1", "2"]], headers=["甲", "乙"])
    assert peek_headers(path) == ["甲", "乙"]
    # Recognised names below a title row: the header row, not the title.
    xlsx = write_xlsx(tmp_path / "t.xlsx", rows(3), title_row="归档文件目录")
    assert peek_headers(xlsx) == HEADERS
    # A name the unit's mapping knows counts towards finding the header row.
    odd = write_xlsx(
        tmp_path / "odd.xlsx", [["a", "b", "c"]], headers=["编码", "名称", "备考"], title_row="目录"
    )
    assert peek_headers(odd) == ["目录"]
    assert peek_headers(odd, mapping={"编码": "reference_code", "名称": "title"}) == [
        "编码", "名称", "备考",
    ]  # fmt: skip
    # A file that is no workbook still says so.
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    with pytest.raises(CatalogError, match="Excel"):
        peek_headers(broken)


def test_xlsx_with_a_title_row_numbers_and_dates(tmp_path):
    data = [row(1), row(2)]
    data[0][HEADERS.index("页数")] = 12  # a number cell
    data[0][HEADERS.index("日期")] = dt.date(2011, 3, 5)  # a date cell
    path = tmp_path / "c.xlsx"
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_string(0, 0, "归档文件目录")
    sheet.write_row(1, 0, HEADERS)
    for r, values in enumerate(data, 2):
        for c, value in enumerate(values):
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime(2011, 3, 5), date_format)
            else:
                sheet.write(r, c, value)
    workbook.close()
    catalog = read_catalog(path)
    assert catalog.header_row == 2
    got = list(catalog.iter_rows())
    assert got[0][0] == 3
    assert got[0][1]["pages"] == "12"
    assert got[0][1]["date"] == "2011-03-05"
    assert got[0][1]["item_no"] == "1"


def test_streaming_xlsx_reader_gives_the_same_rows(tmp_path, settings):
    data = rows(30)
    data[3][HEADERS.index("页数")] = 7
    path = write_xlsx(tmp_path / "c.xlsx", data, formulas=[(5, 6, "=1+1")])
    fast = read_catalog(path)
    fast_rows = list(fast.iter_rows())
    settings.LANTAI_CATALOG_CALAMINE_MAX_ROWS = 0  # force the streaming reader
    stream = read_catalog(path)
    stream_rows = list(stream.iter_rows())
    assert stream_rows == fast_rows
    assert stream.cell_flags == fast.cell_flags == {(7, "页数"): "formula"}


def test_formula_cells_are_flagged(tmp_path):
    path = write_xlsx(tmp_path / "f.xlsx", rows(3), formulas=[(1, 2, '="关于"&"通知"')])
    catalog = read_catalog(path)
    list(catalog.iter_rows())
    assert catalog.cell_flags == {(3, "题名"): "formula"}


def _workbook_with_a_sheet_before(path, first: str, *, xls: bool = False):
    """A catalog on the second sheet, after an empty sheet or a "填写说明" sheet; row 3's
    题名 is a formula (.xlsx)."""
    if xls:
        import xlwt

        book = xlwt.Workbook(encoding="utf-8")
        notes = book.add_sheet("填写说明")
        if first == "notes":
            notes.write(0, 0, "请按下表填写归档文件目录")
        sheet = book.add_sheet("归档文件目录")
        for c, header in enumerate(HEADERS):
            sheet.write(0, c, header)
        for r, values in enumerate(rows(3), 1):
            for c, value in enumerate(values):
                sheet.write(r, c, value)
        book.save(str(path))
        return path
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    notes = book.add_worksheet("填写说明")
    if first == "notes":
        notes.write_string(0, 0, "请按下表填写归档文件目录")
        notes.write_string(1, 0, "日期写成 20110301，保管期限写永久、30年或10年")
    sheet = book.add_worksheet("归档文件目录")
    sheet.write_row(0, 0, HEADERS)
    for r, values in enumerate(rows(3), 1):
        sheet.write_row(r, 0, values)
    sheet.write_formula(2, 2, '="关于"&"通知"', None, "关于通知")
    book.close()
    return path


@pytest.mark.parametrize("first", ["empty", "notes"])
@pytest.mark.parametrize("streaming", [False, True])
def test_the_catalog_sheet_is_found_behind_other_sheets(tmp_path, settings, first, streaming):
    if streaming:
        settings.LANTAI_CATALOG_CALAMINE_MAX_ROWS = 0
    path = _workbook_with_a_sheet_before(tmp_path / "two.xlsx", first)
    catalog = read_catalog(path)
    got = list(catalog.iter_rows())
    assert catalog.sheet == "归档文件目录"
    assert [r[1]["reference_code"] for r in got] == [row(n)[0] for n in (1, 2, 3)]
    # The formula is found on the sheet that is read, not on the first one.
    assert catalog.cell_flags == {(3, "题名"): "formula"}
    assert peek_headers(path) == HEADERS
    xls = _workbook_with_a_sheet_before(tmp_path / "two.xls", first, xls=True)
    assert len(list(read_catalog(xls).iter_rows())) == 3
    assert peek_headers(xls) == HEADERS


def test_xls_is_read(tmp_path):
    path = write_xls(tmp_path / "c.xls", rows(2))
    catalog = read_catalog(path)
    assert catalog.format == "xls"
    got = list(catalog.iter_rows())
    assert len(got) == 2 and got[1][1]["reference_code"] == "Z109-WS·2011-Y-BGS-0002"


def test_corrupted_workbooks_are_refused(tmp_path):
    good = write_xlsx(tmp_path / "good.xlsx", rows(50))
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[:-2000])
    with pytest.raises(CatalogError, match="Excel"):
        read_catalog(truncated)
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"this is not a workbook at all" * 10)
    with pytest.raises(CatalogError, match="不是有效的 Excel"):
        read_catalog(garbage)
    fake_xls = tmp_path / "fake.xls"
    fake_xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(CatalogError, match="Excel"):
        read_catalog(fake_xls)
    no_sheet = tmp_path / "nosheet.xlsx"
    with zipfile.ZipFile(no_sheet, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(CatalogError, match="Excel"):
        read_catalog(no_sheet)


def test_an_xlsx_zip_bomb_is_refused_before_reading(tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    good = write_xlsx(tmp_path / "good.xlsx", rows(2))
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b"</sheetData>" + b" " * (64 << 20))
            out.writestr(info.filename, data)
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(CatalogError, match="压缩炸弹"):
        read_catalog(bomb)


def test_a_huge_csv_cell_stops_with_a_clear_error(tmp_path):
    # A 100 MB cell: the reader refuses it at its limit instead of holding it.
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.write(",".join(HEADERS).encode() + b"\r\n")
        handle.write(",".join(row(1)).encode() + b"\r\n")
        handle.write(b"Z109-WS\xc2\xb72011-Y-BGS-0002,2,")
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            handle.write(chunk)
        handle.write(b",a,b,c,1,Y,2011,BGS\r\n")
    catalog = read_catalog(path)
    with pytest.raises(CatalogError, match="第3行") as caught:
        list(catalog.iter_rows())
    assert caught.value.row == 3


def test_hand_mapping_overrides_and_is_checked(tmp_path):
    headers = ["文件题目", "档号", "备考"]
    path = write_csv(
        tmp_path / "m.csv", [["某通知", "Z109-WS·2011-Y-BGS-0001", "无"]], headers=headers
    )
    catalog = read_catalog(path, mapping={"文件题目": "title", "备考": "notes"})
    assert catalog.mapping == {"文件题目": "title", "档号": "reference_code", "备考": "notes"}
    assert next(catalog.iter_rows())[1] == {
        "title": "某通知",
        "reference_code": "Z109-WS·2011-Y-BGS-0001",
        "notes": "无",
    }
    # A column can be ignored by mapping it to "".
    catalog = read_catalog(path, mapping={"文件题目": "title", "备考": ""})
    assert "notes" not in catalog.fields
    with pytest.raises(ValidationError) as caught:
        clean_mapping({"a": "nonsense"})
    assert "nonsense" in caught.value.messages[0]
    with pytest.raises(ValidationError):
        clean_mapping({"a": "title", "b": "title"})


def test_kinds_are_detected(tmp_path):
    volumes = write_csv(
        tmp_path / "v.csv",
        [["1", "2011", "Y", "某卷"]],
        headers=["案卷号", "年度", "保管期限", "案卷题名"],
    )
    catalog = read_catalog(volumes)
    assert catalog.kind == "volume"
    assert catalog.mapping["案卷题名"] == "title"
    inside = write_csv(
        tmp_path / "vi.csv", [["1", "1", "某件"]], headers=["案卷号", "卷内顺序号", "题名"]
    )
    assert read_catalog(inside).kind == "volume_items"
