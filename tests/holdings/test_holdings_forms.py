"""ItemForm / VolumeForm delegate to the services and show their errors in place."""

from __future__ import annotations

from lantai.holdings.forms import ItemForm, VolumeForm
from lantai.holdings.models import Category, Item


def post(fonds, ws, series, **overrides):
    data = {
        "fonds": fonds.pk,
        "category": ws.pk,
        "series": series.pk,
        "year": "2011",
        "retention": "Y",
        "title": "关于开展档案工作检查的通知",
        "classification": "public",
        "openness": "unreviewed",
        "carrier": "paper",
    }
    data.update(overrides)
    return data


def test_create_through_the_form(archivist, fonds, ws, series):
    form = ItemForm(post(fonds, ws, series, date="2011-04-01"), actor=archivist)
    assert form.is_valid(), form.errors
    item = form.save()
    assert item.pk and item.reference_code == "Z109-WS·2011-Y-BGS-0001"


def test_service_errors_appear_on_fields(archivist, fonds, ws, series):
    form = ItemForm(
        post(
            fonds,
            ws,
            series,
            date="2012-04-01",
            reference_code="Z109-WS·2011-Y-BGS-01",
            notes="坏\x07字符",
        ),
        actor=archivist,
    )
    assert not form.is_valid()
    assert "不在年度 2011 内" in form.errors["date"][0]
    assert "控制字符" in form.errors["notes"][0]
    assert "件号应为4位数字" in form.errors["reference_code"][0]
    assert not Item.objects.exists()


def test_impossible_date_is_a_field_error(archivist, fonds, ws, series):
    form = ItemForm(post(fonds, ws, series, date="2017-02-31"), actor=archivist)
    assert not form.is_valid()
    assert form.errors["date"]


def test_update_form_freezes_code_parts(archivist, fonds, ws, series):
    form = ItemForm(post(fonds, ws, series), actor=archivist)
    assert form.is_valid(), form.errors
    item = form.save()
    edit = ItemForm(
        post(fonds, ws, series, year="2015", title="新题名"), instance=item, actor=archivist
    )
    assert edit.fields["year"].disabled and edit.fields["reference_code"].disabled
    assert edit.is_valid(), edit.errors
    saved = edit.save()
    assert saved.title == "新题名" and saved.year == 2011  # disabled field keeps its value


def test_save_maps_permission_free_race_errors(make_user, fonds, ws, series, archivist):
    first = ItemForm(post(fonds, ws, series, item_no="1"), actor=archivist)
    second = ItemForm(post(fonds, ws, series, item_no="1"), actor=archivist)
    assert first.is_valid() and second.is_valid()
    assert first.save() is not None
    assert second.save() is None  # the number went meanwhile: the error is on the form
    assert "已被使用" in second.errors["item_no"][0]


def test_volume_form(archivist, fonds):
    kj = Category.objects.get(code="KJ")
    form = VolumeForm(
        {
            "fonds": fonds.pk,
            "category": kj.pk,
            "year": "1990",
            "retention": "Y",
            "title": "基建",
            "classification": "public",
            "openness": "unreviewed",
            "carrier": "paper",
        },
        actor=archivist,
    )
    assert form.is_valid(), form.errors
    assert form.save().reference_code == "Z109-KJ·1990-Y-001"
