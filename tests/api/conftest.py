"""Fixtures for the API tests: the same small archive as the UI tests."""

from ui.world import world  # noqa: F401  (fixture)
