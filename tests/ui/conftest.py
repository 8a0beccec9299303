"""Fixtures for the staff UI tests: the small archive of ``world.py``."""

from ui.world import world  # noqa: F401  (fixture)
