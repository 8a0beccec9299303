"""``{% accession_card %}``: the dashboard's accession figures (received this year in 卷 and 件,
the largest lines by unit and category, holdings total, growth against the baseline year,
batches waiting), for archivists only."""

from __future__ import annotations

from typing import Any

from django import template
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import get_language

from lantai.accession import services
from lantai.accession.models import BatchStatus, TransferBatch

register = template.Library()

CACHE_SECONDS = 60
#: Unit × category lines shown on the card.
CARD_ROWS = 5


@register.inclusion_tag("accession/_dashboard_card.html", takes_context=True)
def accession_card(context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not services.is_archivist(user):
        return {"show": False}
    year = timezone.localdate().year
    base = min(services.default_baseline_year(), year - 1)
    # Per language: the rows carry translated labels (社会征集 …).
    key = f"lantai:accession:card:{year}:{base}:{get_language() or ''}"
    figures = cache.get(key)
    if figures is None:
        stats = services.accession_statistics(year, baseline_year=base)
        totals = stats["received_totals"]
        figures = {
            "received": totals["total"],
            "volumes": totals["volumes"],
            "items": totals["items"],
            "holdings": stats["holdings"]["total"],
            "growth": stats["growth_percent"],
            # By unit and category, largest first; the statistics page has them all.
            "rows": sorted(stats["received"], key=lambda r: -r["total"])[:CARD_ROWS],
            "more": max(0, len(stats["received"]) - CARD_ROWS),
        }
        cache.set(key, figures, CACHE_SECONDS)
    waiting = TransferBatch.objects.filter(status=BatchStatus.SUBMITTED).count()
    return {"show": True, "year": year, "baseline": base, "waiting": waiting, **figures}
