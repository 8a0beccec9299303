"""统计年报: a year of activity is built from real records (units, holdings, accepted batches,
SIPs and AIPs, fixity audits, vault alarms, evaluations, inspections, training) and EACH figure
of the year is checked against what those records hold; the page, the .xlsx and PDF exports,
and who may read them."""

from __future__ import annotations

import io
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from lantai.audit.models import AuditEntry
from lantai.statistics import registry, services

pytestmark = pytest.mark.django_db

YEAR = 2024
BASE = 2020


def at(year: int, month: int = 6, day: int = 15) -> datetime:
    return timezone.make_aware(datetime(year, month, day, 10, 0))


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def users(db, make_user):
    return {
        "archivist": make_user("arch", "archivist"),
        "supervisor": make_user("sup", "supervisor"),
        "keeper": make_user("keep", "keeper"),
        "public": make_user("pub", "public"),
    }


@pytest.fixture
def year_of_activity(users):
    """Records of several years; returns what the YEAR figures must be, counted while making
    them (not hard-coded)."""
    from lantai.accession.models import BatchItem, BatchKind, BatchStatus, TransferBatch
    from lantai.holdings.models import Category, Fonds, Item, Unit, UnitKind, Volume
    from lantai.ingest.models import Sip, SipStatus
    from lantai.preservation.models import Aip, FixityAudit, FixityAuditStatus
    from lantai.supervision.models import (
        Attendance,
        Evaluation,
        EvaluationStatus,
        Grade,
        IndicatorSet,
        Inspection,
        InspectionKind,
        InspectionStatus,
        Professional,
        Rectification,
        RectificationStatus,
        SetStatus,
        TrainingSession,
    )
    from lantai.vault.models import Alarm, AlarmKind, AlarmStatus, Vault

    ws, kj = Category.objects.get(code="WS"), Category.objects.get(code="KJ")
    units = [
        Unit.objects.create(code=f"S{n}", name=f"单位{n}", kind=UnitKind.AGENCY) for n in range(5)
    ]
    fonds = [
        Fonds.objects.create(code=f"S{n:03d}", name=f"全宗{n}", unit=u) for n, u in enumerate(units)
    ]
    expect: dict[str, object] = {}

    # Holdings made over the years: (created year, fonds, category, standalone items, volumes
    # each with 2 inner items).
    plan = [(2018, 0, ws, 30, 2), (2020, 1, kj, 10, 1), (2022, 2, ws, 7, 0), (2024, 3, ws, 12, 3),
            (2024, 4, kj, 5, 1), (2025, 0, ws, 9, 1)]  # fmt: skip
    made: list[tuple[int, object, str, list, list]] = []
    item_no = 0
    for created, f, cat, n_items, n_volumes in plan:
        volumes = []
        for v in range(n_volumes):
            vol = Volume.objects.create(fonds=fonds[f], category=cat, year=created, retention="Y",
                                        volume_no=v + 1 + created * 10, title="卷")  # fmt: skip
            for k in range(2):
                item_no += 1
                Item.objects.create(fonds=fonds[f], category=cat, year=created, retention="Y",
                                    volume=vol, item_no=k + 1, title="卷内")  # fmt: skip
            volumes.append(vol)
        items = []
        for _ in range(n_items):
            item_no += 1
            item = Item.objects.create(fonds=fonds[f], category=cat, year=created,
                                       retention="D30", item_no=item_no, title="件")  # fmt: skip
            items.append(item)
        Item.objects.filter(fonds=fonds[f], year=created).update(created_at=at(created))
        Volume.objects.filter(fonds=fonds[f], year=created).update(created_at=at(created))
        made.append((created, units[f], cat.name, items, volumes))

    def held(before_year: int) -> tuple[int, dict[str, int]]:
        per: dict[str, int] = {}
        for created, _u, name, items, volumes in made:
            if created < before_year:
                per[name] = per.get(name, 0) + len(items) + len(volumes)
        return sum(per.values()), per

    expect["holdings.total"], expect["holdings.by_category"] = held(YEAR + 1)
    expect["holdings.baseline_total"], _ = held(BASE + 1)
    expect["holdings.items_in_volumes"] = sum(
        2 * len(v) for c, _u, _n, _i, v in made if c < YEAR + 1
    )
    expect["holdings.growth"] = round(
        (expect["holdings.total"] - expect["holdings.baseline_total"]) * 100
        / expect["holdings.baseline_total"], 1)  # fmt: skip

    # Accepted batches: those of YEAR count; one of 2022 and one still submitted do not.
    received: dict[str, int] = {}
    transfer_units = set()
    batches = 0
    for created, unit, name, items, volumes in made:
        batch = TransferBatch.objects.create(
            number=f"B-{created}-{unit.code}", unit=unit, fonds=fonds[units.index(unit)],
            kind=BatchKind.TRANSFER, status=BatchStatus.ACCEPTED, accepted_at=at(created, 3),
        )  # fmt: skip
        BatchItem.objects.bulk_create(
            [BatchItem(batch=batch, item=i) for i in items]
            + [BatchItem(batch=batch, volume=v) for v in volumes]
            + [BatchItem(batch=batch, item=i) for v in volumes for i in v.items.all()]
        )
        if created == YEAR:
            batches += 1
            transfer_units.add(unit.pk)
            received[name] = received.get(name, 0) + len(items) + len(volumes)
    TransferBatch.objects.create(number="B-open", unit=units[1], fonds=fonds[1],
                                 status=BatchStatus.SUBMITTED)  # fmt: skip
    expect["accession.received"] = sum(received.values())
    expect["accession.by_category"] = received
    expect["accession.batches"] = batches
    expect["accession.units"] = len(transfer_units)

    # SIPs and AIPs: 3 archived in YEAR (one in 2023), 2 refused in YEAR.
    some_item = made[3][3][0]
    stored = 0
    for n, when in enumerate([at(YEAR, 2), at(YEAR, 5), at(YEAR, 11), at(2023, 5)]):
        sip = Sip.objects.create(unit=units[3], status=SipStatus.STORED, finished_at=when)
        aip = Aip.objects.create(
            item=some_item, sip=sip, key_prefix=f"aip/{n}", tagmanifest_sha256="0"
        )
        Aip.objects.filter(pk=aip.pk).update(created_at=when)
        stored += when.year == YEAR
    for _ in range(2):
        Sip.objects.create(unit=units[3], status=SipStatus.FAILED)
    Sip.objects.filter(status=SipStatus.FAILED).update(created_at=at(YEAR, 7))
    expect["ingest.sips_archived"] = stored
    expect["preservation.aips"] = stored
    expect["ingest.sips_refused"] = 2
    failures = 0
    audits = 0
    for when, bad in ((at(YEAR, 1), 0), (at(YEAR, 7), 2), (at(YEAR, 12, 1), 1), (at(2023), 9)):
        audit = FixityAudit.objects.create(
            status=FixityAuditStatus.DONE, failures=bad, copies_checked=10
        )
        FixityAudit.objects.filter(pk=audit.pk).update(started_at=when)
        if when.year == YEAR:
            failures += bad
            audits += 1
    expect["preservation.fixity_audits"] = audits
    expect["preservation.fixity_failures"] = failures

    # Vault alarms: by kind in YEAR.
    vault = Vault.objects.create(code="K1", name="一号库", vault_type="paper", temp_min=14,
                                 temp_max=24, rh_min=45, rh_max=60)  # fmt: skip
    kinds = [AlarmKind.THRESHOLD, AlarmKind.THRESHOLD, AlarmKind.WATER, AlarmKind.DOOR]
    by_kind: dict[str, int] = {}
    for n, kind in enumerate(kinds):
        Alarm.objects.create(vault=vault, kind=kind, condition=f"c{n}", message="告警",
                             raised_at=at(YEAR, n + 1), last_seen_at=at(YEAR, n + 1),
                             status=AlarmStatus.RESOLVED, resolved_at=at(YEAR, n + 2))  # fmt: skip
        label = str(AlarmKind(kind).label)
        by_kind[label] = by_kind.get(label, 0) + 1
    Alarm.objects.create(vault=vault, kind=AlarmKind.SMOKE, condition="old", message="旧",
                         raised_at=at(2023), last_seen_at=at(2023))  # fmt: skip
    expect["vault.alarms"] = len(kinds)
    expect["vault.by_kind"] = by_kind

    # Evaluations: published grades in YEAR (one still in review does not count).
    iset = IndicatorSet.objects.create(year=YEAR, name="测评", status=SetStatus.PUBLISHED,
                                       target_excellent_percent=Decimal("90"))  # fmt: skip
    grades = [Grade.EXCELLENT, Grade.EXCELLENT, Grade.EXCELLENT, Grade.GOOD]
    for unit, grade in zip(units, grades, strict=False):
        Evaluation.objects.create(indicator_set=iset, unit=unit, year=YEAR, grade=grade,
                                  status=EvaluationStatus.PUBLISHED)  # fmt: skip
    Evaluation.objects.create(
        indicator_set=iset, unit=units[4], year=YEAR, status=EvaluationStatus.REVIEW
    )
    expect["supervision.evaluated"] = len(grades)
    expect["supervision.excellent_share"] = round(
        grades.count(Grade.EXCELLENT) * 100 / len(grades), 1
    )

    # Inspections: 2 planned carried out, 1 planned not yet, 1 ad hoc; rectifications.
    insp = []
    planned, ad_hoc = InspectionKind.PLANNED, InspectionKind.AD_HOC
    for n, (kind, status) in enumerate([
        (planned, InspectionStatus.DONE), (planned, InspectionStatus.CLOSED),
        (planned, InspectionStatus.PLANNED), (ad_hoc, InspectionStatus.DONE),
    ]):  # fmt: skip
        inspection = Inspection.objects.create(
            number=f"JC-{n}",
            kind=kind,
            status=status,
            plan_year=YEAR,
            unit=units[n],
            subject="检查",
        )
        insp.append(inspection)
    expect["supervision.inspections"] = 3
    expect["supervision.inspections_planned"] = 3
    for n, status in enumerate([RectificationStatus.CLOSED, RectificationStatus.ISSUED,
                                RectificationStatus.RESPONDED]):  # fmt: skip
        Rectification.objects.create(inspection=insp[0], number=f"ZG-{n}", requirement="整改",
                                     deadline=date(YEAR, 9, 1), status=status,
                                     issued_at=at(YEAR, 4))  # fmt: skip
    expect["supervision.rectifications"] = 3

    # Training: two sessions in YEAR, one in 2023.
    hours = Decimal(0)
    trainees = 0
    sessions = [(date(YEAR, 3, 1), Decimal("6"), 3), (date(YEAR, 9, 1), Decimal("2.5"), 2),
                (date(2023, 5, 1), Decimal("8"), 4)]  # fmt: skip
    for when, h, people in sessions:
        session = TrainingSession.objects.create(course="归档实务", date=when, hours=h)
        for p in range(people):
            Attendance.objects.create(session=session, name=f"学员{p}", unit_name="单位")
        if when.year == YEAR:
            hours += h * people
            trainees += people
    expect["supervision.training_sessions"] = 2
    expect["supervision.trainees"] = trainees
    expect["supervision.training_hours"] = hours
    Professional.objects.create(name="甲")
    Professional.objects.create(name="乙", active=False)
    expect["supervision.professionals"] = 1
    return expect


