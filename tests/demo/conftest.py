"""Fixtures for the demo tests."""

from __future__ import annotations

import pytest


def _wipe_demo() -> None:
    """Remove what a demo load created (audit entries stay: the trail is append-only)."""
    from lantai.accounts.models import User
    from lantai.holdings.demo.generator import DEMO_USERS
    from lantai.holdings.models import (
        Fonds,
        Item,
        NumberSequence,
        ReferenceScheme,
        Series,
        Unit,
        Volume,
    )
    from lantai.oai.models import Tombstone

    Item.objects.all().delete()
    # Deleting open items leaves OAI-PMH "deleted" records (tombstones) for harvesters; they
    # belong to this load too, and would show in later tests' harvests.
    Tombstone.objects.all().delete()
    Volume.objects.all().delete()
    Series.objects.all().delete()
    ReferenceScheme.objects.exclude(fonds=None).delete()
    User.objects.filter(username__in=[username for _r, username, _n in DEMO_USERS]).delete()
    Fonds.objects.all().delete()
    Unit.objects.filter(parent__isnull=False).delete()
    Unit.objects.all().delete()
    NumberSequence.objects.all().delete()


@pytest.fixture(scope="session")
def wipe_demo():
    return _wipe_demo
