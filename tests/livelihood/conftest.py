"""Fixtures for the livelihood tests."""

from livelihood.world import lw  # noqa: F401  (fixture)
