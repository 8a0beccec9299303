"""Code tables: units, fonds, series, categories and 档号 rules, with permission and audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings

from lantai.audit.models import AuditEntry
from lantai.holdings import services
from lantai.holdings.models import Fonds


def errors_of(call, *args) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        call(*args)
    return error.value.message_dict


def test_fonds_code_format_and_uniqueness(archivist, unit):
    errors = errors_of(services.create_fonds, archivist, {"code": "z1090", "name": "", "unit": 0})
    assert "应为1个大写字母加3位数字" in errors["code"][0]
    assert errors["name"] == ["全宗名称不能为空"]
    assert errors["unit"] == ["未知的立档单位：0"]
    fonds = services.create_fonds(archivist, {"code": "Z109", "name": "区政府", "unit": unit})
    errors = errors_of(
        services.create_fonds, archivist, {"code": "Z109", "name": "x", "unit": unit}
    )
    assert errors["code"] == ["全宗号 Z109 已存在"]
    assert AuditEntry.objects.filter(object_type="holdings.fonds", object_id=str(fonds.pk)).exists()


@override_settings(LANTAI_FONDS_CODE_PATTERN=r"[0-9]{3}")
def test_fonds_code_pattern_is_configurable(archivist, unit):
    assert (
        services.create_fonds(archivist, {"code": "109", "name": "x", "unit": unit}).code == "109"
    )
    assert (
        "规则"
        in errors_of(services.create_fonds, archivist, {"code": "Z109", "name": "x", "unit": unit})[
            "code"
        ][0]
    )


def test_fonds_code_never_changes(archivist, fonds):
    errors = errors_of(services.update_fonds, archivist, fonds, {"code": "Z110"})
    assert "不能修改" in errors["code"][0]
    updated = services.update_fonds(
        archivist, fonds, {"name": "兰台区人民政府（新）", "start_year": 1950, "end_year": 2020}
    )
    entry = AuditEntry.objects.filter(
        action="update", object_id=str(fonds.pk), object_type="holdings.fonds"
    ).get()
    assert entry.detail["name"] == ["兰台区人民政府", "兰台区人民政府（新）"]
    assert updated.start_year == 1950
    errors = errors_of(
        services.update_fonds, archivist, fonds, {"start_year": 2000, "end_year": 1990}
    )
    assert errors["end_year"] == ["终止年度不能早于起始年度"]


def test_manage_codes_permission(make_user, unit):
    keeper = make_user("keeper", "keeper")
    with pytest.raises(PermissionDenied):
        services.create_fonds(keeper, {"code": "Z200", "name": "x", "unit": unit})
    with pytest.raises(PermissionDenied):
        services.save_scheme(keeper, {"item_template": "{fonds}-{item}"})
    assert not Fonds.objects.filter(code="Z200").exists()


def test_units(archivist, unit):
    child = services.create_unit(archivist, {"code": "BGS-002", "name": "科室", "parent": unit})
    errors = errors_of(services.update_unit, archivist, unit, {"parent": child})
    assert errors["parent"] == ["上级单位不能是本单位或其下级单位"]
    errors = errors_of(services.create_unit, archivist, {"code": "BGS-001", "name": "x\x1b"})
    assert errors["code"] == ["单位代码 BGS-001 已存在"] or "控制字符" in errors["name"][0]
    assert "控制字符" in errors["name"][0]
    assert services.update_unit(archivist, unit, {"phone": "0371-1234567"}).phone


def test_series(archivist, fonds, series):
    errors = errors_of(
        services.create_series, archivist, {"fonds": fonds, "code": "BGS", "name": "办公室"}
    )
    assert errors["code"] == ["该全宗已有机构(问题)代码 BGS"]
    errors = errors_of(
        services.create_series, archivist, {"fonds": fonds, "code": "B-S", "name": "x"}
    )
    assert "只能由字母、数字或汉字组成" in errors["code"][0]


def test_scheme_validation(archivist, fonds):
    errors = errors_of(
        services.save_scheme,
        archivist,
        {
            "item_template": "{fonds}-{year}",
            "volume_template": "{fonds}{volume}",
            "item_width": 0,
        },
    )
    assert "{item}" in errors["item_template"][0]
    assert "分隔符" in errors["volume_template"][0]
    assert errors["item_width"]
    errors = errors_of(services.save_scheme, archivist, {"item_template": "{fonds}-{item}"})
    assert errors["fonds"] == ["该全宗与门类已有档号规则"]  # the default exists
    scheme = services.save_scheme(archivist, {"fonds": fonds, "item_width": 5})
    assert scheme.item_width == 5
    scheme = services.save_scheme(archivist, {"note": "本全宗件号5位"}, scheme)
    assert scheme.note == "本全宗件号5位"


def test_category_code_is_frozen(archivist):
    category = services.save_category(
        archivist, {"code": "DY", "name": "党员档案", "arrangement": "volume"}
    )
    errors = errors_of(services.save_category, archivist, {"code": "DX"}, category)
    assert "不能修改" in errors["code"][0]
    assert services.save_category(archivist, {"livelihood": True}, category).livelihood
