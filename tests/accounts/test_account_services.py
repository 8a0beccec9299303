"""Account services: who may do what, 三员分立, validation, audit entries."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from lantai.accounts import services
from lantai.accounts.models import User
from lantai.accounts.roles import ROLE_PERMISSIONS, Role
from lantai.audit.models import AuditAction, AuditEntry


def entries_for(user: User, action: str | None = None):
    qs = AuditEntry.objects.filter(object_type="accounts.user", object_id=str(user.pk))
    if action:
        qs = qs.filter(action=action)
    return list(qs.order_by("seq"))


# --- creating accounts ----------------------------------------------------------------------


def test_sysadmin_creates_account_without_roles_and_it_is_audited(sysadmin, password):
    user = services.create_user(
        sysadmin, username="zhang3", password=password, real_name="张三", phone="13800000000"
    )
    user.refresh_from_db()
    assert user.role_codes == set()
    assert not user.is_superuser and not user.is_staff
    assert user.check_password(password)
    [entry] = entries_for(user, AuditAction.CREATE)
    assert entry.actor_id == sysadmin.pk
    assert entry.detail["username"] == "zhang3"
    assert entry.detail["roles"] == []
    assert password not in json.dumps(entry.detail, ensure_ascii=False)


def test_password_is_hashed_with_argon2(sysadmin, password):
    user = services.create_user(sysadmin, username="hashme", password=password)
    assert user.password.startswith("argon2$argon2id$")
    assert password not in user.password


def test_roles_at_creation_need_assign_roles(sysadmin, password):
    with pytest.raises(PermissionDenied):
        services.create_user(sysadmin, username="x1", password=password, roles=["archivist"])
    assert not User.objects.filter(username="x1").exists()


def test_secadmin_cannot_create_accounts(secadmin, password):
    with pytest.raises(PermissionDenied):
        services.create_user(secadmin, username="x2", password=password)


@pytest.mark.parametrize("role", ["auditor", "archivist", "public"])
def test_other_roles_cannot_create_accounts(make_user, role, password):
    actor = make_user("actor", role)
    with pytest.raises(PermissionDenied):
        services.create_user(actor, username="x3", password=password)


def test_system_may_create_with_roles(db, password):
    user = services.create_user(None, username="boot", password=password, roles=["sysadmin"])
    assert user.role_codes == {"sysadmin"}
    assert user.has_perm("accounts.manage_users")
    [entry] = entries_for(user, AuditAction.CREATE)
    assert entry.actor_id is None and entry.detail["roles"] == ["sysadmin"]


def test_weak_password_refused_with_chinese_field_errors(sysadmin):
    with pytest.raises(ValidationError) as exc:
        services.create_user(sysadmin, username="weak", password="12345")
    messages = exc.value.message_dict["password"]
    assert any("密码" in m for m in messages)
    assert any("太短" in m for m in messages)
    assert not User.objects.filter(username="weak").exists()


def test_password_similar_to_username_refused(sysadmin):
    with pytest.raises(ValidationError) as exc:
        services.create_user(
            sysadmin, username="wangxiaoming", password="wangxiaoming1", real_name="王小明"
        )
    assert "password" in exc.value.message_dict


def test_duplicate_username_refused_case_insensitively(sysadmin, password):
    services.create_user(sysadmin, username="LiSi", password=password)
    with pytest.raises(ValidationError) as exc:
        services.create_user(sysadmin, username="lisi", password=password)
    assert "已被使用" in exc.value.message_dict["username"][0]


def test_bad_username_email_phone_reported_together(sysadmin, password):
    with pytest.raises(ValidationError) as exc:
        services.create_user(
            sysadmin, username="bad name!", password=password, email="no-at", phone="abc"
        )
    assert {"username", "email", "phone"} <= set(exc.value.message_dict)


# --- roles and 三员分立 -----------------------------------------------------------------------


def test_secadmin_sets_roles_and_change_is_audited(secadmin, make_user):
    user = make_user("worker")
    services.set_roles(secadmin, user, ["archivist", "keeper"])
    user = User.objects.get(pk=user.pk)
    assert user.role_codes == {"archivist", "keeper"}
    assert user.has_perm("holdings.change_holdings")
    [entry] = entries_for(user, AuditAction.ROLE_CHANGE)
    assert entry.actor_id == secadmin.pk
    assert entry.detail == {"roles": [[], ["archivist", "keeper"]]}

    services.set_roles(secadmin, user, ["keeper"])
    entry = entries_for(user, AuditAction.ROLE_CHANGE)[-1]
    assert entry.detail == {"roles": [["archivist", "keeper"], ["keeper"]]}
    assert not User.objects.get(pk=user.pk).has_perm("holdings.change_holdings")


@pytest.mark.parametrize(
    "roles",
    [
        ["sysadmin", "archivist"],
        ["auditor", "public"],
        ["secadmin", "auditor"],
        ["sysadmin", "secadmin", "auditor"],
    ],
)
def test_separated_roles_exclude_every_other_role(secadmin, make_user, roles):
    user = make_user("someone")
    with pytest.raises(ValidationError) as exc:
        services.set_roles(secadmin, user, roles)
    assert "三员" in exc.value.message_dict["roles"][0]
    assert User.objects.get(pk=user.pk).role_codes == set()


def test_separated_roles_enforced_at_creation_too(db, password):
    with pytest.raises(ValidationError):
        services.create_user(
            None, username="both", password=password, roles=["sysadmin", "auditor"]
        )
    assert not User.objects.filter(username="both").exists()


def test_secadmin_cannot_change_own_roles(secadmin):
    with pytest.raises(PermissionDenied):
        services.set_roles(secadmin, secadmin, ["secadmin"])
    with pytest.raises(PermissionDenied):
        services.set_roles(secadmin, secadmin, [])
    assert User.objects.get(pk=secadmin.pk).role_codes == {"secadmin"}


@pytest.mark.parametrize("role", ["sysadmin", "auditor", "archivist"])
def test_only_secadmin_assigns_roles(make_user, role):
    actor = make_user("actor", role)
    user = make_user("target")
    with pytest.raises(PermissionDenied):
        services.set_roles(actor, user, ["public"])


def test_unit_officer_needs_unit(secadmin, make_user, unit):
    no_unit = make_user("officer0")
    with pytest.raises(ValidationError) as exc:
        services.set_roles(secadmin, no_unit, ["unit_officer"])
    assert "单位" in exc.value.message_dict["roles"][0]
    with_unit = make_user("officer1", unit=unit)
    services.set_roles(secadmin, with_unit, ["unit_officer"])
    assert User.objects.get(pk=with_unit.pk).role_codes == {"unit_officer"}


def test_unknown_role_refused(secadmin, make_user):
    with pytest.raises(ValidationError) as exc:
        services.set_roles(secadmin, make_user("u"), ["emperor"])
    assert "emperor" in exc.value.message_dict["roles"][0]


def test_role_permissions_keep_the_three_apart(sysadmin, secadmin, auditor):
    # The administrator can neither read nor verify the audit trail.
    assert not sysadmin.has_perm("audit.view_auditentry")
    assert not sysadmin.has_perm("audit.verify_chain")
    assert not sysadmin.has_perm("accounts.assign_roles")
    # The security officer grants roles but does not create accounts or read the trail.
    assert secadmin.has_perm("accounts.assign_roles")
    assert not secadmin.has_perm("accounts.manage_users")
    assert not secadmin.has_perm("audit.view_auditentry")
    # The auditor reads and verifies, and nothing else.
    assert auditor.get_all_permissions() == {"audit.view_auditentry", "audit.verify_chain"}
    for user in (sysadmin, secadmin, auditor):
        assert not user.has_perm("audit.change_auditentry")
        assert not user.has_perm("audit.delete_auditentry")
        assert not user.is_superuser
    assert set(ROLE_PERMISSIONS) == set(Role.values)
    # No Django admin site to reach around the services.
    assert "django.contrib.admin" not in settings.INSTALLED_APPS


# --- profile, activation, passwords ----------------------------------------------------------


def test_update_profile_records_changes(sysadmin, make_user, unit):
    user = make_user("p1", real_name="旧名")
    services.update_profile(sysadmin, user, real_name="新名", unit=unit)
    user.refresh_from_db()
    assert user.real_name == "新名" and user.unit == unit
    entry = entries_for(user, AuditAction.UPDATE)[-1]
    assert entry.detail["changes"] == {"real_name": ["旧名", "新名"], "unit": [None, unit.code]}


def test_update_profile_field_errors(sysadmin, make_user):
    user = make_user("p2", phone="13900000000")
    with pytest.raises(ValidationError) as exc:
        services.update_profile(sysadmin, user, phone="电话", email="bad")
    assert {"phone", "email"} <= set(exc.value.message_dict)
    user.refresh_from_db()
    assert user.phone == "13900000000"


def test_own_profile_but_not_own_unit(make_user, unit):
    user = make_user("p3", "archivist")
    services.update_profile(user, user, real_name="自己改")
    assert User.objects.get(pk=user.pk).real_name == "自己改"
    with pytest.raises(PermissionDenied):
        services.update_profile(user, user, unit=unit)


def test_unit_officer_keeps_a_unit(sysadmin, secadmin, make_user, unit):
    officer = make_user("o1", unit=unit)
    services.set_roles(secadmin, officer, ["unit_officer"])
    officer = User.objects.get(pk=officer.pk)
    with pytest.raises(ValidationError) as exc:
        services.update_profile(sysadmin, officer, unit=None)
    assert "unit" in exc.value.message_dict
    assert User.objects.get(pk=officer.pk).unit == unit


def test_deactivate_and_reactivate(sysadmin, make_user):
    user = make_user("d1", "archivist")
    services.deactivate_user(sysadmin, user)
    assert not User.objects.get(pk=user.pk).is_active
    services.reactivate_user(sysadmin, user)
    assert User.objects.get(pk=user.pk).is_active
    events = [e.detail["event"] for e in entries_for(user, AuditAction.ACCOUNT)]
    assert events == ["deactivate", "reactivate"]


def test_cannot_deactivate_self(sysadmin):
    with pytest.raises(PermissionDenied):
        services.deactivate_user(sysadmin, sysadmin)


def test_secadmin_and_auditor_cannot_deactivate(secadmin, auditor, make_user):
    user = make_user("d2")
    for actor in (secadmin, auditor):
        with pytest.raises(PermissionDenied):
            services.deactivate_user(actor, user)


def test_sysadmin_cannot_touch_auditor_or_secadmin_accounts(sysadmin, secadmin, auditor, password):
    # Otherwise the administrator could reset the auditor's password and read the trail.
    for target in (secadmin, auditor):
        with pytest.raises(PermissionDenied):
            services.reset_password(sysadmin, target, password + "x")
        with pytest.raises(PermissionDenied):
            services.deactivate_user(sysadmin, target)
        with pytest.raises(PermissionDenied):
            services.update_profile(sysadmin, target, real_name="改")
    # The operator on the server (actor None) can.
    services.reset_password(None, auditor, password + "x")
    assert User.objects.get(pk=auditor.pk).check_password(password + "x")


def test_reset_password_audited_without_the_password(sysadmin, make_user):
    user = make_user("r1", "archivist")
    new = "Brand-new-secret-77"
    services.reset_password(sysadmin, user, new)
    assert User.objects.get(pk=user.pk).check_password(new)
    entry = entries_for(user, AuditAction.ACCOUNT)[-1]
    assert entry.detail == {"event": "reset_password"}
    dump = json.dumps([e.detail for e in AuditEntry.objects.all()], ensure_ascii=False)
    assert new not in dump


def test_reset_password_validates(sysadmin, make_user):
    user = make_user("r2")
    with pytest.raises(ValidationError) as exc:
        services.reset_password(sysadmin, user, "short")
    assert "password" in exc.value.message_dict


def test_change_own_password(make_user, password):
    user = make_user("c1", "keeper")
    with pytest.raises(ValidationError) as exc:
        services.change_own_password(user, "wrong-old-password", "Another-good-pass-1")
    assert "原密码" in exc.value.message_dict["old_password"][0]
    with pytest.raises(ValidationError) as exc:
        services.change_own_password(user, password, "1234567890")
    assert "password" in exc.value.message_dict
    services.change_own_password(user, password, "Another-good-pass-1")
    assert User.objects.get(pk=user.pk).check_password("Another-good-pass-1")
    assert entries_for(user, AuditAction.ACCOUNT)[-1].detail == {"event": "change_own_password"}


def test_list_users_needs_manage_or_assign(sysadmin, secadmin, auditor, archivist):
    assert services.list_users(sysadmin).filter(pk=archivist.pk).exists()
    assert services.list_users(secadmin, role="auditor").get() == auditor
    for actor in (auditor, archivist):
        with pytest.raises(PermissionDenied):
            services.list_users(actor)


# --- a role's permissions changed by an upgrade ------------------------------------------------


def permission_changes():
    return list(
        AuditEntry.objects.filter(action=AuditAction.PERMISSION_CHANGE, object_type="auth.group")
    )


def test_migrate_puts_role_permissions_back_and_audits_the_change(db):
    """An older version's keeper role (without handle_alarm, with a stray permission) is
    brought in step by the next migrate, and the change is in the audit trail."""
    from django.contrib.auth.models import Group, Permission
    from django.core.management import call_command

    keeper = Group.objects.get(name=Role.KEEPER)
    keeper.permissions.remove(Permission.objects.get(codename="handle_alarm"))
    keeper.permissions.add(Permission.objects.get(codename="change_holdings"))
    before = {e.seq for e in permission_changes()}

    call_command("migrate", verbosity=0)

    new = [e for e in permission_changes() if e.seq not in before]
    assert len(new) == 1
    entry = new[0]
    assert entry.object_id == "keeper" and entry.object_repr == "库管员"
    assert entry.detail["added"] == ["vault.handle_alarm"]
    assert entry.detail["removed"] == ["holdings.change_holdings"]
    assert entry.actor_id is None
    assert set(keeper.permissions.values_list("codename", flat=True)) == {
        name.split(".")[1] for name in ROLE_PERMISSIONS[Role.KEEPER]
    }


def test_migrate_without_changes_records_nothing(db):
    from django.core.management import call_command

    before = len(permission_changes())
    call_command("migrate", verbosity=0)
    assert len(permission_changes()) == before
