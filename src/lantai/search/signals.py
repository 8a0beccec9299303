"""Keep the index in step 索引同步: an item saved or deleted, a full-text component attached
or removed, a fonds or series renamed. Indexing runs after the transaction commits (nothing
for a rolled-back change). Bulk imports that bypass signals call
``services.index_items_on_commit`` themselves (accession acceptance does)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from lantai.holdings.models import Category, Fonds, FondsName, Item, Series, Unit, Volume
from lantai.storage.models import Component, ComponentRole

# A rename of a fonds with more items than this is left to a background reindex job.
INLINE_RENAME_LIMIT = 20_000


@receiver(post_save, sender=Item)
def _item_saved(sender, instance: Item, raw: bool = False, **kwargs) -> None:
    if raw:  # loaddata
        return
    from lantai.search.services import index_items_on_commit

    index_items_on_commit([instance.pk])


@receiver(post_delete, sender=Item)
def _item_deleted(sender, instance: Item, **kwargs) -> None:
    from lantai.search.services import remove_item

    # The document row goes by cascade; this also clears the tokens on every backend.
    pk = instance.pk
    transaction.on_commit(lambda: remove_item(pk))


@receiver(post_save, sender=Component)
@receiver(post_delete, sender=Component)
def _component_changed(sender, instance: Component, raw: bool = False, **kwargs) -> None:
    if raw or instance.role != ComponentRole.TEXT:
        return
    from lantai.search.services import index_items_on_commit

    index_items_on_commit([instance.item_id])


def _reindex_fonds(fonds_id: int) -> None:
    from lantai.search.services import index_items

    ids = list(
        Item.objects.filter(fonds_id=fonds_id).values_list("pk", flat=True)[
            : INLINE_RENAME_LIMIT + 1
        ]
    )
    if len(ids) <= INLINE_RENAME_LIMIT:
        index_items(ids)
        return
    from lantai.jobs.services import enqueue

    enqueue("search.reindex_fonds", {"fonds": fonds_id})


@receiver(post_save, sender=Fonds)
def _fonds_saved(
    sender, instance: Fonds, created: bool = False, raw: bool = False, **kwargs
) -> None:
    if raw or created:
        return
    pk = instance.pk
    transaction.on_commit(lambda: _reindex_fonds(pk))


@receiver(post_save, sender=FondsName)
@receiver(post_delete, sender=FondsName)
def _fonds_name_changed(sender, instance: FondsName, raw: bool = False, **kwargs) -> None:
    if raw:
        return
    pk = instance.fonds_id
    transaction.on_commit(lambda: _reindex_fonds(pk))


@receiver(post_save, sender=Series)
def _series_saved(
    sender, instance: Series, created: bool = False, raw: bool = False, **kwargs
) -> None:
    if raw or created:
        return
    series_id = instance.pk

    def run() -> None:
        from lantai.search.services import index_items

        index_items(Item.objects.filter(series_id=series_id).values_list("pk", flat=True))

    transaction.on_commit(run)


@receiver(post_save, sender=Volume)
def _volume_saved(
    sender, instance: Volume, created: bool = False, raw: bool = False, **kwargs
) -> None:
    # A volume opened or closed changes which of its items the public may see, and so their
    # public-scope token (text.PUBLIC_TOKEN). A new volume's items are indexed on their own.
    if raw or created:
        return
    volume_id = instance.pk

    def items() -> list[int]:
        return list(Item.objects.filter(volume_id=volume_id).values_list("pk", flat=True))

    from lantai.search.services import index_items_on_commit

    index_items_on_commit(items)


@receiver(post_save, sender=Fonds)
@receiver(post_save, sender=Category)
@receiver(post_save, sender=Unit)
def _labels_changed(sender, raw: bool = False, **kwargs) -> None:
    # Facet labels are kept a minute per process: this one sees a rename at once.
    from lantai.search.services import _label_cache

    _label_cache.clear()