def test_each_figure_equals_the_records(year_of_activity):
    expect = year_of_activity
    figures = registry.by_key(registry.collect(YEAR, baseline_year=BASE))
    assert figures["holdings.total"].value == expect["holdings.total"]
    assert dict(figures["holdings.total"].breakdown) == expect["holdings.by_category"]
    assert figures["holdings.items_in_volumes"].value == expect["holdings.items_in_volumes"]
    assert figures["holdings.baseline_total"].value == expect["holdings.baseline_total"]
    assert figures["holdings.growth"].value == expect["holdings.growth"]
    assert figures["accession.received"].value == expect["accession.received"]
    assert dict(figures["accession.received"].breakdown) == expect["accession.by_category"]
    assert figures["accession.batches"].value == expect["accession.batches"]
    assert figures["accession.units"].value == expect["accession.units"]
    for key in ("ingest.sips_archived", "ingest.sips_refused", "preservation.aips",
                "preservation.fixity_audits", "preservation.fixity_failures", "vault.alarms",
                "supervision.evaluated", "supervision.excellent_share", "supervision.inspections",
                "supervision.inspections_planned", "supervision.rectifications",
                "supervision.training_sessions", "supervision.trainees",
                "supervision.training_hours", "supervision.professionals"):  # fmt: skip
        assert figures[key].value == expect[key], key
    assert dict(figures["vault.alarms"].breakdown) == expect["vault.by_kind"]
    assert (
        sum(figures["supervision.evaluated"].breakdown.values()) == expect["supervision.evaluated"]
    )
    assert figures["supervision.excellent_target"].value == Decimal("90")


