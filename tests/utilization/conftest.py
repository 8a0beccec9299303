"""Fixtures of the use request suite (the world lives in use_world.py)."""

from utilization.use_world import world  # noqa: F401
