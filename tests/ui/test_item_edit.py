"""Item detail, edit, create and delete through the web UI: field errors in place, nothing
saved on bad input, frozen 档号 fields, 件号 allocated, history of an edit."""

import re

import pytest
from django.urls import reverse

from lantai.accounts.roles import Role
from lantai.audit.models import AuditEntry
from lantai.holdings.forms import ItemForm
from lantai.holdings.models import Item

pytestmark = pytest.mark.django_db


def form_data(item: Item | None = None, **changes) -> dict:
    """What the browser posts for ``item`` unchanged, with ``changes`` applied."""
    data = {}
    if item is not None:
        form = ItemForm(instance=item)
        for name in form.fields:
            value = form.initial.get(name)
            if value is None:
                value = ""
            data[name] = value
    data.update(changes)
    return {k: ("" if v is None else v) for k, v in data.items()}


def field_errors(body: str, name: str) -> list[str]:
    block = re.search(rf'<div class="field has-error" id="field-{name}">(.*?)</div>', body, re.S)
    if not block:
        return []
    return re.findall(r"<li>(.*?)</li>", block.group(1))


def test_detail_shows_fields_code_parts_and_badges(world):
    item = world.items_a[0]
    body = (
        world.client(Role.ARCHIVIST)
        .get(reverse("holdings:item_detail", args=[item.pk]))
        .content.decode()
    )
    assert item.reference_code in body and item.title in body
    for label in ["档号", "题名", "全宗", "门类", "年度", "保管期限", "件号", "密级", "开放状态"]:
        assert f"<dt>{label}</dt>" in body, label
    # 档号构成: the parts the scheme's template reads from the code.
    assert '<dt>全宗号</dt><dd class="code">Z101</dd>' in body
    assert '<dt>件号</dt><dd class="code">1</dd>' in body
    assert 'class="badge open"' in body


def test_edit_saves_and_history_shows_the_change(world):
    client = world.client(Role.ARCHIVIST)
    item = world.items_a[1]
    response = client.post(
        reverse("holdings:item_edit", args=[item.pk]),
        form_data(item, title="二〇一一年度工作总结", pages="8"),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    item.refresh_from_db()
    assert item.title == "二〇一一年度工作总结" and item.pages == 8
    body = client.get(reverse("holdings:item_detail", args=[item.pk])).content.decode()
    history = body[body.index('id="history"') :]
    assert "archivist" in history
    assert "年度工作总结" in history and "二〇一一年度工作总结" in history
    assert "<strong>题名</strong>" in history and "<strong>页数</strong>" in history
    # The history is the audit trail of this object.
    assert AuditEntry.objects.filter(
        object_type="holdings.item", object_id=str(item.pk), action="update"
    ).exists()


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"date": "2017-02-31"}, "date", "日期"),
        ({"title": "题名\x07含控制字符"}, "title", "控制字符"),
        ({"title": ""}, "title", "必填"),
        ({"pages": "-3"}, "pages", ""),
    ],
)
def test_edit_bad_input_errors_in_place_nothing_saved(world, changes, field, fragment):
    client = world.client(Role.ARCHIVIST)
    item = world.items_a[0]
    before = Item.objects.values().get(pk=item.pk)
    entries = AuditEntry.objects.filter(object_type="holdings.item", object_id=str(item.pk))
    n_entries = entries.count()
    response = client.post(
        reverse("holdings:item_edit", args=[item.pk]), form_data(item, **changes)
    )
    assert response.status_code == 200
    body = response.content.decode()
    errors = field_errors(body, field)
    assert errors, body[body.find("has-error") - 200 : body.find("has-error") + 800]
    assert any(fragment in e for e in errors), errors
    assert Item.objects.values().get(pk=item.pk) == before
    assert entries.count() == n_entries


def test_frozen_code_fields_are_read_only(world):
    client = world.client(Role.ARCHIVIST)
    item = world.items_a[0]
    body = client.get(reverse("holdings:item_edit", args=[item.pk])).content.decode()
    for name in ("fonds", "category", "year", "retention", "series", "item_no", "reference_code"):
        tag = re.search(rf'<(input|select)[^>]*name="{name}"[^>]*>', body)
        assert tag and "disabled" in tag.group(0), name
    # A forged POST changing them changes nothing: disabled fields keep their value.
    response = client.post(
        reverse("holdings:item_edit", args=[item.pk]),
        form_data(item, year="1999", item_no="77", reference_code="Z101-WS·1999-Y-BGS-0077"),
    )
    assert response.status_code == 302
    fresh = Item.objects.get(pk=item.pk)
    assert (fresh.year, fresh.item_no, fresh.reference_code) == (
        item.year,
        item.item_no,
        item.reference_code,
    )


def test_create_allocates_item_number(world):
    client = world.client(Role.ARCHIVIST)
    data = {
        "fonds": world.fonds_a.pk,
        "category": world.ws.pk,
        "series": world.series_a.pk,
        "year": "2011",
        "retention": "Y",
        "title": "新著录的文件",
        "date": "2011-09-01",
        "classification": "public",
        "openness": "unreviewed",
        "carrier": "paper",
    }
    response = client.post(reverse("holdings:item_create"), form_data(None, **data))
    assert response.status_code == 302, response.content.decode()[:3000]
    item = Item.objects.get(title="新著录的文件")
    assert item.item_no == 6  # after the five items of Z101-WS·2011-Y-BGS
    assert item.reference_code == "Z101-WS·2011-Y-BGS-0006"
    assert response["Location"] == reverse("holdings:item_detail", args=[item.pk])


def test_create_with_malformed_code_is_a_field_error(world):
    client = world.client(Role.ARCHIVIST)
    data = {
        "fonds": world.fonds_a.pk,
        "category": world.ws.pk,
        "series": world.series_a.pk,
        "year": "2011",
        "retention": "Y",
        "title": "档号写错的文件",
        "reference_code": "Z101-WS-2011-Y-BGS-1",
        "classification": "public",
        "openness": "unreviewed",
        "carrier": "paper",
    }
    count = Item.objects.count()
    response = client.post(reverse("holdings:item_create"), form_data(None, **data))
    assert response.status_code == 200
    errors = field_errors(response.content.decode(), "reference_code")
    assert errors and any("档号" in e or "件号" in e for e in errors), errors
    assert Item.objects.count() == count


def test_delete_needs_confirmation_and_is_audited(world):
    client = world.client(Role.ARCHIVIST)
    item = world.items_b[2]
    url = reverse("holdings:item_delete", args=[item.pk])
    page = client.get(url).content.decode()
    assert "确认删除" in page and item.reference_code in page
    assert Item.objects.filter(pk=item.pk).exists()
    response = client.post(url)
    assert response.status_code == 302
    assert not Item.objects.filter(pk=item.pk).exists()
    assert AuditEntry.objects.filter(
        object_type="holdings.item", object_id=str(item.pk), action="delete"
    ).exists()
    assert client.get(reverse("holdings:item_detail", args=[item.pk])).status_code == 404


def test_viewing_restricted_item_is_audited_and_in_history(world):
    client = world.client(Role.ARCHIVIST)
    item = world.restricted_a
    client.get(reverse("holdings:item_detail", args=[item.pk]))
    assert AuditEntry.objects.filter(
        object_type="holdings.item", object_id=str(item.pk), action="view"
    ).exists()
