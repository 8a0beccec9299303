"""Describing items and volumes: numbering, 档号, validation, immutability, audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from lantai.audit.models import AuditEntry
from lantai.holdings import services
from lantai.holdings.models import Category, Item, NumberSequence, Volume


def errors_of(call, *args) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        call(*args)
    return error.value.message_dict


def test_create_allocates_numbers_and_composes_codes(archivist, item_data):
    first = services.create_item(archivist, item_data())
    second = services.create_item(archivist, item_data(title="第二件"))
    other_year = services.create_item(archivist, item_data(year=2012, title="下一年"))
    assert (first.item_no, second.item_no, other_year.item_no) == (1, 2, 1)
    assert second.reference_code == "Z109-WS·2011-Y-BGS-0002"
    assert other_year.reference_code == "Z109-WS·2012-Y-BGS-0001"
    entry = AuditEntry.objects.filter(object_type="holdings.item", object_id=str(first.pk)).get()
    assert entry.action == "create" and entry.actor_id == archivist.pk
    assert entry.detail["reference_code"] == first.reference_code


def test_codes_resolve_from_strings(archivist, item_data):
    item = services.create_item(
        archivist,
        item_data(
            fonds="Z109",
            category="WS",
            series="BGS",
            date="2011-03-05",
            year="2011",
            retention="永久",
        ),
    )
    assert item.retention == "Y" and item.date.isoformat() == "2011-03-05"
    assert item.reference_code == "Z109-WS·2011-Y-BGS-0001"


def test_numbers_are_never_reused_after_delete(archivist, item_data):
    first = services.create_item(archivist, item_data())
    second = services.create_item(archivist, item_data())
    services.delete_item(archivist, second)
    third = services.create_item(archivist, item_data())
    assert third.item_no == 3  # 档号 …-0002 is never given to another record
    assert AuditEntry.objects.filter(action="delete", object_id=str(second.pk)).exists()
    assert first.item_no == 1


def test_supplied_code_must_agree(archivist, item_data):
    item = services.create_item(archivist, item_data(reference_code="Z109-WS·2011-Y-BGS-0007"))
    assert item.item_no == 7  # the number is read from the code
    errors = errors_of(
        services.create_item, archivist, item_data(reference_code="Z109-WS·2012-Y-BGS-0008")
    )
    assert any("年度" in m and "2012" in m and "2011" in m for m in errors["reference_code"])
    errors = errors_of(
        services.create_item,
        archivist,
        item_data(reference_code="Z109-WS·2011-Y-BGS-0009", item_no=10),
    )
    assert any("件号" in m for m in errors["reference_code"])
    errors = errors_of(
        services.create_item, archivist, item_data(reference_code="Z109-WS·2011-Y-BGS-09")
    )
    assert errors["reference_code"] == ["档号“Z109-WS·2011-Y-BGS-09”中件号应为4位数字（现为“09”）"]
    # Next allocation continues after the highest number in use.
    assert services.create_item(archivist, item_data()).item_no == 8


def test_uniqueness(archivist, item_data):
    services.create_item(archivist, item_data(item_no=3))
    errors = errors_of(services.create_item, archivist, item_data(item_no=3))
    assert errors["item_no"] == ["件号 3 在本范围内已被使用"]
    assert any("已存在" in m for m in errors["reference_code"])


def test_bad_input_collects_every_error_and_saves_nothing(archivist, item_data, fonds):
    items, entries, sequences = (
        Item.objects.count(),
        AuditEntry.objects.count(),
        (NumberSequence.objects.count()),
    )
    errors = errors_of(
        services.create_item,
        archivist,
        item_data(
            date="2011-02-31",
            date_start="2017-02-31",
            title="题" * 501,
            responsible="张三\x07",
            notes="第一行\n第二行\x00",
            keywords="正常\t",
            pages=-1,
            classification="绝密级",
            item_no=0,
            unexpected="x",
        ),
    )
    assert errors["date"] == ["形成日期不存在：2011-02-31（2011年2月只有28天）"]
    assert "2017年2月只有28天" in errors["date_start"][0]
    assert errors["title"] == ["题名不能超过500个字符（现有501个）"]
    assert "控制字符" in errors["responsible"][0]
    assert "控制字符" in errors["notes"][0]
    assert "控制字符" in errors["keywords"][0]  # tab is refused in a single-line field
    assert "页数" in errors["pages"][0]
    assert "密级" in errors["classification"][0]
    assert "件号不能小于1" in errors["item_no"][0]
    assert "unexpected" in errors["__all__"][0]
    assert Item.objects.count() == items
    assert AuditEntry.objects.count() == entries
    assert NumberSequence.objects.count() == sequences


def test_multiline_text_keeps_tabs_and_newlines(archivist, item_data):
    item = services.create_item(archivist, item_data(notes="第一行\r\n\t第二行"))
    assert item.notes == "第一行\r\n\t第二行"


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"fonds": "Z999"}, "fonds", "未知的全宗：Z999"),
        ({"category": "QQ"}, "category", "未知的门类：QQ"),
        ({"series": "DJC"}, "series", "未知的机构(问题)：DJC"),
        ({"retention": "D50"}, "retention", "保管期限“D50”无效"),
        ({"year": 1850}, "year", "年度应在1900至"),
        ({"year": "20a1"}, "year", "年度应为4位数字"),
        ({"title": "  "}, "title", "题名不能为空"),
        ({"fonds": None}, "fonds", "全宗不能为空"),
        ({"date": "2011/03/05"}, "date", "格式不正确"),
        ({"date": "2012-03-05"}, "date", "不在年度 2011 内"),
        ({"date_start": "2011-05-01", "date_end": "2011-04-01"}, "date_end", "早于起始日期"),
        ({"date": "2011-13-01"}, "date", "月份应为1至12"),
        ({"item_no": 10000}, "item_no", "超出4位"),
    ],
)
def test_bad_fields(archivist, item_data, overrides, field, fragment):
    errors = errors_of(services.create_item, archivist, item_data(**overrides))
    assert any(fragment in message for message in errors[field]), errors


def test_series_must_belong_to_the_fonds(archivist, item_data, unit):
    other = services.create_fonds(None, {"code": "X013", "name": "兰台区教育局", "unit": unit})
    foreign = services.create_series(None, {"fonds": other, "code": "JYK", "name": "教育科"})
    errors = errors_of(services.create_item, archivist, item_data(series=foreign))
    assert errors["series"] == ["机构(问题) JYK 不属于全宗 Z109"]


def test_no_series_omits_the_part(archivist, item_data):
    item = services.create_item(archivist, item_data(series=None))
    assert item.reference_code == "Z109-WS·2011-Y-0001"


def test_dat13_scheme_with_chinese_series(archivist, item_data, fonds, ws):
    services.save_scheme(
        archivist,
        {"fonds": fonds, "item_template": "{fonds}-{category}·{year}·{retention}·{series}-{item}"},
    )
    office = services.create_series(archivist, {"fonds": fonds, "code": "办公室", "name": "办公室"})
    item = services.create_item(archivist, item_data(series=office))
    assert item.reference_code == "Z109-WS·2011·Y·办公室-0001"
    again = services.create_item(
        archivist, item_data(series=office, reference_code="Z109-WS·2011·Y·办公室-0002")
    )
    assert again.item_no == 2


def test_items_in_volume(archivist, fonds):
    kj = Category.objects.get(code="KJ")
    base = {"fonds": fonds, "category": kj, "year": 1990, "retention": "Y"}
    volume = services.create_volume(archivist, {**base, "title": "办公楼基建工程"})
    second = services.create_volume(archivist, {**base, "title": "职工宿舍工程"})
    assert second.reference_code == "Z109-KJ·1990-Y-002"
    a = services.create_item(archivist, {**base, "volume": volume, "title": "立项批复"})
    b = services.create_item(archivist, {**base, "volume": volume.pk, "title": "施工图"})
    c = services.create_item(archivist, {**base, "volume": second, "title": "验收"})
    assert (a.item_no, b.item_no, c.item_no) == (1, 2, 1)
    errors = errors_of(
        services.create_item, archivist, {**base, "year": 1991, "volume": volume, "title": "x"}
    )
    assert "年度" in errors["volume"][0]
    errors = errors_of(services.delete_volume, archivist, volume)
    assert errors["__all__"] == ["案卷内还有2件，不能删除"]


def test_permission_is_checked_in_the_service(make_user, item_data):
    keeper = make_user("keeper", "keeper")
    with pytest.raises(PermissionDenied):
        services.create_item(keeper, item_data())
    assert not Item.objects.exists()


def test_update_is_audited_with_changes(archivist, item_data):
    item = services.create_item(archivist, item_data())
    updated = services.update_item(archivist, item, {"title": "新题名", "pages": 3})
    assert updated.title == "新题名" and updated.pages == 3
    entry = AuditEntry.objects.filter(action="update", object_id=str(item.pk)).get()
    assert entry.detail["title"] == ["关于开展档案工作检查的通知", "新题名"]
    assert entry.detail["pages"] == [None, 3]
    assert "reference_code" not in entry.detail


def test_code_and_its_parts_are_immutable_in_the_service(archivist, item_data, fonds):
    item = services.create_item(archivist, item_data())
    other = services.create_series(archivist, {"fonds": fonds, "code": "DJC", "name": "档案局"})
    errors = errors_of(
        services.update_item,
        archivist,
        item,
        {
            "reference_code": "Z109-WS·2011-Y-BGS-0002",
            "year": 2012,
            "retention": "D30",
            "series": other,
            "item_no": 5,
            "category": "KJ",
        },
    )
    assert set(errors) == {"reference_code", "year", "retention", "series", "item_no", "category"}
    assert "一经确定" in errors["year"][0]
    # Unchanged values for frozen fields (as a form re-submits them) are fine.
    same = services.update_item(
        archivist,
        item,
        {
            "year": 2011,
            "retention": "Y",
            "series": item.series,
            "reference_code": item.reference_code,
            "title": "改题名",
        },
    )
    assert same.reference_code == item.reference_code and same.title == "改题名"


def test_update_uses_the_stored_row_not_the_callers_edits(archivist, item_data):
    item = services.create_item(archivist, item_data())
    item.year = 2013  # an unsaved edit on the caller's instance (a ModelForm does this)
    errors = errors_of(services.update_item, archivist, item, {"year": 2013})
    assert "year" in errors
    assert Item.objects.get(pk=item.pk).year == 2011


@pytest.mark.parametrize("model", [Item, Volume])
def test_database_refuses_changing_a_code(archivist, item_data, fonds, model):
    if model is Item:
        obj = services.create_item(archivist, item_data())
    else:
        obj = services.create_volume(
            archivist,
            {"fonds": fonds, "category": "KJ", "year": 1990, "retention": "Y", "title": "卷"},
        )
    for new in ("Z109-XX-0001", None):
        with pytest.raises(IntegrityError), transaction.atomic():
            model.objects.filter(pk=obj.pk).update(reference_code=new)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {model._meta.db_table} SET reference_code = %s WHERE id = %s",  # noqa: S608
            ["Z109-OTHER", obj.pk],
        )
    # Other columns still update, and a row without a code may receive one.
    model.objects.filter(pk=obj.pk).update(title="改")
    assert model.objects.get(pk=obj.pk).reference_code == obj.reference_code
    model.objects.filter(pk=obj.pk).update(reference_code=obj.reference_code)


def test_database_allows_assigning_a_first_code(archivist, item_data):
    item = services.create_item(archivist, item_data())
    Item.objects.filter(pk=item.pk).update(title="t")
    # Simulate a legacy row without a code: insert directly, then give it one.
    legacy = Item.objects.create(
        fonds=item.fonds,
        category=item.category,
        year=2011,
        retention="Y",
        item_no=99,
        title="旧著录",
    )
    Item.objects.filter(pk=legacy.pk).update(reference_code="Z109-WS·2011-Y-0099")
    assert Item.objects.get(pk=legacy.pk).reference_code == "Z109-WS·2011-Y-0099"
