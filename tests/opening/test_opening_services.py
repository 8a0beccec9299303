"""Opening review services: the due list with per-category terms, batches, decisions,
opinions, approval applying openness, public visibility, scoping, audit, report numbers."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from lantai.audit.models import AuditEntry
from lantai.holdings import services as holdings
from lantai.holdings.models import Item, Openness, Volume
from lantai.opening import services, stats
from lantai.opening.models import BatchStatus, Decision, Deferral, ReviewEntry

REVIEW_YEAR = 2026

pytestmark = pytest.mark.django_db


def due_keys(world, review_year=REVIEW_YEAR, **filters):
    user = world.users["archivist"]
    pks = set(services.due_items(user, review_year, **filters).values_list("pk", flat=True))
    return {k for k, v in world.items.items() if v.pk in pks}


def test_due_list_uses_each_category_term(world):
    assert due_keys(world) == {"a2000", "a2001", "b2000", "k2016"}
    assert due_keys(world, 2027) == {"a2000", "a2001", "a2002", "b2000", "k2016", "k2017"}
    assert due_keys(world, fonds=world.fonds_b) == {"b2000"}
    assert due_keys(world, category=world.kj) == {"k2016"}
    assert due_keys(world, year=2001) == {"a2001"}
    user = world.users["archivist"]
    volumes = services.due_volumes(user, REVIEW_YEAR)
    assert list(volumes) == [world.volume]
    summary = services.due_summary(user, REVIEW_YEAR)
    assert summary["items"] == 4 and summary["volumes"] == 1 and summary["total"] == 5
    per = {r["category"].code: r for r in summary["rows"]}
    assert per["WS"]["items"] == 3 and per["WS"]["volumes"] == 1 and per["KJ"]["items"] == 1


def test_due_list_needs_review_permission(world):
    for name in ("officer_a", "public", "keeper"):
        with pytest.raises(PermissionDenied):
            services.due_items(world.users[name], REVIEW_YEAR)


def make_batch(world, keys, volume=False, user="archivist"):
    return services.create_batch(
        world.users[user],
        review_year=REVIEW_YEAR,
        title="2026年第一批",
        item_ids=[world.items[k].pk for k in keys],
        volume_ids=[world.volume.pk] if volume else [],
    )


def test_batch_from_filter_and_pending_records_leave_the_due_list(world):
    user = world.users["archivist"]
    batch = services.create_batch(user, review_year=REVIEW_YEAR, filters={"fonds": world.fonds_a})
    assert batch.number.startswith(f"KF-{REVIEW_YEAR}-")
    codes = set(batch.entries.values_list("item_id", flat=True))
    assert codes == {world.items[k].pk for k in ("a2000", "a2001", "k2016")}
    entry = batch.entries.get(item=world.items["k2016"])
    assert entry.unit == world.unit_a and entry.due_year == 2026
    assert due_keys(world) == {"b2000"}
    with pytest.raises(ValidationError) as exc:
        make_batch(world, ["a2000"])
    assert "未完成的鉴定批次" in str(exc.value)
    with pytest.raises(ValidationError):
        services.create_batch(user, review_year=REVIEW_YEAR, filters={"fonds": world.fonds_a})


def test_selection_refuses_open_items_and_items_inside_volumes(world):
    for bad in (["open1999"], ["inside"]):
        with pytest.raises(ValidationError):
            make_batch(world, bad)
    with pytest.raises(ValidationError):
        services.create_batch(
            world.users["archivist"], review_year="20x6", item_ids=[world.items["a2000"].pk]
        )


def test_decisions_need_reasons_and_a_later_deferral_year(world):
    batch = make_batch(world, ["a2000", "a2001", "a2002"])
    user = world.users["archivist"]
    entry = {e.item_id: e for e in batch.entries.all()}
    e2000, e2001, e2002 = (entry[world.items[k].pk] for k in ("a2000", "a2001", "a2002"))
    with pytest.raises(ValidationError) as exc:
        services.decide(user, batch, [e2001.pk], Decision.RESTRICT)
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.decide(user, batch, [e2001.pk], Decision.DEFER, reason="涉及个人隐私")
    assert "defer_until" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.decide(user, batch, [e2001.pk], Decision.DEFER, defer_until=2026, reason="x")
    assert "defer_until" in exc.value.message_dict
    # 2002 is not due until 2027: opening it now is 提前开放 and needs a reason.
    with pytest.raises(ValidationError) as exc:
        services.decide(user, batch, [e2000.pk, e2002.pk], Decision.OPEN)
    assert "提前开放" in str(exc.value)
    assert services.decide(user, batch, [e2000.pk], Decision.OPEN) == 1
    services.decide(user, batch, [e2002.pk], Decision.OPEN, reason="经济类档案，可提前开放")
    services.decide(
        user, batch, [e2001.pk], Decision.DEFER, defer_until=2036, reason="涉及个人隐私"
    )
    e2002.refresh_from_db()
    assert e2002.early and e2002.decided_by == user
    audited = AuditEntry.objects.filter(object_type="opening.reviewentry")
    assert audited.count() == 3
    assert audited.get(object_id=str(e2001.pk)).detail["defer_until"] == 2036


def test_full_flow_applies_openness_and_public_visibility(world):
    public = world.users["public"]
    anonymous = world.anonymous
    a2000, a2001 = world.items["a2000"], world.items["a2001"]
    assert not holdings.visible_items(public).filter(pk=a2000.pk).exists()
    batch = make_batch(world, ["a2000", "a2001", "b2000"], volume=True)
    reviewer = world.users["archivist"]
    by_item = {e.item_id: e.pk for e in batch.entries.all() if e.item_id}
    vol_entry = batch.entries.get(volume=world.volume)
    services.decide(reviewer, batch, [by_item[a2000.pk], vol_entry.pk], Decision.OPEN)
    services.decide(
        reviewer, batch, [by_item[a2001.pk]], Decision.DEFER, defer_until=2031, reason="敏感"
    )
    with pytest.raises(ValidationError):  # b2000 still undecided
        services.submit(reviewer, batch)
    services.decide(
        reviewer,
        batch,
        [by_item[world.items["b2000"].pk]],
        Decision.RESTRICT,
        reason="涉及未公开的人事信息",
    )
    services.submit(reviewer, batch)
    with pytest.raises(ValidationError):  # no more decisions once submitted
        services.decide(reviewer, batch, [vol_entry.pk], Decision.RESTRICT, reason="x")
    # The reviewer may not approve their own batch.
    with pytest.raises(PermissionDenied):
        services.approve(reviewer, batch)
    for name in ("officer_a", "public"):
        with pytest.raises(PermissionDenied):
            services.approve(world.users[name], batch)
    before_codes = dict(Item.objects.values_list("pk", "reference_code"))
    audit_before = AuditEntry.objects.count()
    batch = services.approve(world.users["approver"], batch, note="同意")
    assert batch.status == BatchStatus.APPROVED and batch.approved_by == world.users["approver"]
    assert Item.objects.get(pk=a2000.pk).openness == Openness.OPEN
    assert Item.objects.get(pk=a2001.pk).openness == Openness.RESTRICTED
    assert Item.objects.get(pk=world.items["b2000"].pk).openness == Openness.RESTRICTED
    assert Volume.objects.get(pk=world.volume.pk).openness == Openness.OPEN
    assert Item.objects.get(pk=world.items["inside"].pk).openness == Openness.OPEN
    assert dict(Item.objects.values_list("pk", "reference_code")) == before_codes
    # One holdings UPDATE per record written (3 items + volume + its item) and the batch's own.
    updates = AuditEntry.objects.filter(pk__gt=0).order_by("seq")[audit_before:]
    types = [(e.object_type, e.action) for e in updates]
    assert types.count(("holdings.item", "update")) == 4
    assert types.count(("holdings.volume", "update")) == 1
    assert ("opening.reviewbatch", "update") in types
    # Public: only what was opened.
    for who in (public, anonymous):
        visible = set(holdings.visible_items(who).values_list("pk", flat=True))
        assert visible == {world.items["open1999"].pk, a2000.pk, world.items["inside"].pk}
        assert list(holdings.visible_volumes(who)) == [world.volume]
    # The deferral is kept and brings the item back in 2031, not before.
    assert Deferral.objects.get(item=a2001).until_year == 2031
    assert "a2001" not in due_keys(world, 2030)
    assert "a2001" in due_keys(world, 2031)
    # An approved batch is final.
    with pytest.raises(ValidationError):
        services.approve(world.users["approver"], batch)


def test_reviewing_a_deferred_item_again_clears_its_deferral(world):
    batch = make_batch(world, ["a2001"])
    entry = batch.entries.get()
    services.decide(
        world.users["archivist"], batch, [entry.pk], Decision.DEFER, defer_until=2030, reason="敏感"
    )
    services.submit(world.users["archivist"], batch)
    services.approve(world.users["approver"], batch)
    second = services.create_batch(
        world.users["approver"], review_year=2030, filters={"year": 2001}
    )
    assert list(second.entries.values_list("item_id", flat=True)) == [world.items["a2001"].pk]
    services.decide(world.users["approver"], second, [second.entries.get().pk], Decision.OPEN)
    services.submit(world.users["approver"], second)
    services.approve(world.users["archivist"], second)
    assert not Deferral.objects.exists()
    assert Item.objects.get(pk=world.items["a2001"].pk).openness == Openness.OPEN


def test_return_sends_back_with_note(world):
    batch = make_batch(world, ["a2000"])
    services.decide(world.users["archivist"], batch, [batch.entries.get().pk], Decision.OPEN)
    services.submit(world.users["archivist"], batch)
    with pytest.raises(ValidationError):
        services.return_batch(world.users["approver"], batch, "")
    batch = services.return_batch(world.users["approver"], batch, "请补充理由")
    assert batch.status == BatchStatus.DRAFT and batch.return_note == "请补充理由"
    assert Item.objects.get(pk=world.items["a2000"].pk).openness == Openness.UNREVIEWED


def test_unit_officer_sees_only_own_units_batches_and_entries(world):
    batch = make_batch(world, ["a2000", "b2000"])
    only_a = make_batch(world, ["a2001"])
    officer_a, officer_b = world.users["officer_a"], world.users["officer_b"]
    assert set(services.visible_batches(officer_a)) == {batch, only_a}
    assert set(services.visible_batches(officer_b)) == {batch}
    assert not services.visible_batches(world.users["public"]).exists()
    entries_b = services.batch_entries(officer_b, batch)
    assert [e.item_id for e in entries_b] == [world.items["b2000"].pk]
    with pytest.raises(ReviewEntry.batch.field.related_model.DoesNotExist):
        services.get_batch(officer_b, only_a.pk)
    # Opinions: own unit only, an objection needs its text, recorded and audited.
    with pytest.raises(ValidationError):
        services.record_opinion(officer_b, batch, kind="object")
    opinion = services.record_opinion(officer_b, batch, kind="object", text="第2项涉及学生隐私")
    assert opinion.unit == world.unit_b
    with pytest.raises(PermissionDenied):
        services.record_opinion(officer_b, only_a, kind="agree")
    with pytest.raises(PermissionDenied):
        services.decide(officer_a, batch, [batch.entries.first().pk], Decision.OPEN)
    # A reviewer enters an opinion received on paper for a unit.
    services.record_opinion(world.users["archivist"], batch, kind="agree", unit=world.unit_a)
    units = {r["unit"].code: r["opinion"].kind for r in services.batch_units(batch)}
    assert units == {"U-A": "agree", "U-B": "object"}
    assert AuditEntry.objects.filter(object_type="opening.unitopinion").count() == 2


def test_opinion_required_setting_blocks_submit(world, settings):
    settings.LANTAI_OPENING_REQUIRE_OPINION = True
    batch = make_batch(world, ["a2000"])
    services.decide(world.users["archivist"], batch, [batch.entries.get().pk], Decision.OPEN)
    with pytest.raises(ValidationError) as exc:
        services.submit(world.users["archivist"], batch)
    assert world.unit_a.name in str(exc.value)
    services.record_opinion(world.users["officer_a"], batch, kind="agree")
    assert services.submit(world.users["archivist"], batch).status == BatchStatus.SUBMITTED


def test_report_and_annual_figures_equal_the_records(world):
    batch = make_batch(world, ["a2000", "a2001", "k2016", "a2002"])
    entries = {e.item_id: e.pk for e in batch.entries.all()}
    reviewer, approver = world.users["archivist"], world.users["approver"]
    pk = lambda k: entries[world.items[k].pk]  # noqa: E731
    services.decide(reviewer, batch, [pk("a2000"), pk("k2016")], Decision.OPEN)
    services.decide(reviewer, batch, [pk("a2002")], Decision.OPEN, reason="提前开放")
    services.decide(reviewer, batch, [pk("a2001")], Decision.RESTRICT, reason="涉密")
    services.submit(reviewer, batch)
    # Not approved yet: nothing counted.
    assert services.report(approver)["totals"]["reviewed"] == 0
    batch = services.approve(approver, batch)
    year = timezone.localtime(batch.approved_at).year
    data = services.report(approver, year)
    assert data["by_year"] == [
        {"year": year, "reviewed": 4, "open": 3, "defer": 0, "restrict": 1, "early": 1}
    ]
    per = {r["category"].code: r for r in data["by_category"]}
    assert per["WS"]["reviewed"] == 3 and per["KJ"]["open"] == 1
    assert (
        data["open_total"]
        == Item.objects.filter(openness="open", volume__isnull=True).count()
        + Volume.objects.filter(openness="open").count()
    )
    figures = {f.key: f for f in stats.annual_figures(year)}
    assert figures["opening.reviewed"].value == 4
    assert figures["opening.opened"].value == 3
    assert figures["opening.restricted"].value == 1
    assert figures["opening.deferred"].value == 0
    assert sum(figures["opening.opened"].breakdown.values()) == 3
    assert {f.value for f in stats.annual_figures(year - 1)} == {0}
    with pytest.raises(PermissionDenied):
        services.report(world.users["officer_a"])
