"""Search background work 检索后台任务: the full rebuild, and a large fonds' items after a
rename."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from lantai.jobs.services import JobContext, register
from lantai.search import services


@register("search.reindex", perm="holdings.manage_codes", label=gettext_lazy("重建全文索引"))
def reindex_job(ctx: JobContext) -> dict:
    return {"items": services.reindex_all()}


@register("search.reindex_fonds", perm="holdings.manage_codes", label=gettext_lazy("重建全宗索引"))
def reindex_fonds_job(ctx: JobContext) -> dict:
    from lantai.holdings.models import Item

    fonds = int(ctx.params.get("fonds", 0))
    ids = Item.objects.filter(fonds_id=fonds).values_list("pk", flat=True)
    return {"items": services.index_items(ids)}
