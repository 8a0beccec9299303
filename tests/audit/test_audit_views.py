"""The auditor's screens: access, filters, keyset pages, detail, verify, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from lantai.accounts.models import User
from lantai.audit import services
from lantai.audit.models import AuditAction, AuditEntry

KIND = "test.widget"  # an object type only these tests use


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add(n: int, *, action=AuditAction.UPDATE, repr_prefix="部件", actor=None, **kw):
    return [
        services.record(
            action,
            actor=actor,
            object_type=KIND,
            object_id=str(i),
            object_repr=f"{repr_prefix}{i}",
            detail={"i": i},
            **kw,
        )
        for i in range(n)
    ]


def listed_seqs(response) -> list[int]:
    return [e.seq for e in response.context["page"].entries]


# --- access ---------------------------------------------------------------------------------


def test_sysadmin_gets_403_everywhere_in_audit(sysadmin):
    client = as_user(sysadmin)
    entry = add(1)[0]
    for url in (
        reverse("audit:list"),
        reverse("audit:detail", args=[entry.seq]),
        reverse("audit:verify"),
        reverse("audit:export"),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("audit:verify")).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.parametrize("role", ["secadmin", "archivist", "keeper", "unit_officer", "public"])
def test_only_auditor_reads_the_trail(make_user, role, unit):
    client = as_user(make_user("reader", role, unit=unit))
    assert client.get(reverse("audit:list")).status_code == 403
    assert client.get(reverse("audit:export")).status_code == 403


def test_anonymous_redirected(db):
    response = Client().get(reverse("audit:list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_auditor_reads_but_cannot_change(auditor, archivist):
    from django.core.exceptions import PermissionDenied

    from lantai.accounts import services as accounts

    client = as_user(auditor)
    assert client.get(reverse("audit:list")).status_code == 200
    # No route changes an entry: the list, detail and export accept only reads.
    entry = add(1)[0]
    before = (entry.hash, entry.object_repr)
    client.post(reverse("audit:list"), {"object_repr": "x"})
    client.post(reverse("audit:detail", args=[entry.seq]), {"object_repr": "x"})
    entry.refresh_from_db()
    assert (entry.hash, entry.object_repr) == before
    # Nor any account.
    assert client.get(reverse("accounts:user_list")).status_code == 403
    with pytest.raises(PermissionDenied):
        accounts.set_roles(auditor, archivist, ["public"])
    with pytest.raises(PermissionDenied):
        accounts.deactivate_user(auditor, archivist)


# --- list and filters -----------------------------------------------------------------------


def test_filters(auditor, archivist):
    first = add(3)
    mine = add(2, action=AuditAction.DELETE, actor=archivist, repr_prefix="特别件")
    client = as_user(auditor)

    def seqs(**params):
        return listed_seqs(client.get(reverse("audit:list"), {"object_type": KIND, **params}))

    assert seqs() == [e.seq for e in reversed(first + mine)]  # newest first
    assert seqs(action="delete") == [e.seq for e in reversed(mine)]
    assert seqs(actor="archivist1") == [e.seq for e in reversed(mine)]
    assert seqs(text="特别") == [e.seq for e in reversed(mine)]
    assert seqs(object_id="1") == [mine[1].seq, first[1].seq]
    today = timezone.localdate()
    assert len(seqs(date_from=today.isoformat(), date_to=today.isoformat())) == 5
    assert seqs(date_to=(today - timedelta(days=1)).isoformat()) == []
    assert seqs(date_from=(today + timedelta(days=1)).isoformat()) == []


def test_bad_filter_shows_error_and_does_not_500(auditor):
    response = as_user(auditor).get(
        reverse("audit:list"), {"date_from": "2024-13-45", "date_to": "2024-01-01"}
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    response = as_user(auditor).get(
        reverse("audit:list"), {"date_from": "2024-02-01", "date_to": "2024-01-01"}
    )
    assert "截止日期不能早于起始日期" in response.content.decode()


def test_keyset_pages_without_count(auditor, settings):
    settings.LANTAI_PAGE_SIZE = 3
    made = [e.seq for e in add(7)]
    newest_first = list(reversed(made))
    client = as_user(auditor)
    url = reverse("audit:list")

    with CaptureQueriesContext(connection) as queries:
        page1 = client.get(url, {"object_type": KIND})
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    assert listed_seqs(page1) == newest_first[:3]
    p = page1.context["page"]
    assert p.newer is None and p.older == newest_first[2]

    page2 = client.get(url, {"object_type": KIND, "before": p.older})
    assert listed_seqs(page2) == newest_first[3:6]
    p2 = page2.context["page"]
    page3 = client.get(url, {"object_type": KIND, "before": p2.older})
    assert listed_seqs(page3) == newest_first[6:]
    assert page3.context["page"].older is None

    back = client.get(url, {"object_type": KIND, "after": page3.context["page"].newer})
    assert listed_seqs(back) == newest_first[3:6]
    top = client.get(url, {"object_type": KIND, "after": back.context["page"].newer})
    assert listed_seqs(top) == newest_first[:3]
    assert top.context["page"].newer is None
    assert f"before={p.older}" in page1.content.decode()


def test_detail_shows_json_and_hashes(auditor):
    entry = services.record(
        AuditAction.UPDATE,
        object_type=KIND,
        object_id="9",
        object_repr="部件9",
        detail={"题名": ["旧", "新"]},
    )
    html = as_user(auditor).get(reverse("audit:detail", args=[entry.seq])).content.decode()
    assert entry.hash in html and entry.prev_hash in html
    assert "题名" in html and "旧" in html
    assert as_user(auditor).get(reverse("audit:detail", args=[10**9])).status_code == 404


# --- verify ---------------------------------------------------------------------------------


def test_verify_button_shows_result_and_is_audited(auditor):
    add(2)
    client = as_user(auditor)
    assert "开始校验" in client.get(reverse("audit:verify")).content.decode()
    response = client.post(reverse("audit:verify"))
    assert response.status_code == 200
    assert "审计链完整" in response.content.decode()
    last = AuditEntry.objects.order_by("-seq").first()
    assert last.action == AuditAction.SYSTEM and last.detail["event"] == "verify_chain"
    assert last.actor_id == auditor.pk and last.detail["ok"] is True


def test_verify_shows_the_anchor_and_checks_the_ones_given(auditor):
    client = as_user(auditor)  # signing in is itself an entry: before the ones added here
    entries = add(2)
    response = client.post(reverse("audit:verify"))
    head = response.context["report"].head_anchor
    assert head == f"{entries[-1].seq}:{entries[-1].hash}"
    assert f'<code id="head-anchor">{head}</code>' in response.content.decode()
    # The anchor still matches (the verification entry came after it).
    response = client.post(reverse("audit:verify"), {"anchors": head + "\n"})
    assert response.context["report"].ok
    last = AuditEntry.objects.order_by("-seq").first()
    assert last.detail["anchors"] == [head]


def test_verify_names_a_missing_tail_without_linking_to_it(auditor):
    add(1)
    client = as_user(auditor)
    beyond = AuditEntry.objects.order_by("-seq").first().seq + 10
    response = client.post(reverse("audit:verify"), {"anchors": f"{beyond}:{'a' * 64}"})
    report = response.context["report"]
    assert not report.ok and report.broken_seq == beyond - 10 + 1
    html = response.content.decode()
    assert "末尾条目被删除" in html
    assert reverse("audit:detail", args=[report.broken_seq]) not in html


def test_verify_anchor_errors_in_place_and_nothing_checked(auditor):
    client = as_user(auditor)
    before = AuditEntry.objects.filter(detail__event="verify_chain").count()
    response = client.post(reverse("audit:verify"), {"anchors": "12:" + "a" * 64 + "\nabc"})
    assert response.status_code == 200
    assert response.context["report"] is None
    errors = response.context["form"].errors["anchors"]
    assert errors == ["锚点“abc”格式不正确，应为“序号:摘要”（摘要为64位十六进制）"]
    assert "has-error" in response.content.decode()
    assert AuditEntry.objects.filter(detail__event="verify_chain").count() == before


# --- export ---------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_export_neutralises_formulas_and_is_audited(auditor):
    for text in ('=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "正常"):
        services.record(AuditAction.UPDATE, object_type=KIND, object_repr=text)
    response = as_user(auditor).get(reverse("audit:export"), {"object_type": KIND})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    header, body = rows[0], rows[1:]
    assert header[0] == "序号" and "摘要" in header
    reprs = [row[header.index("对象")] for row in body]
    assert reprs == ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)", "正常"]
    export = AuditEntry.objects.filter(action=AuditAction.EXPORT).get()
    assert export.actor_id == auditor.pk
    assert export.detail == {"filters": {"object_type": KIND}, "count": 5}
    assert all(int(row[0]) < export.seq for row in body)


def test_csv_safe():
    assert services.csv_safe("=1+1") == "'=1+1"
    assert services.csv_safe("\t=1") == "'\t=1"
    assert services.csv_safe("安全") == "安全"
    assert services.csv_safe(None) == ""
    assert services.csv_safe(5) == "5"
