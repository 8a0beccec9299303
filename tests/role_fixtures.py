"""Users in each role, made through the account services: fixtures shared by the account
and audit tests (their conftests import them)."""

from __future__ import annotations

import pytest

PASSWORD = "Lantai-test-2024!"


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def unit(db):
    from lantai.holdings.models import Unit, UnitKind

    return Unit.objects.create(code="U-TEST-01", name="测试局", kind=UnitKind.AGENCY)


@pytest.fixture
def make_user(db):
    """make_user("name", "role", ...) creates an account as the server operator would."""
    from lantai.accounts import services

    def make(username: str, *roles: str, unit=None, password: str = PASSWORD, **fields):
        return services.create_user(
            None, username=username, password=password, roles=roles, unit=unit, **fields
        )

    return make


@pytest.fixture
def sysadmin(make_user):
    return make_user("admin1", "sysadmin", real_name="王管理")


@pytest.fixture
def secadmin(make_user):
    return make_user("secadmin1", "secadmin", real_name="李保密")


@pytest.fixture
def auditor(make_user):
    return make_user("auditor1", "auditor", real_name="赵审计")


@pytest.fixture
def archivist(make_user):
    return make_user("archivist1", "archivist", real_name="张馆员")
