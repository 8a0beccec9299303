"""Fixtures for the OAI-PMH tests: the small archive of ``ui/world.py``."""

from ui.world import world  # noqa: F401  (fixture)
