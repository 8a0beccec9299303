"""API tokens 接口令牌: issued by the system administrator, only a hash kept, revocable,
expiring, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from lantai.audit.models import AuditEntry
from lantai.ingest import services
from lantai.ingest.models import ApiToken


def test_issue_stores_only_a_hash_and_authenticates(world):
    admin = world.users["sysadmin"]
    token, raw = services.issue_token(admin, world.unit_a, "公文系统")
    assert raw.startswith("lts_") and len(raw) > 40
    row = ApiToken.objects.get(pk=token.pk)
    assert raw not in (row.key_hash, row.key_prefix)
    assert row.key_prefix == raw[:12]
    assert services.authenticate_token(raw).pk == token.pk
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    entry = AuditEntry.objects.filter(object_type__icontains="apitoken").order_by("-pk").first()
    assert entry is not None and entry.detail["event"] == "issue_token"
    assert raw not in str(entry.detail)


def test_wrong_and_tampered_tokens_fail(world):
    raw = world.tokens["a"]
    assert services.authenticate_token("") is None
    assert services.authenticate_token("nonsense") is None
    assert services.authenticate_token(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    assert services.authenticate_token(raw + "x") is None
    assert services.authenticate_token("x" * 500) is None


def test_revoked_and_expired_tokens_fail(world):
    admin = world.users["sysadmin"]
    token = services.authenticate_token(world.tokens["a"])
    services.revoke_token(admin, token)
    assert services.authenticate_token(world.tokens["a"]) is None
    with pytest.raises(ValidationError):
        services.revoke_token(admin, token)
    soon, raw = services.issue_token(
        admin, world.unit_b, "临时", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert services.authenticate_token(raw) is not None
    ApiToken.objects.filter(pk=soon.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.authenticate_token(raw) is None
    events = list(
        AuditEntry.objects.filter(detail__event="revoke_token").values_list("detail", flat=True)
    )
    assert events and events[0]["prefix"] == token.key_prefix


def test_only_the_sysadmin_manages_tokens(world):
    for who in ("archivist", "officer_a", "keeper"):
        with pytest.raises(PermissionDenied):
            services.issue_token(world.users[who], world.unit_a, "x")
        with pytest.raises(PermissionDenied):
            services.revoke_token(world.users[who], ApiToken.objects.first())


def test_issue_validates(world):
    admin = world.users["sysadmin"]
    with pytest.raises(ValidationError) as exc:
        services.issue_token(admin, world.unit_a, "  ")
    assert "name" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.issue_token(
            admin, world.unit_a, "过期", expires_at=timezone.now() - timedelta(days=1)
        )
    assert "expires_at" in exc.value.message_dict
