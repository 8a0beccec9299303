"""Lists sorted by 档号 within one fonds walk from the fonds' code prefix; that is only
correct because every 档号 template begins with {fonds}, which save_scheme enforces."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lantai.holdings import services
from lantai.holdings.filters import ItemFilter
from lantai.holdings.models import Category
from lantai.holdings.tables import keyset_page, parse_sort

pytestmark = pytest.mark.django_db


def _fonds(code: str, unit_code: str):
    unit = services.create_unit(
        None, {"code": unit_code, "name": f"单位{unit_code}", "kind": "agency"}
    )
    return services.create_fonds(None, {"code": code, "name": f"全宗{code}", "unit": unit})


def test_template_must_start_with_fonds():
    with pytest.raises(ValidationError) as excinfo:
        services.save_scheme(None, {"item_template": "{category}·{year}-{fonds}-{item}"})
    assert "{fonds}" in str(excinfo.value)


def test_single_fonds_pages_by_code_prefix_and_keep_every_row():
    ws = Category.objects.get(code="WS")
    first, second = _fonds("Z001", "U1"), _fonds("Z002", "U2")
    for fonds in (first, second):
        for year in (2010, 2011):
            for _ in range(3):
                services.create_item(
                    None,
                    {
                        "fonds": fonds,
                        "category": ws,
                        "year": year,
                        "retention": "Y",
                        "title": "关于档案工作的通知",
                    },
                )
    filterset = ItemFilter({"fonds": str(second.pk)}, queryset=services.visible_items(None))
    assert filterset.code_prefix_hint() == "Z002"
    sort = parse_sort("code")
    seen = []
    cursor = None
    with CaptureQueriesContext(connection) as queries:
        while True:
            page = keyset_page(filterset.qs, sort, after=cursor, size=4, code_prefix="Z002")
            seen.extend(item.reference_code for item in page.rows)
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == sorted(seen) and len(seen) == 6
    assert all(code.startswith("Z002-") for code in seen)
    # The walk itself is narrowed to the fonds' 档号 range (the filter is on fonds_id only).
    assert any("Z002" in q["sql"] for q in queries.captured_queries)
