"""Signing in and out: Chinese pages, CSRF, axes throttling, audit entries, session expiry."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lantai.accounts import services
from lantai.audit.models import AuditAction, AuditEntry

LOGIN = "/accounts/login/"


def post_login(client: Client, username: str, password: str, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_login_page_is_chinese_and_csrf_protected(db):
    client = Client(enforce_csrf_checks=True)
    page = client.get(LOGIN)
    assert page.status_code == 200
    html = page.content.decode()
    assert "登录" in html and "csrfmiddlewaretoken" in html
    refused = client.post(LOGIN, {"username": "a", "password": "b"})
    assert refused.status_code == 403


def test_anonymous_is_sent_to_login(db, client):
    response = client.get(reverse("core:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_login_and_logout_are_audited(client, make_user, password):
    user = make_user("loginer", "archivist")
    response = post_login(client, "loginer", password)
    assert response.status_code == 302
    assert signed_in(client)
    login = AuditEntry.objects.filter(action=AuditAction.LOGIN, actor_id=user.pk).get()
    assert login.actor_username == "loginer" and login.ip_address == "127.0.0.1"
    assert login.object_id == str(user.pk)

    assert client.get(reverse("accounts:logout")).status_code == 405  # POST only
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert not signed_in(client)
    assert AuditEntry.objects.filter(action=AuditAction.LOGOUT, actor_id=user.pk).count() == 1


def test_failed_login_audited_with_username_never_password(client, make_user):
    make_user("victim")
    secret = "Wrong-Guess-123456"
    response = post_login(client, "victim", secret)
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
    [entry] = AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, object_repr="victim")
    assert entry.actor_id is None
    assert entry.actor_username == "victim"
    assert entry.detail["username"] == "victim"
    dump = json.dumps(
        [[e.detail, e.object_repr, e.actor_username] for e in AuditEntry.objects.all()],
        ensure_ascii=False,
    )
    assert secret not in dump


def test_unknown_username_failure_is_audited(db, client):
    post_login(client, "nobody-here", "whatever-password")
    assert AuditEntry.objects.filter(
        action=AuditAction.LOGIN_FAILED, detail__username="nobody-here"
    ).exists()


def test_sixth_attempt_locked_even_with_right_password(client, make_user, password):
    make_user("target", "archivist")
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    for _ in range(limit - 1):
        assert post_login(client, "target", "not-the-password-1").status_code == 200
    locked = post_login(client, "target", "not-the-password-1")
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "账户已暂时锁定" in html and "15 分钟后" in html

    sixth = post_login(client, "target", password)
    assert sixth.status_code == 429
    assert "账户已暂时锁定" in sixth.content.decode()
    assert not signed_in(client)

    lockouts = AuditEntry.objects.filter(action=AuditAction.LOCKED_OUT, object_repr="target")
    assert lockouts.count() >= 1
    assert lockouts.first().detail["failure_limit"] == 5
    failures = AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, object_repr="target")
    assert failures.count() == limit + 1
    assert failures.order_by("-seq").first().detail["locked_out"] is True


def test_lockout_is_per_username_and_address(client, make_user, password):
    make_user("shared", "keeper")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, "shared", "bad-password-xyz")
    assert post_login(client, "shared", password).status_code == 429
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert post_login(other, "shared", password).status_code == 302


def test_password_reset_lifts_lockout(client, make_user, sysadmin, password):
    user = make_user("forgetful", "archivist")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, "forgetful", "bad-password-xyz")
    assert post_login(client, "forgetful", password).status_code == 429
    services.reset_password(sysadmin, user, "Fresh-start-2024")
    assert post_login(client, "forgetful", "Fresh-start-2024").status_code == 302
    events = AuditEntry.objects.filter(object_id=str(user.pk), action=AuditAction.ACCOUNT)
    assert {"reset_password", "unlock"} <= {e.detail["event"] for e in events}


def test_deactivated_account_cannot_sign_in_and_loses_its_session(
    client, make_user, sysadmin, password
):
    user = make_user("leaver", "archivist")
    assert post_login(client, "leaver", password).status_code == 302
    assert client.get(reverse("core:dashboard")).status_code == 200
    services.deactivate_user(sysadmin, user)
    response = client.get(reverse("core:dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert post_login(Client(), "leaver", password).status_code == 200


# --- sessions -------------------------------------------------------------------------------


def _session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_session_ends_with_browser_and_after_30_idle_minutes(client, make_user, password):
    make_user("sess", "archivist")
    response = post_login(client, "sess", password)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    # A browser-session cookie: no lifetime, so closing the browser ends it.
    assert cookie["max-age"] == "" and cookie["expires"] == ""
    assert cookie["httponly"]
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    remaining = _session_row(client).expire_date - timezone.now()
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)


def _idle(client: Client, minutes: int) -> None:
    """As if ``minutes`` had passed since the session last slid: its stored expiry and its
    own record of the last slide both moved back."""
    from lantai.core.middleware import REFRESHED_KEY

    session = client.session
    session[REFRESHED_KEY] = int(time.time()) - minutes * 60
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=30 - minutes)
    )


def test_session_slides_with_activity(client, make_user, password):
    make_user("slider", "archivist")
    post_login(client, "slider", password)
    _idle(client, 29)  # one minute left
    assert client.get(reverse("core:dashboard")).status_code == 200
    remaining = _session_row(client).expire_date - timezone.now()
    assert remaining > timedelta(minutes=29)


def test_session_is_not_written_again_within_a_minute(client, make_user, password):
    """Sliding the expiry is a write: done once a minute at most, not on every request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_user("busy", "archivist")
    post_login(client, "busy", password)
    assert client.get(reverse("core:dashboard")).status_code == 200
    before = _session_row(client).expire_date
    with CaptureQueriesContext(connection) as ctx:
        for _n in range(3):
            assert client.get(reverse("core:dashboard")).status_code == 200
    writes = [q["sql"] for q in ctx.captured_queries if 'UPDATE "django_session"' in q["sql"]]
    assert writes == []
    assert _session_row(client).expire_date == before
    # A minute later the next request slides it.
    _idle(client, 2)
    assert client.get(reverse("core:dashboard")).status_code == 200
    assert _session_row(client).expire_date - timezone.now() > timedelta(minutes=29)


def test_anonymous_visitors_get_no_session(client, db):
    assert client.get("/api/v1/search?q=档案").status_code == 200
    assert settings.SESSION_COOKIE_NAME not in client.cookies
    assert not Session.objects.exists()


def test_idle_session_expires(client, make_user, password):
    make_user("idler", "archivist")
    post_login(client, "idler", password)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(reverse("core:dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/"])
def test_login_does_not_redirect_off_site(client, make_user, password, target):
    make_user("redir", "archivist")
    response = client.post(LOGIN, {"username": "redir", "password": password, "next": target})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
