"""``lantai check``: misconfiguration and unreachable services are reported before start."""

from __future__ import annotations

import io
import socket

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from lantai.ops import checks
from lantai.storage import services as storage_services
from lantai.storage.models import BackendKind, LocationRole, StorageLocation


@pytest.fixture
def store(db, tmp_path, monkeypatch) -> StorageLocation:
    monkeypatch.setattr(storage_services, "_synced_env", True)
    return StorageLocation.objects.create(
        code="main",
        name="本地",
        backend=BackendKind.LOCAL,
        config={"root": str(tmp_path / "store")},
        role=LocationRole.PRIMARY,
    )


def _run(*args) -> str:
    out = io.StringIO()
    call_command("check", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_a_good_configuration_passes(store, monkeypatch):
    monkeypatch.delenv("LANTAI_MQTT_URL", raising=False)
    assert "no issues" in _run()
    assert checks.PROBE_SERVICES is False  # reset after the command


@pytest.mark.parametrize(
    ("overrides", "env", "code"),
    [
        ({"SECRET_KEY": "changeme"}, {}, "lantai.E001"),
        ({"DEBUG": True}, {"LANTAI_ENV": "production"}, "lantai.E002"),
        ({"ALLOWED_HOSTS": ["*"]}, {}, "lantai.E003"),
    ],
)
def test_misconfiguration_is_refused(store, monkeypatch, overrides, env, code):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with override_settings(**overrides), pytest.raises(SystemCheckError) as caught:
        _run("--no-services")
    assert code in str(caught.value)


def test_production_with_only_local_hosts_is_warned(store, monkeypatch):
    monkeypatch.setenv("LANTAI_ENV", "production")
    with override_settings(ALLOWED_HOSTS=["localhost", "127.0.0.1"]):
        assert "lantai.W004" in _run("--no-services")


def test_unwritable_storage_and_unreachable_redis_are_named(store, tmp_path, monkeypatch):
    monkeypatch.delenv("LANTAI_MQTT_URL", raising=False)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store.config = {"root": str(blocker / "store")}
    store.save()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    with (
        override_settings(REDIS_URL=f"redis://127.0.0.1:{dead}/0"),
        pytest.raises(SystemCheckError) as caught,
    ):
        _run()
    text = str(caught.value)
    assert "主存储不可用" in text and "Redis不可用" in text
    # Without probing, the same configuration passes the static checks.
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{dead}/0"):
        assert "no issues" in _run("--no-services")


def test_clock_skew_is_measured_against_postgresql(postgres_only):
    skew = checks.clock_skew()
    assert skew is not None and abs(skew) < 5
