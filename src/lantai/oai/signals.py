"""Tombstones for the ``transient`` deleted-record policy: an item that was in the open catalog
and leaves it (deleted, restricted, 密级 raised, closed) gets one; coming back removes it.

The old state is read in pre_save (one indexed query per item save) so that items that were
never open get no tombstone: a tombstone must not reveal that a closed item exists.
Bulk updates bypass signals; the policy is "transient" precisely because the list of deletions
is not guaranteed complete.
"""

from __future__ import annotations

from django.db.models import Q
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from lantai.holdings.models import Category, Classification, Fonds, Item, Openness, Volume
from lantai.oai import services


def _codes(item: Item) -> tuple[str, str]:
    fonds = Fonds.objects.filter(pk=item.fonds_id).values_list("code", flat=True).first() or ""
    cat = Category.objects.filter(pk=item.category_id).values_list("code", flat=True).first() or ""
    return fonds, cat


@receiver(pre_save, sender=Item)
def _remember(sender, instance: Item, raw=False, **kwargs) -> None:
    if raw or services.deleted_policy() != "transient":
        return
    instance._oai_was_published = bool(instance.pk) and services.is_published(instance.pk)


@receiver(post_save, sender=Item)
def _after_save(sender, instance: Item, raw=False, **kwargs) -> None:
    if raw or services.deleted_policy() != "transient":
        return
    was = getattr(instance, "_oai_was_published", False)
    now = services.is_published(instance.pk)
    if was and not now:
        services.withdraw(instance.pk, *_codes(instance))
    elif now:
        services.republish(instance.pk)


@receiver(post_delete, sender=Item)
def _after_delete(sender, instance: Item, **kwargs) -> None:
    if services.deleted_policy() != "transient":
        return
    # The row is gone: judge by the instance's own public fields and its volume's.
    public = Q(openness=Openness.OPEN, classification=Classification.PUBLIC)
    was = instance.openness == Openness.OPEN and instance.classification == Classification.PUBLIC
    if was and instance.volume_id is not None:
        was = Volume.objects.filter(public, pk=instance.volume_id).exists()
    if was:
        services.withdraw(instance.pk, *_codes(instance))
