"""Units, fonds with their 名称沿革, and series through the screens: create, edit, filters,
errors shown in place in Chinese with nothing saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lantai.audit.models import AuditEntry
from lantai.holdings import services
from lantai.holdings.models import Fonds, FondsName, Item, Series, Unit

pytestmark = pytest.mark.django_db


def page(response) -> str:
    return response.content.decode()


# --- units ------------------------------------------------------------------------------------


def test_create_and_edit_unit(archivist_client, unit):
    response = archivist_client.post(
        reverse("holdings:unit_create"),
        {
            "code": "JYJ-01",
            "name": "兰台区教育局",
            "kind": "agency",
            "parent": unit.pk,
            "contact": "王敏",
            "phone": "0371-1234567",
            "active": "on",
        },
    )
    assert response.status_code == 302
    created = Unit.objects.get(code="JYJ-01")
    assert created.parent == unit and created.active and created.contact == "王敏"
    assert AuditEntry.objects.filter(
        action="create", object_type="holdings.unit", object_id=str(created.pk)
    ).exists()

    # Unticked "在用" means retired.
    response = archivist_client.post(
        reverse("holdings:unit_edit", args=[created.pk]),
        {"code": "JYJ-01", "name": "兰台区教育体育局", "kind": "agency", "parent": unit.pk},
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.name == "兰台区教育体育局" and not created.active
    entry = AuditEntry.objects.get(
        action="update", object_id=str(created.pk), object_type="holdings.unit"
    )
    assert entry.detail["name"] == ["兰台区教育局", "兰台区教育体育局"]


def test_unit_errors_in_place(archivist_client, unit):
    response = archivist_client.post(
        reverse("holdings:unit_create"), {"code": unit.code, "name": " ", "kind": "agency"}
    )
    assert response.status_code == 200
    html = page(response)
    assert f"单位代码 {unit.code} 已存在" in html
    assert "单位名称不能为空" in html
    assert 'id="field-code"' in html and "has-error" in html
    response = archivist_client.post(
        reverse("holdings:unit_create"), {"code": "单位 1", "name": "某单位"}
    )
    assert "只能由字母、数字、点、横线或下划线组成" in page(response)
    assert Unit.objects.count() == 1

    # A unit cannot be moved under its own child.
    child = services.create_unit(None, {"code": "C-1", "name": "下属单位", "parent": unit})
    response = archivist_client.post(
        reverse("holdings:unit_edit", args=[unit.pk]),
        {
            "code": unit.code,
            "name": unit.name,
            "kind": "agency",
            "parent": child.pk,
            "active": "on",
        },
    )
    assert "上级单位不能是本单位或其下级单位" in page(response)
    unit.refresh_from_db()
    assert unit.parent_id is None


def test_unit_list_filters(archivist_client, unit):
    services.create_unit(None, {"code": "XX-9", "name": "兰台区第一中学", "kind": "school"})
    services.create_unit(
        None, {"code": "OLD-1", "name": "原兰台县粮食局", "kind": "agency", "active": False}
    )
    url = reverse("holdings:unit_list")
    html = page(archivist_client.get(url))
    assert all(code in html for code in ("BGS-001", "XX-9", "OLD-1"))
    html = page(archivist_client.get(url, {"kind": "school"}))
    assert "XX-9" in html and "BGS-001" not in html
    html = page(archivist_client.get(url, {"active": "0"}))
    assert "OLD-1" in html and "XX-9" not in html
    html = page(archivist_client.get(url, {"q": "中学"}))
    assert "XX-9" in html and "OLD-1" not in html


# --- fonds ------------------------------------------------------------------------------------


def test_create_fonds_and_duplicate_or_malformed_code(archivist_client, unit, fonds):
    url = reverse("holdings:codes_fonds_create")
    response = archivist_client.post(
        url, {"code": "Z110", "name": "兰台区教育局", "unit": unit.pk, "start_year": "1984"}
    )
    assert response.status_code == 302
    created = Fonds.objects.get(code="Z110")
    assert response["Location"] == reverse("holdings:codes_fonds_edit", args=[created.pk])
    assert created.start_year == 1984

    response = archivist_client.post(url, {"code": "Z109", "name": "重复", "unit": unit.pk})
    assert "全宗号 Z109 已存在" in page(response)
    response = archivist_client.post(
        url, {"code": "z12", "name": "", "unit": "", "start_year": "19a0"}
    )
    html = page(response)
    assert "全宗号“z12”格式不正确，应为1个大写字母加3位数字，如 Z109" in html
    assert "全宗名称不能为空" in html and "立档单位不能为空" in html
    assert "起始年度应为4位数字" in html
    assert Fonds.objects.count() == 2


def test_edit_fonds_keeps_code(archivist_client, fonds, unit):
    url = reverse("holdings:codes_fonds_edit", args=[fonds.pk])
    html = page(archivist_client.get(url))
    assert 'name="code"' in html and "disabled" in html
    # A posted code is ignored: the field is read-only once the fonds exists.
    response = archivist_client.post(
        url,
        {
            "code": "Z999",
            "name": "兰台区人民政府（新）",
            "unit": unit.pk,
            "start_year": "1950",
            "end_year": "1940",
        },
    )
    assert "终止年度不能早于起始年度" in page(response)
    response = archivist_client.post(
        url, {"code": "Z999", "name": "兰台区人民政府（新）", "unit": unit.pk, "start_year": "1950"}
    )
    assert response.status_code == 302
    fonds.refresh_from_db()
    assert fonds.code == "Z109" and fonds.name == "兰台区人民政府（新）"


def test_fonds_name_history_inline(archivist_client, fonds):
    edit_url = reverse("holdings:codes_fonds_edit", args=[fonds.pk])
    add_url = reverse("holdings:fonds_name_create", args=[fonds.pk])
    response = archivist_client.post(
        add_url,
        {"name": "兰台县人民政府", "start_year": "1950", "end_year": "1993", "note": "撤县设区"},
    )
    assert response.status_code == 302
    entry = FondsName.objects.get(fonds=fonds)
    assert (entry.start_year, entry.end_year) == (1950, 1993)
    assert "兰台县人民政府" in page(archivist_client.get(edit_url))

    # Bad input: errors on the fonds page itself, nothing added.
    response = archivist_client.post(
        add_url, {"name": "", "start_year": "1990", "end_year": "1980"}
    )
    html = page(response)
    assert response.status_code == 200
    assert "名称不能为空" in html and "终止年度不能早于起始年度" in html
    assert 'id="names"' in html
    assert FondsName.objects.filter(fonds=fonds).count() == 1

    # htmx edits the row in place.
    row_url = reverse("holdings:fonds_name_edit", args=[fonds.pk, entry.pk])
    htmx = {"HTTP_HX_REQUEST": "true"}
    row = page(archivist_client.get(row_url, **htmx))
    assert row.startswith("<tr") and 'name="name"' in row and "<html" not in row
    row = page(
        archivist_client.post(row_url, {"name": "兰台县人民政府", "start_year": "3000"}, **htmx)
    )
    assert "起始年度应在" in row and "<html" not in row
    row = page(
        archivist_client.post(
            row_url, {"name": "兰台县人民委员会", "start_year": "1950", "end_year": "1968"}, **htmx
        )
    )
    assert "兰台县人民委员会" in row and 'name="name"' not in row
    entry.refresh_from_db()
    assert entry.name == "兰台县人民委员会" and entry.end_year == 1968 and entry.note == ""

    # Without htmx the same URL is a page and redirects back.
    assert "<html" in page(archivist_client.get(row_url))
    response = archivist_client.post(row_url, {"name": "兰台县人民政府", "start_year": "1950"})
    assert response.status_code == 302

    delete_url = reverse("holdings:fonds_name_delete", args=[fonds.pk, entry.pk])
    assert archivist_client.post(delete_url).status_code == 302
    assert not FondsName.objects.filter(pk=entry.pk).exists()
    assert AuditEntry.objects.filter(action="delete", object_type="holdings.fondsname").exists()


def test_fonds_name_of_another_fonds_is_404(archivist_client, fonds, unit):
    other = services.create_fonds(None, {"code": "Z200", "name": "其他", "unit": unit})
    entry = FondsName.objects.create(fonds=other, name="旧名")
    url = reverse("holdings:fonds_name_edit", args=[fonds.pk, entry.pk])
    assert archivist_client.get(url).status_code == 404


# --- series -----------------------------------------------------------------------------------


def test_series_create_edit_delete(archivist_client, fonds, series, ws):
    url = reverse("holdings:series_list", args=[fonds.pk])
    assert "办公室" in page(archivist_client.get(url))
    response = archivist_client.post(url, {"code": "CWK", "name": "财务科"})
    assert response.status_code == 302
    cwk = Series.objects.get(fonds=fonds, code="CWK")

    response = archivist_client.post(url, {"code": "BGS", "name": "重复"})
    assert "该全宗已有机构(问题)代码 BGS" in page(response)
    response = archivist_client.post(url, {"code": "B-1", "name": "x"})
    assert "只能由字母、数字或汉字组成" in page(response)
    assert fonds.series.count() == 2

    edit = reverse("holdings:series_edit", args=[cwk.pk])
    assert archivist_client.post(edit, {"code": "财务科", "name": "财务科"}).status_code == 302
    cwk.refresh_from_db()
    assert cwk.code == "财务科"

    # Once items use a series its code is part of their 档号: no renaming, no deleting.
    services.create_item(
        None,
        {
            "fonds": fonds,
            "category": ws,
            "series": series,
            "year": 2011,
            "retention": "Y",
            "title": "关于档案工作的通知",
        },
    )
    edit = reverse("holdings:series_edit", args=[series.pk])
    response = archivist_client.post(edit, {"code": "BGSX", "name": "办公室"})
    assert "已用于档号，不能修改" in page(response)
    response = archivist_client.post(reverse("holdings:series_delete", args=[series.pk]))
    assert response.status_code == 400
    assert "已有条目或案卷使用，不能删除" in page(response)
    assert Series.objects.filter(pk=series.pk, code="BGS").exists()
    assert Item.objects.filter(series=series).count() == 1

    response = archivist_client.post(reverse("holdings:series_delete", args=[cwk.pk]))
    assert response.status_code == 302
    assert not Series.objects.filter(pk=cwk.pk).exists()
