"""Account services 账户服务: create and manage accounts, assign roles, passwords.

Every change is audited in the same transaction. Rules:

- 系统管理员 (``accounts.manage_users``) creates accounts, edits profiles, deactivates and
  resets passwords; roles given at creation need ``accounts.assign_roles`` too.
- 安全保密员 (``accounts.assign_roles``) grants and revokes roles, never his own.
- 三员分立: a user holding 系统管理员, 安全保密员 or 安全审计员 holds no other role; an
  account holding a 三员 role the actor does not hold himself is out of the actor's reach
  (otherwise the administrator could reset the auditor's password and read the trail).
  The operator on the server manages such accounts through ``lantai accounts`` (actor None).
- 单位档案员 needs a 所属单位: the unit scopes what the officer sees.
- Lantai never sets ``is_superuser`` or ``is_staff``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from lantai.accounts.models import User
from lantai.accounts.roles import SEPARATED_ROLES, Role
from lantai.audit.models import AuditAction
from lantai.audit.services import changes, record
from lantai.core.permissions import has, require

MANAGE = "accounts.manage_users"
ASSIGN = "accounts.assign_roles"
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")
#: Default of ``update_profile(unit=...)``: leave the unit as it is.
UNCHANGED = object()


# --- helpers --------------------------------------------------------------------------------


def _profile(user: User) -> dict:
    return {
        "real_name": user.real_name,
        "email": user.email,
        "phone": user.phone,
        "unit": user.unit.code if user.unit_id else None,
    }


def _forget_permissions(user: User) -> None:
    # Django and User cache roles and permissions on the instance; drop them after a change.
    for attr in ("_role_codes", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        if hasattr(user, attr):
            delattr(user, attr)


def _password_messages() -> dict[str, str]:
    # Django's own Chinese catalogue lacks some validator messages (e.g. "too short"), so
    # Lantai words them itself, keyed by the validators' error codes.
    return {
        "password_too_short": _("密码太短：至少需要 %(min_length)d 个字符。"),
        "password_too_similar": _("密码与%(verbose_name)s过于相近。"),
        "password_too_common": _("密码过于常见，容易被猜中。"),
        "password_entirely_numeric": _("密码不能全是数字。"),
    }


def _check_password(password: str, user: User, field: str) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        texts = _password_messages()
        messages = []
        for error in exc.error_list:
            params = error.params or {}
            template = texts.get(error.code or "")
            messages.append(template % params if template else " ".join(error.messages))
        raise ValidationError({field: messages}) from exc


def _check_phone(phone: str) -> None:
    if phone and not _PHONE.match(phone):
        raise ValidationError(
            {"phone": [_("手机号格式不正确：只能包含数字、空格、“-”和开头的“+”。")]}
        )


def _merge(errors: dict[str, list[str]], exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        bucket = errors.setdefault(field, [])
        bucket.extend(m for m in messages if m not in bucket)


def _guard_separated(actor: User | None, user: User) -> None:
    """Refuse to act on an account holding a 三员 role the actor does not hold himself."""
    if actor is None:
        return
    foreign = [code for code in user.role_codes if code in SEPARATED_ROLES]
    foreign = [code for code in foreign if not actor.has_role(code)]
    if foreign:
        labels = "、".join(str(Role(code).label) for code in foreign)
        raise PermissionDenied(
            _("该账户持有三员角色（%(roles)s），只能由服务器操作员通过命令行管理。")
            % {"roles": labels}
        )


def check_can_manage(actor: User | None, user: User) -> None:
    """Raise PermissionDenied unless ``actor`` may edit, deactivate or reset ``user``."""
    require(actor, MANAGE)
    if actor is None or actor.pk != user.pk:
        _guard_separated(actor, user)


def validate_roles(roles: Iterable[str], user: User) -> list[str]:
    """Check a role set against 三员分立 and the unit rule; return it sorted by Role order."""
    wanted = {str(code) for code in roles}
    unknown = sorted(wanted - set(Role.values))
    if unknown:
        raise ValidationError({"roles": [_("未知角色：%(codes)s") % {"codes": "、".join(unknown)}]})
    separated = wanted & {str(code) for code in SEPARATED_ROLES}
    if separated and len(wanted) > 1:
        raise ValidationError(
            {
                "roles": [
                    _(
                        "三员分立：系统管理员、安全保密员、安全审计员三者互斥，"
                        "持有其中一个角色的用户不能再持有其他任何角色。"
                    )
                ]
            }
        )
    if Role.UNIT_OFFICER in wanted and user.unit_id is None:
        raise ValidationError({"roles": [_("单位档案员必须先指定所属单位。")]})
    return [code for code in Role.values if code in wanted]


def _apply_roles(user: User, codes: list[str]) -> None:
    groups = list(Group.objects.filter(name__in=codes))
    if len(groups) != len(codes):
        # Role groups come from sync_roles after migrate; a missing one is an install fault.
        raise ValidationError({"roles": [_("角色组缺失，请先运行 lantai migrate。")]})
    user.groups.remove(*Group.objects.filter(name__in=Role.values))
    user.groups.add(*groups)
    _forget_permissions(user)


# --- queries --------------------------------------------------------------------------------


def can_view_users(actor: User) -> bool:
    return has(actor, MANAGE) or has(actor, ASSIGN)


def list_users(
    actor: User | None, *, q: str = "", role: str = "", active: bool | None = None
) -> QuerySet[User]:
    """Accounts visible to the administrator and the security officer, filtered."""
    if actor is not None and not can_view_users(actor):
        raise PermissionDenied(_("您没有查看用户账户的权限。"))
    users = User.objects.select_related("unit").prefetch_related("groups").order_by("username")
    if q:
        users = users.filter(
            Q(username__icontains=q) | Q(real_name__icontains=q) | Q(phone__icontains=q)
        )
    if role:
        users = users.filter(groups__name=role)
    if active is not None:
        users = users.filter(is_active=active)
    return users


# --- changes --------------------------------------------------------------------------------


def create_user(
    actor: User | None,
    *,
    username: str,
    password: str,
    real_name: str = "",
    roles: Iterable[str] = (),
    unit=None,
    email: str = "",
    phone: str = "",
) -> User:
    """Create an account 新建账户. ``actor`` None is the operator on the server (CLI, demo)."""
    require(actor, MANAGE)
    roles = list(roles)
    if roles:
        require(actor, ASSIGN)
    username = (username or "").strip()
    user = User(
        username=username,
        real_name=(real_name or "").strip(),
        email=(email or "").strip(),
        phone=(phone or "").strip(),
        unit=unit,
        is_active=True,
        is_staff=False,
        is_superuser=False,
    )
    errors: dict[str, list[str]] = {}
    clean_exclude = ["password"]
    if username and User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("用户名“%(name)s”已被使用。") % {"name": username}]
        clean_exclude.append("username")
    for check in (
        lambda: user.full_clean(exclude=clean_exclude),
        lambda: _check_phone(user.phone),
        lambda: _check_password(password or "", user, "password"),
        lambda: validate_roles(roles, user),
    ):
        try:
            check()
        except ValidationError as exc:
            _merge(errors, exc)
    if errors:
        raise ValidationError(errors)
    codes = validate_roles(roles, user)
    user.set_password(password)
    taken = _("用户名“%(name)s”已被使用。") % {"name": username}
    with transaction.atomic():
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as exc:
            # Two administrators creating the same name at once: the unique index decides.
            raise ValidationError({"username": [taken]}) from exc
        if codes:
            _apply_roles(user, codes)
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=user,
            detail={"username": user.username, **_profile(user), "roles": codes},
        )
    return user


def set_roles(actor: User | None, user: User, roles: Iterable[str]) -> list[str]:
    """Grant and revoke roles 授权 (安全保密员). Returns the new role codes."""
    require(actor, ASSIGN)
    if actor is not None and actor.pk == user.pk:
        raise PermissionDenied(_("不能修改自己的角色。"))
    codes = validate_roles(roles, user)
    with transaction.atomic():
        before = sorted(user.role_codes)
        _apply_roles(user, codes)
        after = sorted(user.role_codes)
        if before != after:
            record(
                AuditAction.ROLE_CHANGE,
                actor=actor,
                obj=user,
                detail={"roles": [before, after]},
            )
    return codes


def update_profile(
    actor: User | None,
    user: User,
    *,
    real_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    unit=UNCHANGED,
) -> User:
    """Change name, email, phone or unit 修改账户信息 (``unit=None`` clears it).

    Anyone may change his own name, email and phone; the unit scopes what a unit officer
    sees, so only the administrator changes it.
    """
    own = actor is not None and actor.pk == user.pk
    if not own or unit is not UNCHANGED:
        require(actor, MANAGE)
    if not own:
        _guard_separated(actor, user)
    before = _profile(user)
    if real_name is not None:
        user.real_name = real_name.strip()
    if email is not None:
        user.email = email.strip()
    if phone is not None:
        user.phone = phone.strip()
    if unit is not UNCHANGED:
        user.unit = unit
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password", "username"])
    except ValidationError as exc:
        _merge(errors, exc)
    try:
        _check_phone(user.phone)
    except ValidationError as exc:
        _merge(errors, exc)
    if user.unit_id is None and user.has_role(Role.UNIT_OFFICER):
        errors["unit"] = [_("该用户是单位档案员，必须指定所属单位。")]
    if errors:
        user.refresh_from_db()
        raise ValidationError(errors)
    diff = changes(before, _profile(user))
    with transaction.atomic():
        user.save(update_fields=["real_name", "email", "phone", "unit"])
        if diff:
            record(AuditAction.UPDATE, actor=actor, obj=user, detail={"changes": diff})
    return user


def _set_active(actor: User | None, user: User, active: bool) -> User:
    require(actor, MANAGE)
    if actor is not None and actor.pk == user.pk:
        raise PermissionDenied(_("不能停用或启用自己的账户。"))
    _guard_separated(actor, user)
    if user.is_active == active:
        return user
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        record(
            AuditAction.ACCOUNT,
            actor=actor,
            obj=user,
            detail={"event": "reactivate" if active else "deactivate"},
        )
    return user


def deactivate_user(actor: User | None, user: User) -> User:
    """停用账户: the user can no longer sign in; open sessions stop working at once."""
    return _set_active(actor, user, False)


def reactivate_user(actor: User | None, user: User) -> User:
    """启用账户."""
    return _set_active(actor, user, True)


def reset_password(actor: User | None, user: User, new_password: str) -> User:
    """重置密码 by the administrator; also lifts a login lockout on the account."""
    require(actor, MANAGE)
    _guard_separated(actor, user)
    _check_password(new_password or "", user, "password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        record(AuditAction.ACCOUNT, actor=actor, obj=user, detail={"event": "reset_password"})
        from axes.utils import reset as axes_reset

        unlocked = axes_reset(username=user.username)
        if unlocked:
            record(AuditAction.ACCOUNT, actor=actor, obj=user, detail={"event": "unlock"})
    return user


def change_own_password(user: User, old_password: str, new_password: str) -> User:
    """修改本人密码: the old password must be right."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise PermissionDenied(_("请先登录。"))
    if not user.check_password(old_password or ""):
        raise ValidationError({"old_password": [_("原密码不正确。")]})
    if old_password == new_password:
        raise ValidationError({"password": [_("新密码不能与原密码相同。")]})
    _check_password(new_password or "", user, "password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        record(AuditAction.ACCOUNT, actor=user, obj=user, detail={"event": "change_own_password"})
    return user


__all__ = [
    "can_view_users",
    "change_own_password",
    "check_can_manage",
    "create_user",
    "deactivate_user",
    "list_users",
    "reactivate_user",
    "reset_password",
    "set_roles",
    "update_profile",
    "validate_roles",
]
