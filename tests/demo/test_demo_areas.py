"""``lantai demo`` for the newer areas: use requests, cross-archive requests, opening review,
supervision, outreach and the statistics they feed.

The demo runs once at a small size through the command (holdings, search index, every part);
then each area must hold data in the states a demo promises, built by the apps' services
(audited), the certificate must verify on the public page, and nothing restricted may reach
the public (exhibitions, portal search, the citizen's own pages). A second run adds nothing.
Commits (transactional_db): the fixity audit and the search index work after commit.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from lantai.accounts.models import User
from lantai.audit.models import AuditEntry
from lantai.audit.services import verify_chain
from lantai.holdings.demo import extras
from lantai.holdings.demo.generator import load_demo
from lantai.holdings.models import Item, Openness
from lantai.holdings.services import visible_items
from lantai.livelihood.models import CrossRequest, CrossStatus, Direction, PartnerArchive
from lantai.opening import services as opening
from lantai.opening.models import BatchStatus, Decision, ReviewBatch, ReviewEntry
from lantai.outreach import services as outreach
from lantai.outreach.models import (
    BookingStatus,
    CompilationProject,
    Exhibit,
    Exhibition,
    Interview,
    MaterialCall,
    PublishStatus,
    VisitBooking,
    VisitSlot,
)
from lantai.portal import public as portal
from lantai.search import services as search
from lantai.statistics import services as statistics
from lantai.supervision import services as supervision
from lantai.supervision.models import (
    Evaluation,
    EvaluationStatus,
    Grade,
    IndicatorSet,
    Inspection,
    Professional,
    Rectification,
    RectificationStatus,
    SetStatus,
    TrainingSession,
)
from lantai.utilization import services as utilization
from lantai.utilization.models import Certificate, RequestStatus, UseRequest

#: Large enough for records due for opening review (the small demos keep old records in
#: volumes of livelihood categories only).
ITEMS = 1500
NEW_PARTS = ("opening", "utilization", "cross", "supervision", "outreach")


def _models() -> dict[str, int]:
    tracked = (
        ReviewBatch,
        ReviewEntry,
        UseRequest,
        Certificate,
        CrossRequest,
        PartnerArchive,
        IndicatorSet,
        Evaluation,
        Inspection,
        Rectification,
        TrainingSession,
        Professional,
        VisitSlot,
        VisitBooking,
        Exhibition,
        Exhibit,
        MaterialCall,
        CompilationProject,
        Interview,
        User,
    )
    return {m.__name__: m.objects.count() for m in tracked}


def _audited(obj) -> bool:
    return AuditEntry.objects.filter(
        object_type=obj._meta.label_lower, object_id=str(obj.pk)
    ).exists()


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    settings.DATA_DIR = Path(tmp_path) / "data"
    from lantai.holdings import refcode

    refcode.clear_scheme_cache()
    out, err = io.StringIO(), io.StringIO()
    call_command("demo", items=ITEMS, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _words(title: str) -> str:
    # A title as plain words: quotes and a leading "-" mean phrase and NOT to the parser.
    return re.sub(r"[\"'\-“”]+", " ", title).strip()


def _public_hits(query: str) -> list[int]:
    result = portal.search(AnonymousUser(), _words(query), filters={}, sort="relevance", page=1)
    return [hit.item_id for hit in result.hits]


def test_demo_fills_the_newer_areas_and_leaks_nothing(demo, client):
    out, err = demo
    for key, label in extras.PARTS:
        if key in NEW_PARTS:
            assert re.search(rf"· {label}：已加载", out), (label, out, err)
    archivist = User.objects.get(username="archivist")
    citizen = User.objects.get(username="public")
    officer = User.objects.get(username="unit_officer")
    supervisor = User.objects.get(username="supervisor")
    anonymous = AnonymousUser()
    public_ids = set(visible_items(anonymous).values_list("pk", flat=True))
    today = timezone.localdate()
    restricted: list[Item] = []

    # --- use requests: every state, each audited with its history; due dates while open.
    requests = list(UseRequest.objects.all())
    assert {r.status for r in requests} >= {
        RequestStatus.SUBMITTED,
        RequestStatus.ACCEPTED,
        RequestStatus.APPROVED,
        RequestStatus.PROVIDED,
        RequestStatus.CLOSED,
        RequestStatus.RETURNED,
    }
    for req in requests:
        assert _audited(req) and req.events.exists()
        if req.is_open:
            assert req.due_date is not None and req.due_date >= today
        else:
            assert req.closed_at is not None
    assert UseRequest.objects.get(status=RequestStatus.RETURNED).reason
    # The citizen's portal page lists only his own requests.
    assert set(utilization.requests_of(citizen)) == {r for r in requests if r.applicant == citizen}
    assert utilization.requests_of(citizen).exists()
    # 特批: a record the public may not see, approved for that applicant alone.
    for requested in UseRequest.objects.get(status=RequestStatus.ACCEPTED).items.all():
        if requested.item_id:
            assert requested.approved and requested.approval_reason
            assert requested.item_id not in public_ids
            restricted.append(requested.item)

    # The certificate: issued once, its code printed once, genuine on the public verify page.
    cert = Certificate.objects.get()
    assert cert.request.status == RequestStatus.CLOSED and not cert.revoked and _audited(cert)
    line = next(line for line in out.splitlines() if line.startswith("档案证明验证码"))
    code = line.split()[-1]
    assert utilization.find_certificate(code) == cert
    page = client.get(reverse("utilization_public:verify_code", args=[code]))
    assert page.status_code == 200 and cert.reference_code in page.content.decode()
    forged = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert client.get(reverse("utilization_public:verify_code", args=[forged])).status_code == 404

    # --- opening review: approved (by someone who did not review it), submitted, in progress.
    batches = {b.status: b for b in ReviewBatch.objects.all()}
    assert set(batches) == {BatchStatus.APPROVED, BatchStatus.SUBMITTED, BatchStatus.DRAFT}
    approved = batches[BatchStatus.APPROVED]
    assert approved.approved_by == archivist and approved.created_by != archivist
    assert not approved.reviewers.filter(pk=archivist.pk).exists()
    assert approved.opinions.exists() and _audited(approved)
    for entry in approved.entries.select_related("item", "volume"):
        record = entry.item or entry.volume
        record.refresh_from_db()
        if entry.decision == Decision.OPEN:
            assert record.openness == Openness.OPEN
        else:
            assert record.openness == Openness.RESTRICTED
            restricted += [entry.item] if entry.item_id else list(entry.volume.items.all())
    assert {e.decision for e in approved.entries.all()} >= {Decision.OPEN, Decision.RESTRICT}
    assert not batches[BatchStatus.SUBMITTED].entries.filter(decision="").exists()
    # The demo archivist did not review it: he may approve it on the screen.
    assert opening.can_approve(archivist, batches[BatchStatus.SUBMITTED])
    draft = batches[BatchStatus.DRAFT].entries
    assert draft.exclude(decision="").exists() and draft.filter(decision="").exists()

    # --- cross-archive requests: 申请 → 受理 → 协办 → 办结, and the other ends.
    cross = list(CrossRequest.objects.all())
    assert {r.status for r in cross} >= {
        CrossStatus.SUBMITTED,
        CrossStatus.ACCEPTED,
        CrossStatus.ASSISTING,
        CrossStatus.DONE,
        CrossStatus.NO_RECORD,
        CrossStatus.RETURNED,
    }
    assert {r.direction for r in cross} == set(Direction.values)
    done = next(r for r in cross if r.status == CrossStatus.DONE)
    assert done.certificate_id and done.items.exists()
    assert [e.action for e in done.events.order_by("at", "pk")] == [
        "apply",
        "accept",
        "answer",
        "conclude",
    ]
    for req in cross:
        assert req.applicant_id_hash and "*" in req.applicant_id_masked  # never in the clear
        restricted += [i for i in req.items.all() if i.pk not in public_ids]

    # --- supervision: a published indicator set for this year (100 points), evaluations in
    # each state, a grade capped by a failed key item, inspections and rectifications.
    indicator_set = IndicatorSet.objects.get(year=today.year)
    assert indicator_set.status == SetStatus.PUBLISHED
    assert supervision.total_points(indicator_set) == Decimal(100)
    evaluations = {e.unit.code: e for e in Evaluation.objects.select_related("unit")}
    assert {e.status for e in evaluations.values()} == set(EvaluationStatus.values)
    assert evaluations["DW007"].grade == Grade.EXCELLENT
    capped = evaluations["DW009"]
    assert capped.grade == Grade.PASS and "2.1" in capped.key_failed
    assert capped.total >= indicator_set.good_min  # the score alone would have been 良好
    own = evaluations["DW008"]
    assert own.status == EvaluationStatus.SELF and own.scores.filter(self_score__isnull=False)
    assert own.scores.filter(self_score__isnull=True).exists()
    # The demo unit officer sees his own unit's evaluation and order only.
    assert set(supervision.visible_evaluations(officer)) == {own}
    mine = list(supervision.visible_rectifications(officer))
    assert mine and all(r.inspection.unit_id == officer.unit_id for r in mine)
    assert any(r.status == RectificationStatus.ISSUED for r in mine)
    assert Rectification.objects.filter(status=RectificationStatus.CLOSED).exists()
    assert supervision.overdue_count(supervisor) >= 1
    assert Inspection.objects.filter(status="planned").exists()
    session = TrainingSession.objects.filter(date__year=today.year).first()
    assert session is not None and session.attendances.filter(professional__isnull=False)
    assert Professional.objects.count() >= 10

    # --- outreach: upcoming slots with bookings, a published exhibition of open records only,
    # a call with offers, compilation, an interview with transcript.
    upcoming = VisitBooking.objects.filter(slot__date__gt=today)
    assert {b.status for b in upcoming} == {
        BookingStatus.PENDING,
        BookingStatus.CONFIRMED,
        BookingStatus.DECLINED,
    }
    assert outreach.bookable_slots().exists()
    for slot in VisitSlot.objects.all():
        held = slot.bookings.filter(
            status__in=(BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)
        )
        assert slot.booked == sum(b.people for b in held) <= slot.capacity
    shown = list(outreach.published_exhibitions())
    assert len(shown) == 1 and Exhibition.objects.filter(status=PublishStatus.DRAFT).exists()
    exhibits = Exhibit.objects.filter(section__exhibition=shown[0])
    assert exhibits.count() >= 3
    assert all(e.item_id in public_ids for e in exhibits)
    assert sum(len(s["exhibits"]) for s in outreach.public_sections(shown[0])) == exhibits.count()
    call = outreach.open_calls().get()
    assert call.offers.count() == 2 and call.offers.filter(photos__isnull=False).exists()
    assert CompilationProject.objects.filter(sources__isnull=False).distinct().count() == 2
    interview = Interview.objects.get()
    assert interview.segments.count() >= 5 and interview.media.exists() and interview.consent_id
    assert outreach.embargoed(interview)
    # The 口述档案 item: restricted under the embargo, its transcript found by staff only.
    assert interview.item is not None and interview.item.openness == Openness.RESTRICTED
    staff_hits = search.search(None, "哪一年进的兰台纺织厂").hits
    assert interview.item_id in {h.item_id for h in staff_hits}
    assert interview.item_id not in {
        h.item_id for h in search.search(AnonymousUser(), "哪一年进的兰台纺织厂").hits
    }

    # --- statistics: this year's figures are not empty in any of these areas.
    figures = {f.key: f.value for f in statistics.annual_report(archivist, today.year)["figures"]}
    for key in (
        "utilization.requests_received",
        "utilization.requests_closed",
        "utilization.certificates",
        "opening.reviewed",
        "opening.opened",
        "supervision.evaluated",
        "supervision.inspections",
        "supervision.rectifications",
        "supervision.training_sessions",
        "supervision.trainees",
        "outreach.exhibitions_published",
        "outreach.compilations_published",
        "outreach.oral_history_interviews",
        "outreach.material_offers",
    ):
        assert figures[key] > 0, key
    if today.timetuple().tm_yday > 10:  # groups received earlier this year
        assert figures["outreach.visitors"] > 0 and figures["outreach.visit_groups"] > 0

    # --- nothing restricted reaches the public: not by the exhibition, not by search.
    assert restricted
    for item in restricted:
        assert item.pk not in public_ids
        assert not Exhibit.objects.filter(item=item).exists()
        assert item.pk not in _public_hits(item.title)
    # The staff search does index them (so the public check above is not vacuous).
    # (a livelihood record names people: its title is specific enough to rank first)
    sample = next((i for i in restricted if i.category.livelihood), restricted[0])
    staff = search.search(archivist, _words(sample.title), per_page=100, facets=False)
    assert sample.pk in [hit.item_id for hit in staff.hits]
    for word in ("兰台", "纺织", "婚姻", "会议"):
        assert set(_public_hits(word)) <= public_ids

    assert verify_chain().ok

    # --- a second run (make run again) adds nothing to these areas.
    before = _models()
    out = io.StringIO()
    call_command("demo", items=ITEMS, if_empty=True, stdout=out, stderr=io.StringIO())
    for key, label in extras.PARTS:
        if key in NEW_PARTS:
            assert f"· {label}：已存在" in out.getvalue(), label
    assert code not in out.getvalue()  # shown once, on the load that issued it
    assert _models() == before


def test_without_demo_accounts_the_areas_are_skipped(transactional_db, settings, tmp_path):
    settings.DATA_DIR = Path(tmp_path) / "data"
    load_demo(items=300, seed=5, with_users=False)
    result = extras.load_extras(only=set(NEW_PARTS))
    assert [p.key for p in result.parts] == list(NEW_PARTS)
    for part in result.parts:
        assert part.status == extras.SKIPPED, (part.key, part.status, part.message)
        assert "没有演示账户" in part.message or "没有到期" in part.message
    assert not UseRequest.objects.exists() and not ReviewBatch.objects.exists()
    assert not User.objects.exists()  # no colleague accounts were left behind
