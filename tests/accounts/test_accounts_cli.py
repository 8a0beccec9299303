"""``lantai accounts``: the operator bootstraps and looks after the 三员 accounts."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from lantai.accounts.models import User
from lantai.audit.models import AuditAction, AuditEntry


def run(monkeypatch, *args: str, stdin: str = "") -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("accounts", *args, stdout=out)
    return out.getvalue()


def test_bootstrap_the_three(db, monkeypatch, password):
    for name, role in (("sa", "sysadmin"), ("so", "secadmin"), ("au", "auditor")):
        out = run(
            monkeypatch, "create", name, "--role", role, "--password-stdin", stdin=password + "\n"
        )
        assert f"已新建账户：{name}" in out
        user = User.objects.get(username=name)
        assert user.role_codes == {role} and user.check_password(password)
        assert not user.is_superuser and not user.is_staff
    # The accounts' own entries (transactional tests on the same worker leave other entries
    # by the system, with other details).
    ids = [
        str(pk)
        for pk in User.objects.filter(username__in=["sa", "so", "au"]).values_list("pk", flat=True)
    ]
    created = AuditEntry.objects.filter(
        action=AuditAction.CREATE, actor_id=None, object_type="accounts.user", object_id__in=ids
    )
    assert {e.detail["username"] for e in created} == {"sa", "so", "au"}
    listing = run(monkeypatch, "list")
    assert "安全审计员" in listing and "sa\t" in listing


def test_cli_refuses_what_the_services_refuse(db, monkeypatch, password):
    with pytest.raises(CommandError) as exc:
        run(monkeypatch, "create", "weak", "--password-stdin", stdin="123\n")
    assert "密码太短" in str(exc.value)
    run(monkeypatch, "create", "two", "--password-stdin", stdin=password + "\n")
    with pytest.raises(CommandError) as exc:
        run(monkeypatch, "set-roles", "two", "sysadmin", "auditor")
    assert "三员" in str(exc.value)
    with pytest.raises(CommandError) as exc:
        run(monkeypatch, "set-roles", "ghost", "public")
    assert "不存在" in str(exc.value)


def test_cli_manages_roles_passwords_and_activation(db, monkeypatch, password):
    run(
        monkeypatch, "create", "ops", "--role", "auditor", "--password-stdin", stdin=password + "\n"
    )
    assert "安全审计员" in run(monkeypatch, "set-roles", "ops", "auditor")
    assert "无" in run(monkeypatch, "set-roles", "ops")
    assert User.objects.get(username="ops").role_codes == set()
    run(monkeypatch, "reset-password", "ops", "--password-stdin", stdin="Operator-reset-9\n")
    assert User.objects.get(username="ops").check_password("Operator-reset-9")
    run(monkeypatch, "deactivate", "ops")
    assert not User.objects.get(username="ops").is_active
    run(monkeypatch, "reactivate", "ops")
    assert User.objects.get(username="ops").is_active


def test_console_script_wiring():
    """``lantai audit verify`` and ``lantai accounts`` exist as console commands."""
    lantai = Path(sys.executable).with_name("lantai")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lantai.settings"}
    for args in (["audit", "verify", "--help"], ["accounts", "create", "--help"]):
        done = subprocess.run(
            [str(lantai), *args], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert "usage" in done.stdout