def test_page_exports_and_audit(client, users, year_of_activity):
    client.force_login(users["archivist"])
    response = client.get(reverse("statistics:annual"), {"year": YEAR, "baseline": BASE})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="chart-categories"' in html and 'id="chart-grades"' in html
    assert "echarts.min.js" in html and "cdn" not in html.lower()
    report = response.context["report"]
    assert report["charts"]["grades"]["items"][0]["value"] == 3
    assert sum(report["charts"]["categories"]["holdings"]) == year_of_activity["holdings.total"]

    response = client.get(reverse("statistics:export_xlsx"), {"year": YEAR, "baseline": BASE})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    values = {row[4]: row[2] for row in sheet.iter_rows(min_row=3, values_only=True)}
    figures = registry.by_key(registry.collect(YEAR, baseline_year=BASE))
    assert values["holdings.total"] == year_of_activity["holdings.total"]
    assert values["vault.alarms"] == year_of_activity["vault.alarms"]
    assert set(values) == set(figures)

    response = client.get(reverse("statistics:export_pdf"), {"year": YEAR})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    import pikepdf

    assert len(pikepdf.open(io.BytesIO(response.content)).pages) >= 1
    exports = AuditEntry.objects.filter(object_type="statistics.annualreport", object_id=str(YEAR))
    assert sorted(e.detail["format"] for e in exports) == ["pdf", "xlsx"]


