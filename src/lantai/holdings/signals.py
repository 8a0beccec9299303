"""Holdings signal handlers."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from lantai.holdings.models import ReferenceScheme
from lantai.holdings.refcode import clear_scheme_cache


@receiver(post_save, sender=ReferenceScheme)
@receiver(post_delete, sender=ReferenceScheme)
def _scheme_changed(sender, **kwargs) -> None:
    # Now (this transaction reads its own change) and after commit (other threads' caches
    # may have reloaded the old rows in between).
    clear_scheme_cache()
    transaction.on_commit(clear_scheme_cache)
