"""Fixtures: users in each role (shared with the audit tests, see role_fixtures)."""

from role_fixtures import (  # noqa: F401  (fixtures are found by name)
    archivist,
    auditor,
    make_user,
    password,
    secadmin,
    sysadmin,
    unit,
)
