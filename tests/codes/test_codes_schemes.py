"""档号规则 through the screens: scopes, templates and widths, errors in place, the live
preview, which rule applies, and that a saved rule decides the 档号 of new items."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from lantai.audit.models import AuditEntry
from lantai.holdings import refcode, services
from lantai.holdings.models import Category, ReferenceScheme

pytestmark = pytest.mark.django_db

DAT13 = "{fonds}-{category}·{year}·{retention}·{series}-{item}"


def scheme_post(**overrides) -> dict:
    data = {
        "scope": "both",
        "item_template": DAT13,
        "volume_template": "{fonds}-{category}·{year}-{retention}-{volume}",
        "volume_item_template": "{fonds}-{category}·{year}-{retention}-{volume}-{item}",
        "item_width": "5",
        "volume_width": "3",
        "note": "DA/T 13-2022",
    }
    data.update(overrides)
    return data


def new_item(fonds, category, series, year=2011):
    return services.create_item(
        None,
        {
            "fonds": fonds,
            "category": category,
            "series": series,
            "year": year,
            "retention": "Y",
            "title": "关于开展档案工作检查的通知",
        },
    )


def test_new_scheme_decides_codes_of_new_items(archivist_client, fonds, series, ws):
    before = new_item(fonds, ws, series)
    assert before.reference_code == "Z109-WS·2011-Y-BGS-0001"

    response = archivist_client.post(
        reverse("holdings:scheme_create"),
        scheme_post(fonds=fonds.pk, category=ws.pk),
    )
    assert response.status_code == 302
    scheme = ReferenceScheme.objects.get(fonds=fonds, category=ws)
    assert scheme.item_width == 5
    assert AuditEntry.objects.filter(
        action="create", object_type="holdings.referencescheme", object_id=str(scheme.pk)
    ).exists()

    after = new_item(fonds, ws, series)
    assert after.reference_code == "Z109-WS·2011·Y·BGS-00002"
    before.refresh_from_db()
    assert before.reference_code == "Z109-WS·2011-Y-BGS-0001"  # existing codes never change

    # Another category of the same fonds still follows the default rule.
    kj = Category.objects.get(code="ZP")
    assert new_item(fonds, kj, series).reference_code == "Z109-ZP·2011-Y-BGS-0001"


def test_edit_default_scheme(archivist_client, fonds, series, ws):
    default = ReferenceScheme.objects.get(fonds=None, category=None)
    url = reverse("holdings:scheme_edit", args=[default.pk])
    html = archivist_client.get(url).content.decode()
    assert "Z109-WS·" in html  # the preview renders with the page
    response = archivist_client.post(
        url, scheme_post(scope="fonds", fonds=fonds.pk, item_template="{fonds}-{year}-{item}")
    )
    assert response.status_code == 302
    default.refresh_from_db()
    # The scope of an existing rule stays; only its templates change.
    assert default.fonds_id is None and default.category_id is None
    assert default.item_template == "{fonds}-{year}-{item}"
    assert new_item(fonds, ws, series).reference_code == "Z109-2011-00001"


def test_scheme_errors_in_place_and_nothing_saved(archivist_client, fonds, ws):
    url = reverse("holdings:scheme_create")
    count = ReferenceScheme.objects.count()
    response = archivist_client.post(
        url,
        scheme_post(
            fonds=fonds.pk,
            category=ws.pk,
            item_template="{fonds}-{foo}-{item}",
            volume_template="{fonds}-{year}",
            item_width="9",
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "档号模板中有未知的占位符 {foo}" in html
    assert "卷档号模板必须包含 {volume}" in html
    assert "件号位数不能超过8位" in html
    assert ReferenceScheme.objects.count() == count

    response = archivist_client.post(url, scheme_post(scope="both"))
    html = response.content.decode()
    assert "请选择此规则适用的全宗" in html and "请选择此规则适用的门类" in html

    response = archivist_client.post(url, scheme_post(scope="default"))
    assert "该全宗与门类已有档号规则" in response.content.decode()
    assert ReferenceScheme.objects.count() == count

    response = archivist_client.post(
        url, scheme_post(scope="category", category=ws.pk, item_template="{fonds}{item}")
    )
    assert "之间必须有分隔符" in response.content.decode()
    assert ReferenceScheme.objects.count() == count


def test_preview_endpoint(archivist_client, fonds, series, ws):
    url = reverse("holdings:scheme_preview")
    response = archivist_client.get(
        url, {**scheme_post(fonds=fonds.pk, category=ws.pk), "try_code": "Z109-WS·2011·Y·BGS-00007"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # a fragment for htmx
    year = dt.date.today().year - 1
    assert f"Z109-WS·{year}·Y·BGS-00012" in html
    # The example is parsed back into its parts.
    assert '件号 <span class="code">12</span>' in html
    assert '机构(问题)代码 <span class="code">BGS</span>' in html
    assert '件号 <span class="code">7</span>' in html  # the tried code

    html = archivist_client.get(
        url, {**scheme_post(), "item_template": "{fonds}-{bogus}-{item}", "try_code": "Z109-WS"}
    ).content.decode()
    assert "档号模板中有未知的占位符 {bogus}" in html
    # The other templates still preview (default sample fonds Z109, category WS).
    assert f"Z109-WS·{year}-Y-003" in html

    html = archivist_client.get(
        url, {**scheme_post(), "try_code": "Z109-WS·2011·Y·BGS-7"}
    ).content.decode()
    assert "件号应为5位数字" in html

    html = archivist_client.get(url, {**scheme_post(), "item_width": "0"}).content.decode()
    assert "件号位数不能小于1" in html

    # Previewing an existing rule uses its own scope for the sample.
    scheme = services.save_scheme(None, {"fonds": fonds, "item_template": "{fonds}-{item}"})
    html = archivist_client.get(
        url, {**scheme_post(item_template="{fonds}-{category}-{item}"), "scheme": scheme.pk}
    ).content.decode()
    assert "Z109-WS-00012" in html
    assert ReferenceScheme.objects.filter(pk=scheme.pk, item_template="{fonds}-{item}").exists()


def test_which_rule_applies(archivist_client, fonds, ws):
    url = reverse("holdings:scheme_list")
    html = archivist_client.get(url, {"fonds": fonds.pk, "category": ws.pk}).content.decode()
    assert "默认（所有全宗、所有门类）" in html
    services.save_scheme(
        None, {"category": ws, "item_template": "{fonds}-{category}-{year}-{item}"}
    )
    services.save_scheme(None, {"fonds": fonds, "item_template": "{fonds}-{year}-{item}"})
    refcode.clear_scheme_cache()
    year = dt.date.today().year - 1
    html = archivist_client.get(
        url, {"fonds": fonds.pk, "category": ws.pk}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in html
    assert "指定全宗" in html and f"Z109-{year}-0012" in html
    zp = Category.objects.get(code="ZP")
    html = archivist_client.get(url, {"category": ws.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "指定门类" in html and f"Z109-WS-{year}-0012" in html
    html = archivist_client.get(url, {"category": zp.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert "默认" in html and f"Z109-ZP·{year}-Y-BGS-0012" in html


def test_delete_scheme(archivist_client, fonds, series, ws):
    scheme = services.save_scheme(None, {"fonds": fonds, "item_template": "{fonds}-{item}"})
    response = archivist_client.post(reverse("holdings:scheme_delete", args=[scheme.pk]))
    assert response.status_code == 302
    assert not ReferenceScheme.objects.filter(pk=scheme.pk).exists()
    assert new_item(fonds, ws, series).reference_code == "Z109-WS·2011-Y-BGS-0001"

    default = ReferenceScheme.objects.get(fonds=None, category=None)
    response = archivist_client.post(reverse("holdings:scheme_delete", args=[default.pk]))
    assert response.status_code == 400
    assert "默认档号规则不能删除" in response.content.decode()
    assert ReferenceScheme.objects.filter(pk=default.pk).exists()
