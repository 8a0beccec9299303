"""档号 engine: both standard styles round-trip, errors name the wrong part, schemes resolve."""

from __future__ import annotations

import pytest

from lantai.holdings import refcode, services
from lantai.holdings.models import Category, ReferenceScheme
from lantai.holdings.refcode import ReferenceCodeError, RefParts, compose, parse

DAT22 = "{fonds}-{category}·{year}-{retention}-{series}-{item}"
DAT13 = "{fonds}-{category}·{year}·{retention}·{series}-{item}"
VOLUME = "{fonds}-{category}·{year}-{retention}-{volume}"
VOLUME_ITEM = "{fonds}-{category}·{year}-{retention}-{volume}-{item}"


@pytest.mark.parametrize(
    ("template", "parts", "code"),
    [
        (DAT22, RefParts("Z109", "WS", 2011, "Y", "BGS", item=1), "Z109-WS·2011-Y-BGS-0001"),
        (DAT13, RefParts("Z109", "WS", 2011, "Y", "办公室", item=1), "Z109-WS·2011·Y·办公室-0001"),
        (
            DAT22,
            RefParts("X013", "KJ", 1998, "D30", "基建", item=237),
            "X013-KJ·1998-D30-基建-0237",
        ),
        (DAT13, RefParts("X013", "WS", 2020, "D10", "A01", item=9999), "X013-WS·2020·D10·A01-9999"),
        # Legacy retention codes (长期 C, 短期 D) and no series: the part and its separator go.
        (DAT22, RefParts("Z109", "WS", 1985, "C", item=12), "Z109-WS·1985-C-0012"),
        (DAT13, RefParts("Z109", "WS", 1985, "D", item=12), "Z109-WS·1985·D-0012"),
        (VOLUME, RefParts("Z109", "KJ", 1990, "Y", volume=7), "Z109-KJ·1990-Y-007"),
        (
            VOLUME_ITEM,
            RefParts("Z109", "KJ", 1990, "Y", volume=7, item=3),
            "Z109-KJ·1990-Y-007-0003",
        ),
    ],
)
def test_compose_and_parse_round_trip(template, parts, code):
    assert compose(template, parts) == code
    assert parse(template, code) == parts
    assert compose(template, parse(template, code)) == code


def test_widths_are_configurable():
    parts = RefParts("Z109", "WS", 2011, "Y", "BGS", item=5)
    code = compose(DAT22, parts, item_width=3)
    assert code == "Z109-WS·2011-Y-BGS-005"
    assert parse(DAT22, code, item_width=3) == parts
    with pytest.raises(ReferenceCodeError) as error:
        parse(DAT22, code)
    assert error.value.part == "item"
    assert "件号应为4位数字" in str(error.value)


@pytest.mark.parametrize(
    ("code", "part", "fragment"),
    [
        ("Z109-WS·2011-Y-BGS-001", "item", "件号应为4位数字"),
        ("Z109-WS·2011-Y-BGS-00001", "item", "件号应为4位数字"),
        ("Z109-WS·2011-X-BGS-0001", "retention", "保管期限"),
        ("Z19-WS·2011-Y-BGS-0001", "fonds", "全宗号应为4位"),
        ("Z109-ws·2011-Y-BGS-0001", "category", "门类代码"),
        ("Z109-WS·11-Y-BGS-0001", "year", "年度应为4位数字"),
        ("Z109-WS·2011-Y-B S-0001", "series", "机构(问题)代码"),
        ("Z109-WS-2011-Y-BGS-0001", "structure", "结构不符合规则"),
        ("", "structure", "档号不能为空"),
    ],
)
def test_parse_errors_name_the_part(code, part, fragment):
    with pytest.raises(ReferenceCodeError) as error:
        parse(DAT22, code)
    assert error.value.part == part
    assert fragment in str(error.value)
    assert isinstance(error.value, ValueError)


def test_structure_error_shows_an_example():
    with pytest.raises(ReferenceCodeError) as error:
        parse(DAT13, "Z109-WS·2011-Y-BGS-0001")
    assert "Z109-WS·2011·Y·BGS-0001" in str(error.value)


