"""Receipt plans 接收计划 (plan versus received, overdue units), acquisitions 征集 entering
holdings through an acquisition batch, accession statistics (by unit and category in 卷 and 件,
growth against a baseline year) with the page, the .xlsx export and the demo seed."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accession.workflow_world import good_rows, run_jobs, upload_file, wf  # noqa: F401
from lantai.accession import services
from lantai.accession.models import (
    AcquisitionStatus,
    BatchItem,
    BatchKind,
    BatchStatus,
    ReceiptPlan,
    TransferBatch,
)
from lantai.audit.models import AuditEntry
from lantai.holdings.models import Category, Item, Unit, Volume

pytestmark = pytest.mark.django_db
THIS_YEAR = timezone.localdate().year


def make_items(fonds, count, *, year=2011, unit=None, start=1, category="WS"):
    cat = Category.objects.get(code=category)
    return Item.objects.bulk_create(
        [
            Item(
                fonds=fonds, category=cat, year=year, retention="D10", unit=unit,
                item_no=n, title=f"件{n}",
            )
            for n in range(start, start + count)
        ]
    )  # fmt: skip


def accepted(unit, fonds, items=(), volumes=(), when=None) -> TransferBatch:
    """An accepted batch whose provenance points at ``items``/``volumes`` (ORM, for figures)."""
    batch = services.create_batch(None, unit=unit, fonds=fonds)
    BatchItem.objects.bulk_create(
        [BatchItem(batch=batch, item=i) for i in items]
        + [BatchItem(batch=batch, volume=v) for v in volumes]
    )
    TransferBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.ACCEPTED, accepted_at=when or timezone.now()
    )
    return batch


# --- plans ------------------------------------------------------------------------------------


def test_plan_validation_and_audit(wf):  # noqa: F811
    archivist = wf.users["archivist"]
    with pytest.raises(ValidationError) as exc:
        services.save_plan(
            archivist,
            {"unit": wf.unit_a, "category": "WS", "year_from": 2015, "year_to": 2010,
             "due_year": 2012, "expected_items": 0},
        )  # fmt: skip
    assert set(exc.value.message_dict) == {"year_to", "expected_items"}
    with pytest.raises(PermissionDenied):
        services.save_plan(wf.users["officer_a"], {})
    plan = services.save_plan(
        archivist,
        {"unit": wf.unit_a, "category": "WS", "year_from": 2006, "year_to": 2010,
         "due_year": 2021, "expected_items": 100, "programme": "十四五"},
    )  # fmt: skip
    plan = services.save_plan(archivist, {"expected_items": 120}, plan)
    entries = AuditEntry.objects.filter(object_type="accession.receiptplan", object_id=plan.pk)
    assert list(entries.order_by("seq").values_list("action", flat=True)) == ["create", "update"]
    assert entries.order_by("seq").last().detail == {"expected_items": [100, 120]}
    services.delete_plan(archivist, plan)
    assert not ReceiptPlan.objects.exists()


def test_plan_versus_received_and_overdue(wf):  # noqa: F811
    archivist = wf.users["archivist"]
    today = date(THIS_YEAR, 6, 1)
    late = services.save_plan(
        archivist,
        {"unit": wf.unit_a, "category": "WS", "year_from": 2010, "year_to": 2012,
         "due_year": THIS_YEAR - 1, "expected_items": 10, "expected_volumes": 1},
    )  # fmt: skip
    done = services.save_plan(
        archivist,
        {"unit": wf.unit_b, "category": "WS", "year_from": 2010, "year_to": 2012,
         "due_year": THIS_YEAR - 1, "expected_items": 3},
    )  # fmt: skip
    due = services.save_plan(
        archivist,
        {"unit": wf.unit_b, "category": "WS", "year_from": 2013, "year_to": 2015,
         "due_year": THIS_YEAR, "expected_items": 5},
    )  # fmt: skip
    # Unit A: 4 items of 2011, 1 of 2020 (outside the plan's years); unit B: 3 of 2011.
    ws = Category.objects.get(code="WS")
    volume = Volume.objects.create(
        fonds=wf.fonds_a, category=ws, year=2011, retention="Y", volume_no=1, title="卷"
    )
    accepted(
        wf.unit_a,
        wf.fonds_a,
        make_items(wf.fonds_a, 4) + make_items(wf.fonds_a, 1, year=2020),
        [volume],
    )
    accepted(wf.unit_b, wf.fonds_b, make_items(wf.fonds_b, 3))
    # A batch not yet accepted does not count.
    pending = services.create_batch(None, unit=wf.unit_a, fonds=wf.fonds_a)
    BatchItem.objects.bulk_create(
        [BatchItem(batch=pending, item=i) for i in make_items(wf.fonds_a, 2, start=50)]
    )
    rows = {r["plan"].pk: r for r in services.plan_progress(archivist, today=today)}
    assert (rows[late.pk]["received_items"], rows[late.pk]["received_volumes"]) == (4, 1)
    assert rows[late.pk]["overdue"] and not rows[late.pk]["complete"]
    assert rows[late.pk]["percent"] == 45  # (4 + 1) of (10 + 1)
    assert rows[done.pk]["complete"] and not rows[done.pk]["overdue"]
    assert rows[due.pk]["due"] and not rows[due.pk]["overdue"]
    # Overdue first; the page names the overdue units.
    assert services.plan_progress(archivist, today=today)[0]["plan"].pk == late.pk
    page = wf.client("archivist").get(reverse("accession:plan_list")).content.decode()
    assert 'id="overdue-units"' in page and wf.unit_a.name in page
    assert wf.client("officer_a").get(reverse("accession:plan_list")).status_code == 403


def test_programme_summary_shows_the_livelihood_share(wf):  # noqa: F811
    """A five-year programme bringing a school's records in and raising the share of
    livelihood 民生 records: the plan page sums it up — planned against received 卷(件), units
    overdue, and the livelihood share of the plan, of what arrived and of holdings."""
    archivist = wf.users["archivist"]
    programme = "2024—2028年档案接收五年规划"
    first = THIS_YEAR - 2
    ws_plan = {"unit": wf.unit_b, "category": "WS", "year_from": 2010, "year_to": 2012,
               "due_year": first, "expected_items": 6, "programme": programme}  # fmt: skip
    services.save_plan(archivist, ws_plan)
    services.save_plan(
        archivist,
        {"unit": wf.unit_b, "category": "YL", "year_from": 2010, "year_to": 2012,
         "due_year": THIS_YEAR + 1, "expected_items": 4, "programme": programme},
    )  # fmt: skip
    # Another programme's plan is left out when the page is filtered.
    services.save_plan(
        archivist,
        {"unit": wf.unit_a, "category": "WS", "year_from": 2000, "year_to": 2001,
         "due_year": first, "expected_items": 100, "programme": "其他规划"},
    )  # fmt: skip
    # Holdings: 10 WS items held before; the school transferred 3 WS and 4 YL items of 2011.
    make_items(wf.fonds_a, 10, year=2001)
    accepted(
        wf.unit_b,
        wf.fonds_b,
        make_items(wf.fonds_b, 3) + make_items(wf.fonds_b, 4, category="YL", start=100),
    )
    rows = services.plan_progress(archivist, programme=programme)
    summary = services.plan_summary(rows)
    assert (summary["plans"], summary["units"], summary["overdue_units"]) == (2, 1, 1)
    assert (summary["planned"], summary["received"], summary["percent"]) == (10, 7, 70)
    assert (summary["livelihood_planned"], summary["livelihood_received"]) == (4, 4)
    assert summary["livelihood_planned_share"] == 40.0
    assert summary["livelihood_received_share"] == round(4 * 100 / 7, 1)
    assert (summary["holdings"], summary["livelihood_holdings"]) == (17, 4)
    assert summary["livelihood_holdings_share"] == round(4 * 100 / 17, 1)
    page = wf.client("archivist").get(reverse("accession:plan_list"), {"programme": programme})
    html = page.content.decode()
    assert 'id="plan-summary"' in html
    assert "7 / 10" in html and f"{round(4 * 100 / 7, 1)}%" in html and "计划 40.0%" in html
    assert f"{round(4 * 100 / 17, 1)}%" in html
    # No plans: no summary, no division by zero.
    empty = services.plan_summary([])
    assert empty["percent"] is None and empty["livelihood_received_share"] is None
    html = wf.client("archivist").get(reverse("accession:plan_list"), {"programme": "无"})
    assert 'id="plan-summary"' not in html.content.decode()


def test_plan_form_view(wf):  # noqa: F811
    client = wf.client("archivist")
    data = {"unit": wf.unit_a.pk, "category": Category.objects.get(code="WS").pk,
            "year_from": 2016, "year_to": 2020, "due_year": 2026, "expected_volumes": 0,
            "expected_items": 500, "programme": "2026—2030年接收规划", "note": ""}  # fmt: skip
    assert client.post(reverse("accession:plan_create"), data).status_code == 302
    bad = client.post(reverse("accession:plan_create"), {**data, "year_to": 2010})
    assert bad.status_code == 400 and "终止年度不能早于起始年度" in bad.content.decode()
    assert ReceiptPlan.objects.count() == 1


# --- acquisitions -------------------------------------------------------------------------------


def test_acquisition_enters_holdings_through_a_batch(wf, run_jobs):  # noqa: F811
    archivist = wf.users["archivist"]
    campaign = services.save_campaign(
        archivist,
        {"title": "花园街区记忆征集", "start_date": date(THIS_YEAR, 1, 1),
         "end_date": date(THIS_YEAR, 12, 31)},
    )  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        services.save_acquisition(
            archivist,
            {"campaign": campaign, "method": "purchase", "donor_name": "王先生",
             "donor_kind": "person", "status": "agreed"},
        )  # fmt: skip
    assert {"price", "agreement_no"} <= set(exc.value.message_dict)
    acquisition = services.save_acquisition(
        archivist,
        {"campaign": campaign, "method": "donation", "donor_name": "李秀英",
         "donor_kind": "person", "agreement_no": "XY-1", "rights": "同意公布",
         "description": "老照片与家书", "status": "received",
         "received_at": date(THIS_YEAR, 3, 1)},
    )  # fmt: skip
    assert acquisition.number.startswith("ZJX-")
    with pytest.raises(PermissionDenied):
        services.create_acquisition_batch(wf.users["officer_a"], acquisition, fonds=wf.fonds_a)
    batch = services.create_acquisition_batch(archivist, acquisition, fonds=wf.fonds_a)
    assert batch.kind == BatchKind.ACQUISITION and batch.number.startswith("ZJ-")
    assert batch.unit is None
    with run_jobs():
        services.upload_catalog(archivist, batch, upload_file(good_rows(count=2)))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CHECKED
    services.submit(archivist, batch)
    with run_jobs():
        services.accept(archivist, batch)
    batch.refresh_from_db()
    acquisition.refresh_from_db()
    assert batch.status == BatchStatus.ACCEPTED
    assert acquisition.status == AcquisitionStatus.ACCESSIONED
    assert Item.objects.filter(accession__batch=batch).count() == 2
    assert batch.handover.transferor == "李秀英"
    # The unit officer never sees acquisition batches.
    assert not services.visible_batches(wf.users["officer_a"]).filter(pk=batch.pk).exists()
    page = wf.client("archivist").get(
        reverse("accession:acquisition_detail", args=[acquisition.pk])
    )
    assert batch.number in page.content.decode()


def test_acquisition_views(wf):  # noqa: F811
    client = wf.client("archivist")
    response = client.post(
        reverse("accession:acquisition_create"),
        {"method": "deposit", "donor_name": "居委会", "donor_kind": "organisation",
         "status": "negotiating"},
    )  # fmt: skip
    assert response.status_code == 400 and "寄存期限" in response.content.decode()
    response = client.post(
        reverse("accession:acquisition_create"),
        {"method": "deposit", "donor_name": "居委会", "donor_kind": "organisation",
         "status": "negotiating", "deposit_until": "2036-12-31"},
    )  # fmt: skip
    assert response.status_code == 302
    assert "居委会" in client.get(reverse("accession:acquisition_list")).content.decode()
    assert wf.client("officer_a").get(reverse("accession:acquisition_list")).status_code == 403


# --- statistics -----------------------------------------------------------------------------------


def test_statistics_received_by_unit_and_category_and_growth(wf):  # noqa: F811
    # 10 items held before (no batch), 5 received this year from unit A, 2 last year from B.
    make_items(wf.fonds_a, 10, year=2001)
    accepted(wf.unit_a, wf.fonds_a, make_items(wf.fonds_a, 5, year=2012))
    last_year = timezone.make_aware(datetime(THIS_YEAR - 1, 7, 1))
    accepted(wf.unit_b, wf.fonds_b, make_items(wf.fonds_b, 2, year=2012), when=last_year)
    stats = services.accession_statistics(THIS_YEAR, baseline_year=THIS_YEAR - 2)
    [row] = stats["received"]
    assert (row["unit_code"], row["category_code"], row["items"], row["total"]) == (
        "QZF", "WS", 5, 5,
    )  # fmt: skip
    assert stats["holdings"]["total"] == 17
    assert stats["baseline_total"] == 10
    assert stats["growth_percent"] == 70.0
    assert stats["by_year"] == [
        {"year": THIS_YEAR - 1, "total": 2},
        {"year": THIS_YEAR, "total": 5},
    ]
    with pytest.raises(ValidationError):
        services.accession_statistics(THIS_YEAR, baseline_year=THIS_YEAR)
    with pytest.raises(PermissionDenied):
        services.statistics_for(wf.users["officer_a"], THIS_YEAR)


def test_statistics_page_and_export_neutralise_formulas(wf, settings):  # noqa: F811
    settings.LANTAI_BASELINE_YEAR = THIS_YEAR - 3
    evil = Unit.objects.create(code="EVIL", name='=HYPERLINK("x")', kind="other")
    accepted(evil, wf.fonds_a, make_items(wf.fonds_a, 3))
    client = wf.client("archivist")
    page = client.get(reverse("accession:statistics")).content.decode()
    assert 'id="accession-stats-data"' in page and "echarts.min.js" in page
    assert f'value="{THIS_YEAR - 3}"' in page
    response = client.get(reverse("accession:statistics_export"), {"year": THIS_YEAR})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert values[0][1] == '\'=HYPERLINK("x")' and values[0][5] == 3
    assert sheet.cell(row=2, column=2).data_type != "f"
    assert AuditEntry.objects.filter(object_type="accession.statistics", action="export").exists()
    assert wf.client("officer_a").get(reverse("accession:statistics")).status_code == 403


def test_dashboard_card_shows_the_years_figures(wf, settings):  # noqa: F811
    from django.core.cache import cache

    from lantai.accession.templatetags.accession_tags import CARD_ROWS

    cache.clear()  # the card's figures are cached for a minute
    settings.LANTAI_BASELINE_YEAR = THIS_YEAR - 2
    # 10 items held before; this year unit A brought 5 WS items and 2 volumes, the school
    # (unit B) 3 YL items; last year's batch is not this year's.
    make_items(wf.fonds_a, 10, year=2001)
    ws = Category.objects.get(code="WS")
    volumes = [
        Volume.objects.create(
            fonds=wf.fonds_a, category=ws, year=2012, retention="Y", volume_no=n, title="卷"
        )
        for n in (1, 2)
    ]
    accepted(wf.unit_a, wf.fonds_a, make_items(wf.fonds_a, 5, year=2012), volumes)
    accepted(wf.unit_b, wf.fonds_b, make_items(wf.fonds_b, 3, category="YL", start=50))
    last_year = timezone.make_aware(datetime(THIS_YEAR - 1, 7, 1))
    accepted(wf.unit_b, wf.fonds_b, make_items(wf.fonds_b, 4, year=2013), when=last_year)
    html = wf.client("archivist").get(reverse("core:dashboard")).content.decode()
    card = html.split('id="accession-card"', 1)[1].split("</section>", 1)[0]
    # 卷(件) this year: 2 volumes + 5 + 3 items; holdings 2 + 10 + 5 + 3 + 4 = 24, of which
    # 14 arrived after the end of the baseline year: 10 before → +140%.
    assert '<span class="stat">10</span>' in card
    assert "卷 2 · 件 8" in card and "馆藏总量 24 卷(件)" in card
    assert f"较{THIS_YEAR - 2}年底增长 +140.0%" in card
    lines = card.split('id="accession-card-rows"', 1)[1].split("</table>", 1)[0]
    assert lines.index(wf.unit_a.name) < lines.index(wf.unit_b.name)  # largest first
    assert "医疗档案" in lines and ">3<" in lines
    # Beyond CARD_ROWS lines the card points to the statistics page.
    cache.clear()
    for n in range(CARD_ROWS):
        unit = Unit.objects.create(code=f"U{n}", name=f"单位{n}", kind="agency")
        accepted(unit, wf.fonds_a, make_items(wf.fonds_a, 1, year=2014, start=200 + n))
    card = wf.client("archivist").get(reverse("core:dashboard")).content.decode()
    assert card.count("<tr><td>单位") + card.count(f"<tr><td>{wf.unit_a.name}") <= CARD_ROWS
    assert "另有 2 行，见接收统计" in card
    # A unit officer sees no card.
    officer = wf.client("officer_a").get(reverse("core:dashboard")).content.decode()
    assert "accession-card" not in officer
    cache.clear()


def test_seed_demo_accession(wf):  # noqa: F811
    make_items(wf.fonds_a, 20, year=2001, unit=wf.unit_a)
    make_items(wf.fonds_b, 20, year=2001, unit=wf.unit_b)
    created = services.seed_demo_accession()
    assert created["plans"] >= 2 and created["acquisitions"] == 2 and created["batches"] >= 1
    rows = services.plan_progress(None)
    assert any(r["plan"].unit == wf.unit_b for r in rows)  # the school is in the plan
    assert len({r["plan"].programme for r in rows}) == 1
    stats = services.accession_statistics(THIS_YEAR)
    assert stats["received_totals"]["total"] >= 1


def test_seed_demo_accession_on_the_demo_archive(db, settings, tmp_path):
    from lantai.holdings.demo.generator import load_demo

    settings.DATA_DIR = tmp_path
    load_demo(items=3000, with_users=False)
    created = services.seed_demo_accession()
    assert created["plans"] >= 12 and created["batches"] >= 3
    rows = services.plan_progress(None)
    kinds = {r["plan"].unit.kind for r in rows}
    assert {"school", "hospital"} <= kinds
    assert any(r["plan"].category.livelihood for r in rows)
    assert any(r["overdue"] for r in rows) and any(r["received_items"] for r in rows)
    stats = services.accession_statistics(THIS_YEAR)
    assert stats["received_totals"]["total"] > 0 and stats["growth_percent"] is not None
