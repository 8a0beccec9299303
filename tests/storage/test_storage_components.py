"""Components link stored files to items: sequence per role, idempotent, validated."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError

from lantai.holdings import services as holdings
from lantai.holdings.models import Category
from lantai.storage import services
from lantai.storage.models import Component


@pytest.fixture
def item(db):
    unit = holdings.create_unit(None, {"code": "BGS-001", "name": "兰台区人民政府办公室"})
    fonds = holdings.create_fonds(None, {"code": "Z109", "name": "兰台区人民政府", "unit": unit})
    return holdings.create_item(
        None,
        {
            "fonds": fonds,
            "category": Category.objects.get(code="WS"),
            "year": 2011,
            "retention": "Y",
            "title": "关于开展档案工作检查的通知",
        },
    )


def test_attach_numbers_components_per_role(primary, item):
    scan = services.put_file(io.BytesIO(b"%PDF-1.7 scan"), "c/1.pdf", purpose="test")
    page2 = services.put_file(io.BytesIO(b"%PDF-1.7 page 2"), "c/2.pdf", purpose="test")
    text = services.put_file(io.BytesIO("全文".encode()), "c/1.txt", purpose="test")
    first = services.attach(item, scan, filename="Z109-WS·2011-Y-0001.pdf")
    second = services.attach(item, page2, filename="附件.pdf")
    full = services.attach(item, text, role="text", filename="全文.txt")
    assert (first.sequence, second.sequence, full.sequence) == (1, 2, 1)
    assert first.role == "master" and first.mime == "application/pdf"
    assert full.mime == "text/plain"
    assert services.attach(item, scan, filename="again.pdf").pk == first.pk
    assert list(item.components.values_list("filename", flat=True)) == [
        "Z109-WS·2011-Y-0001.pdf",
        "附件.pdf",
        "全文.txt",
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"role": "thumbnail", "filename": "a.pdf"}, "role"),
        ({"filename": ""}, "filename"),
        ({"filename": "../a.pdf"}, "filename"),
        ({"filename": "a\x00.pdf"}, "filename"),
    ],
)
def test_attach_refuses_bad_input(primary, item, kwargs, field):
    obj = services.put_file(io.BytesIO(b"x"), "c/x.bin", purpose="test")
    with pytest.raises(ValidationError) as info:
        services.attach(item, obj, **kwargs)
    assert field in info.value.message_dict
    assert not Component.objects.exists()