def test_compose_checks_every_part():
    with pytest.raises(ReferenceCodeError) as error:
        compose(DAT22, RefParts("Z109", "WS", 2011, "Y", "BGS", item=10000))
    assert error.value.part == "item"
    assert "超出4位" in str(error.value)
    with pytest.raises(ReferenceCodeError) as error:
        compose(DAT22, RefParts("Z109", "WS", 2011, "Y", "B-S", item=1))
    assert error.value.part == "series"
    with pytest.raises(ReferenceCodeError) as error:
        compose(DAT22, RefParts("Z109", "WS", 2011, "Y", "BGS"))
    assert error.value.part == "item"


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{fonds}-{cat}-{item}", "未知的占位符"),
        ("{fonds}{item}", "必须有分隔符"),
        ("{fonds}-{item}-{item}", "重复"),
        ("{fonds}A{item}", "不能含字母"),
        ("档号", "没有任何占位符"),
    ],
)
def test_bad_templates(template, fragment):
    with pytest.raises(ReferenceCodeError) as error:
        refcode.tokenize(template)
    assert error.value.part == "template"
    assert fragment in str(error.value)


@pytest.mark.django_db
def test_default_scheme_and_categories_are_seeded():
    default = ReferenceScheme.objects.get(fonds=None, category=None)
    assert default.item_template == DAT22
    codes = set(Category.objects.values_list("code", flat=True))
    assert {"WS", "KJ", "RS", "KU", "ZY", "ZP", "LY", "LX", "SJ", "YJ", "WY", "MT", "SW"} <= codes
    assert {"HY", "ZG", "ZC", "SB", "XJ", "YL", "KS"} <= codes
    marriage = Category.objects.get(code="HY")
    assert marriage.livelihood and marriage.parent.code == "ZY"
    assert Category.objects.get(code="KS").parent is None
    assert Category.objects.get(code="WS").arrangement == "item"


def test_most_specific_scheme_wins(fonds, ws):
    kj = Category.objects.get(code="KJ")
    default = refcode.scheme_for(fonds, ws)
    assert default.fonds_id is None and default.category_id is None
    by_category = services.save_scheme(None, {"category": ws, "item_template": DAT13})
    assert refcode.scheme_for(fonds, ws).pk == by_category.pk
    by_fonds = services.save_scheme(None, {"fonds": fonds, "item_template": DAT13})
    assert refcode.scheme_for(fonds, kj).pk == by_fonds.pk
    assert refcode.scheme_for(fonds, ws).pk == by_fonds.pk  # fonds before category
    both = services.save_scheme(None, {"fonds": fonds, "category": ws, "item_template": DAT22})
    assert refcode.scheme_for(fonds.pk, ws.pk).pk == both.pk
    assert refcode.scheme_for(None, kj).pk == default.pk


def test_scheme_cache_is_cheap_and_invalidated_on_save(fonds, ws, django_assert_num_queries):
    refcode.scheme_for(fonds, ws)
    with django_assert_num_queries(0):
        for _ in range(100):
            refcode.scheme_for(fonds, ws)
    scheme = ReferenceScheme.objects.get(fonds=None, category=None)
    scheme.item_template = DAT13
    scheme.save()
    assert refcode.scheme_for(fonds, ws).item_template == DAT13


def test_check_agreement(item_data, archivist):
    item = services.create_item(archivist, item_data())
    assert item.reference_code == "Z109-WS·2011-Y-BGS-0001"
    assert refcode.check_agreement(item.reference_code, item) == []
    problems = refcode.check_agreement("Z109-WS·2012-D30-BGS-0002", item)
    assert len(problems) == 3
    assert any("年度" in p and "2012" in p for p in problems)
    assert any("保管期限" in p for p in problems)
    assert any("件号" in p for p in problems)
    unknown = refcode.check_agreement("Z999-WS·2011-Y-BGS-0001", item)
    assert unknown == ["档号中的全宗号 Z999 不存在"]
    assert refcode.check_agreement("Z109-WS·2011-Y-BGS-01", item)[0].count("件号应为4位数字")
    assert "机构(问题)代码" in refcode.check_agreement("Z109-WS·2011-Y-DJC-0001", item)[0]


def test_code_for_volume_and_items_inside(fonds, archivist):
    kj = Category.objects.get(code="KJ")
    volume = services.create_volume(
        archivist,
        {"fonds": fonds, "category": kj, "year": 1990, "retention": "Y", "title": "办公楼基建工程"},
    )
    assert volume.volume_no == 1
    assert volume.reference_code == refcode.code_for_volume(volume) == "Z109-KJ·1990-Y-001"
    inside = services.create_item(
        archivist,
        {
            "fonds": fonds,
            "category": kj,
            "year": 1990,
            "retention": "Y",
            "volume": volume,
            "title": "施工图",
        },
    )
    assert inside.reference_code == refcode.code_for_item(inside) == "Z109-KJ·1990-Y-001-0001"
    assert refcode.check_agreement(inside.reference_code, inside) == []
