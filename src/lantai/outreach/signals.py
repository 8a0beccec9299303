"""Signal handlers: an embargoed oral-history item 口述档案 may not be opened before its date."""

from __future__ import annotations

from django.db.models.signals import pre_save
from django.dispatch import receiver

from lantai.holdings.models import Item


@receiver(pre_save, sender=Item, dispatch_uid="outreach_embargo_guard")
def embargo_guard(sender, instance: Item, raw: bool = False, **kwargs) -> None:
    if raw:  # fixtures load as they are
        return
    from lantai.outreach.services import guard_embargo

    guard_embargo(instance)
