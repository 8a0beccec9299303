"""The check-rule configuration screens: an archivist sets modes per stage and edits the
accepted formats (audited); others are refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from lantai.accounts.models import User
from lantai.audit.models import AuditEntry
from lantai.ingest.models import AcceptedFormat, CheckMode, CheckRule


def _login(client, role: str) -> User:
    user = User.objects.create_user(username=f"chk_{role}", password="Lantai-checks-2026!")
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


@pytest.mark.django_db
def test_archivist_sets_rule_modes(client):
    _login(client, "archivist")
    assert "/ingest/checks/" in client.get("/ingest/sips/").content.decode()  # reachable
    page = client.get("/ingest/checks/YJ/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "固化信息有效性" in html and "YJ-1-1" in html and "真实性" in html
    rule = CheckRule.objects.get(stage="YJ", code="1-9")
    response = client.post("/ingest/checks/YJ/", {f"mode-{rule.pk}": CheckMode.WARNING})
    assert response.status_code == 302
    assert CheckRule.objects.get(pk=rule.pk).mode == CheckMode.WARNING
    assert CheckRule.objects.get(stage="GD", code="1-9").mode == CheckMode.BLOCKING
    assert AuditEntry.objects.filter(object_id=str(rule.pk)).exists()
    bad = client.post("/ingest/checks/YJ/", {f"mode-{rule.pk}": "maybe"}, follow=True)
    assert "处理方式无效" in bad.content.decode()


@pytest.mark.django_db
def test_formats_screen(client):
    _login(client, "archivist")
    assert "local/ofd" in client.get("/ingest/check-formats/").content.decode()
    response = client.post("/ingest/check-formats/", {"puid": "fmt/1000", "name": "Test"})
    assert response.status_code == 302
    fmt = AcceptedFormat.objects.get(puid="fmt/1000")
    client.post("/ingest/check-formats/", {"toggle": fmt.pk})
    assert not AcceptedFormat.objects.get(pk=fmt.pk).accepted
    invalid = client.post("/ingest/check-formats/", {"puid": "pdf", "name": ""})
    assert invalid.status_code == 422 and "PRONOM" in invalid.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["unit_officer", "keeper"])
def test_others_refused(client, role):
    _login(client, role)
    assert client.get("/ingest/checks/").status_code == 403
    rule = CheckRule.objects.get(stage="GD", code="1-1")
    client.post("/ingest/checks/GD/", {f"mode-{rule.pk}": CheckMode.OFF})
    assert CheckRule.objects.get(pk=rule.pk).mode == CheckMode.BLOCKING
