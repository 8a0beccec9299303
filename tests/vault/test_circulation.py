# ruff: noqa: F811  (pytest fixtures imported below are used as test arguments)
"""Physical circulation 出入库 (request → approve → take out → return), overdue reminders and
the vault entry log, on the real database."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from lantai.accounts.roles import Role
from lantai.audit.models import AuditAction, AuditEntry
from lantai.holdings.models import Carrier
from lantai.vault import services_shelves as shelves
from lantai.vault.models import Circulation, CirculationStatus, VaultEntry
from ui.world import build_world
from vault.shelves_world import build_shelves, keeper2, sh, world  # noqa: F401


def _trail(circ):
    return list(
        AuditEntry.objects.filter(object_type="vault.circulation", object_id=str(circ.pk))
        .order_by("seq")
        .values_list("action", "actor_username", "detail")
    )


def test_full_cycle_with_whereabouts(sh, keeper2):
    item_in_box = sh.world.items_a[0]
    circ = shelves.request_circulation(
        sh.archivist,
        {
            "purpose": "编研查阅",
            "targets": [item_in_box.reference_code, shelves.scan_payload(sh.volume)],
        },
    )
    assert circ.number.startswith(f"CK{timezone.localdate().year}-")
    assert circ.status == CirculationStatus.REQUESTED
    assert circ.lines.count() == 2
    assert shelves.whereabouts(item_in_box).pending == [circ]

    circ = shelves.approve_circulation(sh.keeper, circ)
    assert (circ.status, circ.approved_by) == (CirculationStatus.APPROVED, sh.keeper)
    circ = shelves.take_out(keeper2, circ)
    assert circ.status == CirculationStatus.OUT and circ.handled_by == keeper2
    # No date given: the default loan period.
    assert abs(circ.due_at - circ.out_at - dt.timedelta(days=shelves.loan_days())) < dt.timedelta(
        seconds=1
    )
    # Holdings show where the item is now: out on this circulation, its shelf remembered.
    where = shelves.whereabouts(item_in_box)
    assert where.out_on == circ and where.location == sh.a
    # An item inside the volume is out with its volume.
    assert shelves.whereabouts(sh.volume.items.first()).out_on == circ

    line = circ.lines.get(volume=sh.volume)
    circ = shelves.return_lines(sh.keeper, circ, [line])
    assert circ.status == CirculationStatus.OUT
    assert shelves.whereabouts(sh.volume).out_on is None
    circ = shelves.return_lines(sh.keeper, circ)
    assert circ.status == CirculationStatus.RETURNED and circ.returned_at
    assert shelves.whereabouts(item_in_box).out_on is None

    trail = _trail(circ)
    assert [a for a, _u, _d in trail] == ["create", "update", "update", "update", "update"]
    assert [u for _a, u, _d in trail] == ["archivist", "keeper", "keeper2", "keeper", "keeper"]
    assert trail[1][2]["status"] == ["requested", "approved"]
    assert trail[2][2]["status"] == ["approved", "out"]
    assert trail[-1][2]["status"] == ["out", "returned"]


def test_numbers_run_on(sh):
    first = shelves.request_circulation(sh.archivist, {"purpose": "a", "targets": [sh.item]})
    second = shelves.request_circulation(sh.keeper, {"purpose": "b", "targets": [sh.box2]})
    assert int(second.number[-5:]) == int(first.number[-5:]) + 1


def test_no_self_approval_and_keepers_only(sh, keeper2):
    circ = shelves.request_circulation(sh.keeper, {"purpose": "整理", "targets": [sh.box2]})
    with pytest.raises(ValidationError) as exc:
        shelves.approve_circulation(sh.keeper, circ)
    assert "本人" in exc.value.messages[0]
    with pytest.raises(PermissionDenied):
        shelves.approve_circulation(sh.archivist, circ)
    shelves.approve_circulation(keeper2, circ)


def test_state_machine_refuses_out_of_order_steps(sh):
    circ = shelves.request_circulation(sh.archivist, {"purpose": "查阅", "targets": [sh.item]})
    with pytest.raises(ValidationError) as exc:
        shelves.take_out(sh.keeper, circ)
    assert "已申请" in exc.value.messages[0]
    with pytest.raises(ValidationError):
        shelves.return_lines(sh.keeper, circ)
    shelves.reject_circulation(sh.keeper, circ, "该档案正在修裱")
    circ.refresh_from_db()
    assert circ.status == CirculationStatus.REJECTED and "修裱" in circ.note
    with pytest.raises(ValidationError):
        shelves.approve_circulation(sh.keeper, circ)
    with pytest.raises(ValidationError) as exc:
        shelves.reject_circulation(sh.keeper, circ, "")
    assert "驳回理由" in exc.value.messages[0]


def test_cancel_by_requester_but_not_by_others(sh, keeper2):
    circ = shelves.request_circulation(sh.archivist, {"purpose": "查阅", "targets": [sh.item]})
    other = build_world_user(sh, "archivist2", Role.ARCHIVIST)
    with pytest.raises(PermissionDenied):
        shelves.cancel_circulation(other, circ)
    circ = shelves.cancel_circulation(sh.archivist, circ)
    assert circ.status == CirculationStatus.CANCELLED
    # The item is free again.
    shelves.request_circulation(other, {"purpose": "再查", "targets": [sh.item]})


def build_world_user(sh, username, role):
    from ui.world import make_user

    return make_user(username, role)


def test_bad_requests_are_refused_with_reasons(sh):
    electronic = sh.world.items_a[3]
    electronic.carrier = Carrier.ELECTRONIC
    electronic.save()
    with pytest.raises(ValidationError) as exc:
        shelves.request_circulation(
            sh.archivist,
            {
                "purpose": "",
                "targets": ["NO-SUCH-CODE", sh.a.code, electronic, sh.box1],
                "due_at": "2001-01-01",
            },
        )
    errors = exc.value.message_dict
    assert "出库事由不能为空" in errors["purpose"][0]
    assert "晚于现在" in errors["due_at"][0]
    text = " ".join(errors["targets"])
    assert "NO-SUCH-CODE" in text and "是架位" in text and "电子档案" in text
    assert "只有库管员可以整盒出库" in text
    assert not Circulation.objects.exists()
    with pytest.raises(ValidationError) as exc:
        shelves.request_circulation(sh.archivist, {"purpose": "x", "targets": "  \n "})
    assert "至少" in exc.value.message_dict["targets"][0]


def test_cannot_ask_for_what_one_may_not_see(sh):
    restricted = sh.world.restricted_a
    officer_b = build_world_user(sh, "officer-b", Role.UNIT_OFFICER)
    officer_b.unit = sh.world.unit_b
    officer_b.save()
    with pytest.raises(ValidationError) as exc:
        shelves.request_circulation(
            officer_b, {"purpose": "查", "targets": [restricted.reference_code]}
        )
    # It reads exactly like an unknown code: its existence is not revealed.
    assert "未找到" in exc.value.message_dict["targets"][0]
    with pytest.raises(PermissionDenied):
        shelves.request_circulation(
            sh.world.users[Role.PUBLIC], {"purpose": "查", "targets": [sh.item]}
        )


def test_one_open_circulation_per_thing(sh):
    first = shelves.request_circulation(sh.archivist, {"purpose": "a", "targets": [sh.item]})
    with pytest.raises(ValidationError) as exc:
        shelves.request_circulation(sh.keeper, {"purpose": "b", "targets": [sh.item, sh.box2]})
    assert first.number in exc.value.message_dict["targets"][0]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_the_same_item_one_wins():
    """Two people ask for the same item at the same moment: exactly one request is made."""
    world = build_world()
    sh = build_shelves(world)
    other = build_world_user(sh, "archivist2", Role.ARCHIVIST)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def ask(user):
        try:
            barrier.wait(timeout=5)
            shelves.request_circulation(user, {"purpose": "并发", "targets": [sh.item]})
            outcomes.append("ok")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(u,)) for u in (sh.archivist, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["ok", "refused"]
    assert Circulation.objects.count() == 1


# --- overdue reminders --------------------------------------------------------------------------


def _out_circulation(sh, keeper2, days=3):
    sh.archivist.email = "archivist@example.org"
    sh.archivist.save()
    keeper2.email = "keeper2@example.org"
    keeper2.save()
    sh.vault.keepers.add(keeper2)
    circ = shelves.request_circulation(
        sh.archivist, {"purpose": "展览", "targets": [sh.world.items_a[0]]}
    )
    shelves.approve_circulation(sh.keeper, circ)
    return shelves.take_out(sh.keeper, circ, due_at=timezone.now() + dt.timedelta(days=days))


def test_overdue_reminders_mail_once_a_day(sh, keeper2, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    circ = _out_circulation(sh, keeper2)
    assert shelves.send_overdue_reminders() == 0  # not yet due
    later = circ.due_at + dt.timedelta(days=2, hours=1)
    assert list(shelves.overdue_circulations(later)) == [circ]
    assert shelves.send_overdue_reminders(later) == 1
    message = mail.outbox[0]
    assert circ.number in message.subject and "逾期" in message.subject
    # The requester, and the keeper of the vault where the item lives.
    assert set(message.to) == {"archivist@example.org", "keeper2@example.org"}
    assert "逾期2天" in message.body and sh.world.items_a[0].reference_code in message.body
    # Not again within the day; again the next day.
    assert shelves.send_overdue_reminders(later + dt.timedelta(hours=5)) == 0
    assert len(mail.outbox) == 1
    entry = AuditEntry.objects.filter(
        object_type="vault.circulation", object_id=str(circ.pk), action=AuditAction.SYSTEM
    ).get()
    assert entry.detail["event"] == "overdue_reminder"
    assert shelves.send_overdue_reminders(later + dt.timedelta(days=1, minutes=1)) == 1
    assert len(mail.outbox) == 2
    # Once returned, no more reminders.
    shelves.return_lines(sh.keeper, circ)
    assert shelves.send_overdue_reminders(timezone.now() + dt.timedelta(days=9)) == 0


def test_reminder_without_addresses_is_skipped_and_retried(sh, keeper2, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    circ = _out_circulation(sh, keeper2, days=1)
    for user in (sh.archivist, keeper2):
        user.email = ""
        user.save()
    later = circ.due_at + dt.timedelta(hours=2)
    assert shelves.send_overdue_reminders(later) == 0
    sh.archivist.email = "a@example.org"
    sh.archivist.save()
    assert shelves.send_overdue_reminders(later) == 1
    assert mail.outbox[0].to == ["a@example.org"]


def test_periodic_task_sends_reminders(sh, keeper2, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from lantai.vault.tasks import overdue_reminders_task

    circ = _out_circulation(sh, keeper2, days=1)
    Circulation.objects.filter(pk=circ.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    overdue_reminders_task.call_local()
    assert len(mail.outbox) == 1


# --- vault entry log ----------------------------------------------------------------------------


def test_entry_log(sh, keeper2):
    circ = shelves.request_circulation(sh.archivist, {"purpose": "查", "targets": [sh.item]})
    entry = shelves.log_entry(
        sh.keeper,
        {
            "vault": sh.vault.code,
            "reason": "取档",
            "companions": "张三",
            "circulation": circ.number,
        },
    )
    assert entry.person == sh.keeper and entry.left_at is None and entry.circulation == circ
    with pytest.raises(ValidationError) as exc:
        shelves.log_entry(sh.keeper, {"vault": sh.vault, "reason": "又进"})
    assert "尚未登记离开" in exc.value.message_dict["person"][0]
    # Someone else may go in meanwhile, logged by the keeper.
    shelves.log_entry(sh.keeper, {"vault": sh.vault, "reason": "巡查", "person": keeper2.username})
    entry = shelves.log_exit(sh.keeper, entry)
    assert entry.left_at >= entry.entered_at
    with pytest.raises(ValidationError):
        shelves.log_exit(sh.keeper, entry)
    assert AuditEntry.objects.filter(object_type="vault.vaultentry", action="update").exists()


def test_entry_log_validation(sh):
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        shelves.log_entry(
            sh.keeper,
            {
                "vault": "K99",
                "reason": "",
                "entered_at": (now + dt.timedelta(hours=2)).isoformat(),
                "person": "nobody",
            },
        )
    assert set(exc.value.message_dict) == {"vault", "reason", "entered_at", "person"}
    with pytest.raises(ValidationError) as exc:
        shelves.log_entry(
            sh.keeper,
            {
                "vault": sh.vault,
                "reason": "补登",
                "entered_at": now - dt.timedelta(hours=1),
                "left_at": now - dt.timedelta(hours=2),
            },
        )
    assert "早于进入时间" in exc.value.message_dict["left_at"][0]
    with pytest.raises(PermissionDenied):
        shelves.log_entry(sh.archivist, {"vault": sh.vault, "reason": "看看"})
    assert not VaultEntry.objects.exists()
