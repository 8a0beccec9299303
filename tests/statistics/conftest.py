"""Fixtures for the 统计年报 tests (role users made through the account services)."""

from role_fixtures import make_user, password  # noqa: F401
