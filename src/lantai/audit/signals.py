"""Audit signal handlers: logins, failed logins, logouts and lockouts 登录审计.

A failed login records the username that was tried, never the password. Lockouts come from
django-axes (5 failures for one username and address lock it for 15 minutes).
"""

from __future__ import annotations

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from lantai.audit.models import AuditAction
from lantai.audit.services import record

_USER = "accounts.user"


@receiver(user_logged_in, dispatch_uid="lantai_audit_login")
def audit_login(sender, request, user, **kwargs) -> None:
    record(AuditAction.LOGIN, actor=user, obj=user, request=request)


@receiver(user_logged_out, dispatch_uid="lantai_audit_logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is None:  # logging out without a session: nobody to name
        return
    record(AuditAction.LOGOUT, actor=user, obj=user, request=request)


@receiver(user_login_failed, dispatch_uid="lantai_audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django masks the password in ``credentials``; keep only the username all the same.
    username = str((credentials or {}).get("username") or "")[:150]
    record(
        AuditAction.LOGIN_FAILED,
        object_type=_USER,
        object_repr=username,
        username=username,
        detail={
            "username": username,
            "locked_out": bool(getattr(request, "axes_locked_out", False)),
        },
        request=request,
    )


@receiver(user_locked_out, dispatch_uid="lantai_audit_locked_out")
def audit_locked_out(sender, request, username, ip_address, **kwargs) -> None:
    username = str(username or "")[:150]
    record(
        AuditAction.LOCKED_OUT,
        object_type=_USER,
        object_repr=username,
        username=username,
        detail={
            "username": username,
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        },
        request=request,
    )
