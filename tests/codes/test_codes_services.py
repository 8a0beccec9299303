"""The services added for the code screens: series edits and removal, 全宗名称沿革, removing
a 档号规则, and the template check behind the preview. Each checks the permission, refuses
bad input with field messages and writes an audit entry in the same transaction."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError

from lantai.accounts.models import User
from lantai.accounts.roles import Role
from lantai.audit.models import AuditEntry
from lantai.holdings import services
from lantai.holdings.models import FondsName, ReferenceScheme, Series

pytestmark = pytest.mark.django_db


@pytest.fixture
def archivist(db):
    user = User.objects.create_user(username="archivist", password=None)
    user.groups.add(Group.objects.get(name=Role.ARCHIVIST))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def keeper(db):
    user = User.objects.create_user(username="keeper", password=None)
    user.groups.add(Group.objects.get(name=Role.KEEPER))
    return User.objects.get(pk=user.pk)


def errors_of(call, *args) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        call(*args)
    return error.value.message_dict


def test_permission_is_checked(keeper, fonds, series):
    entry = FondsName.objects.create(fonds=fonds, name="旧名")
    default = ReferenceScheme.objects.get(fonds=None, category=None)
    calls = [
        lambda: services.update_series(keeper, series, {"name": "x"}),
        lambda: services.delete_series(keeper, series),
        lambda: services.save_fonds_name(keeper, {"fonds": fonds, "name": "x"}),
        lambda: services.save_fonds_name(keeper, {"name": "x"}, entry),
        lambda: services.delete_fonds_name(keeper, entry),
        lambda: services.delete_scheme(keeper, default),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert Series.objects.filter(pk=series.pk, name="办公室").exists()
    assert FondsName.objects.filter(pk=entry.pk, name="旧名").exists()


def test_update_series(archivist, fonds, series, unit, ws):
    services.create_series(None, {"fonds": fonds, "code": "CWK", "name": "财务科"})
    assert errors_of(services.update_series, archivist, series, {"code": "CWK"}) == {
        "code": ["该全宗已有机构(问题)代码 CWK"]
    }
    assert errors_of(services.update_series, archivist, series, {"name": ""}) == {
        "name": ["机构(问题)名称不能为空"]
    }
    other = services.create_fonds(None, {"code": "Z200", "name": "其他", "unit": unit})
    assert (
        "不能移到其他全宗"
        in errors_of(services.update_series, archivist, series, {"fonds": other})["fonds"][0]
    )
    renamed = services.update_series(archivist, series, {"code": "BGK", "name": "办公科"})
    assert (renamed.code, renamed.name, renamed.fonds_id) == ("BGK", "办公科", fonds.pk)
    entry = AuditEntry.objects.get(action="update", object_type="holdings.series")
    assert entry.detail["code"] == ["BGS", "BGK"]

    services.create_item(
        None,
        {
            "fonds": fonds,
            "category": ws,
            "series": renamed,
            "year": 2011,
            "retention": "Y",
            "title": "通知",
        },
    )
    assert (
        "不能修改"
        in errors_of(services.update_series, archivist, renamed, {"code": "BGS"})["code"][0]
    )
    # The name is not part of any 档号: it may still change.
    assert services.update_series(archivist, renamed, {"name": "办公室"}).name == "办公室"
    assert "不能删除" in errors_of(services.delete_series, archivist, renamed)[NON_FIELD_ERRORS][0]


def test_delete_series(archivist, series):
    services.delete_series(archivist, series)
    assert not Series.objects.filter(pk=series.pk).exists()
    entry = AuditEntry.objects.get(action="delete", object_type="holdings.series")
    assert entry.detail["code"] == "BGS"


def test_fonds_names(archivist, fonds, unit):
    errors = errors_of(services.save_fonds_name, archivist, {"name": "x"})
    assert errors["fonds"] == ["全宗不能为空"]
    errors = errors_of(
        services.save_fonds_name,
        archivist,
        {"fonds": fonds, "name": "", "start_year": "1990", "end_year": "1980", "bogus": 1},
    )
    assert errors["name"] == ["名称不能为空"]
    assert errors["end_year"] == ["终止年度不能早于起始年度"]
    assert "未知字段：bogus" in errors[NON_FIELD_ERRORS][0]
    assert not FondsName.objects.exists()

    entry = services.save_fonds_name(
        archivist, {"fonds": fonds, "name": "兰台县人民政府", "start_year": 1950, "end_year": 1993}
    )
    # The merged years are checked on an edit, not only those given.
    errors = errors_of(services.save_fonds_name, archivist, {"start_year": 2000}, entry)
    assert errors["end_year"] == ["终止年度不能早于起始年度"]
    other = services.create_fonds(None, {"code": "Z200", "name": "其他", "unit": unit})
    assert (
        "不能移到其他全宗"
        in errors_of(services.save_fonds_name, archivist, {"fonds": other}, entry)["fonds"][0]
    )
    edited = services.save_fonds_name(archivist, {"note": "1994年撤县设区"}, entry)
    assert edited.note == "1994年撤县设区" and edited.fonds_id == fonds.pk
    services.delete_fonds_name(archivist, edited)
    actions = list(
        AuditEntry.objects.filter(object_type="holdings.fondsname", object_id=str(entry.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "delete"]


def test_delete_scheme_refuses_default(archivist, fonds):
    default = ReferenceScheme.objects.get(fonds=None, category=None)
    assert errors_of(services.delete_scheme, archivist, default) == {
        NON_FIELD_ERRORS: ["默认档号规则不能删除"]
    }
    scheme = services.save_scheme(archivist, {"fonds": fonds, "item_template": "{fonds}-{item}"})
    services.delete_scheme(archivist, scheme)
    assert not ReferenceScheme.objects.filter(pk=scheme.pk).exists()
    assert AuditEntry.objects.filter(
        action="delete", object_type="holdings.referencescheme", object_id=str(scheme.pk)
    ).exists()


def test_check_scheme_templates_matches_save_scheme(archivist, fonds):
    bad = {
        "item_template": "{fonds}-{year}",
        "volume_template": "{fonds}-{x}-{volume}",
        "volume_item_template": "{fonds}-{volume}-{item}",
        "item_width": "abc",
        "volume_width": 9,
    }
    cleaned, errors = services.check_scheme_templates(bad)
    saved_errors = errors_of(services.save_scheme, archivist, {"fonds": fonds, **bad})
    assert errors == saved_errors
    assert cleaned == {"volume_item_template": "{fonds}-{volume}-{item}"}
    cleaned, errors = services.check_scheme_templates(
        {"item_template": " {fonds}-{item} ", "item_width": "6"}
    )
    assert errors == {} and cleaned == {"item_template": "{fonds}-{item}", "item_width": 6}
