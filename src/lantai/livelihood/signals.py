"""Keep the person index 人员索引 in step with item saves (deletes cascade)."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from lantai.holdings.models import Item
from lantai.livelihood import persons
from lantai.livelihood.models import PersonFields


@receiver(post_save, sender=Item)
def _item_saved(sender, instance: Item, raw=False, **kwargs) -> None:
    if raw:
        return
    persons.index_item(instance)


@receiver(post_save, sender=PersonFields)
def _fields_changed(sender, instance: PersonFields, raw=False, **kwargs) -> None:
    if raw:
        return
    for item in (
        Item.objects.filter(category_id=instance.category_id)
        .only("pk", "category_id", "extra")
        .iterator()
    ):
        persons.index_item(item)
