"""Holdings signal handlers."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_migrate, post_save
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


@receiver(post_migrate)
def _seed_after_migrate(sender, app_config=None, using="default", **kwargs) -> None:
    if app_config is not None and app_config.label == "holdings":
        from lantai.holdings.models import Category
        from lantai.holdings.seed import seed_codes

        seed_codes(Category, ReferenceScheme, using)