def test_bad_year_is_a_clear_error(client, users):
    client.force_login(users["supervisor"])
    response = client.get(reverse("statistics:annual"), {"year": "20x4"})
    assert response.status_code == 400
    assert "年度须为四位数字" in response.content.decode()
    response = client.get(reverse("statistics:export_xlsx"), {"year": 2020, "baseline": 2021})
    assert response.status_code == 400
    assert "基准年度须早于统计年度" in response.content.decode()


@pytest.mark.parametrize("who", ["keeper", "public"])
def test_only_staff_with_permission_read_statistics(client, users, who):
    client.force_login(users[who])
    for name in ("statistics:annual", "statistics:export_xlsx", "statistics:export_pdf"):
        assert client.get(reverse(name), {"year": YEAR}).status_code == 403
    client.logout()
    response = client.get(reverse("statistics:annual"))
    assert response.status_code == 302


def test_unit_officer_cannot_read_statistics(client, make_user):
    from lantai.holdings.models import Unit

    unit = Unit.objects.create(code="U1", name="单位", kind="agency")
    client.force_login(make_user("off", "unit_officer", unit=unit))
    assert client.get(reverse("statistics:annual")).status_code == 403


def test_year_boundaries_are_local_time(users):
    """An alarm at 23:30 on 31 December (local) belongs to that year, not the next."""
    from lantai.vault.models import Alarm, AlarmKind, Vault

    vault = Vault.objects.create(code="K9", name="库", vault_type="paper", temp_min=14,
                                 temp_max=24, rh_min=45, rh_max=60)  # fmt: skip
    late = timezone.make_aware(datetime.combine(date(YEAR, 12, 31), time(23, 30)))
    Alarm.objects.create(vault=vault, kind=AlarmKind.DOOR, condition="d", message="门",
                         raised_at=late, last_seen_at=late)  # fmt: skip
    assert registry.by_key(registry.collect(YEAR))["vault.alarms"].value == 1
    assert registry.by_key(registry.collect(YEAR + 1))["vault.alarms"].value == 0
    assert services.parse_year("2024") == 2024
