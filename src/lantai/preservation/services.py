"""Preservation read services 长期保存: what the screens show, scoped by permission.

Building and storing AIPs is in ``aip``, packages for users in ``dip`` / ``eep``, audits in
``fixity``; this module answers "may this user see this AIP / this audit history".
"""

from __future__ import annotations

from django.db.models import QuerySet

from lantai.core.permissions import has, require
from lantai.holdings import services as holdings
from lantai.holdings.models import Item
from lantai.preservation.models import Aip, FixityAudit, PreservationEvent

VIEW = "holdings.view_holdings"
DOWNLOAD = "preservation.download_dip"
FIXITY = "preservation.run_fixity"


def get_aip(user, pk) -> Aip:
    """The AIP ``pk`` if ``user`` may see its item (holdings visibility), else
    Aip.DoesNotExist (existence not revealed) or PermissionDenied."""
    require(user, VIEW)
    aip = Aip.objects.select_related("item", "sip").get(pk=pk)
    try:
        holdings.get_item(user, aip.item_id)
    except Item.DoesNotExist:
        raise Aip.DoesNotExist from None
    return aip


def item_aips(user, item) -> list[Aip]:
    """The AIPs of an item ``user`` can already see (for the item page)."""
    if user is not None and not has(user, VIEW):
        return []
    return list(item.aips.order_by("-created_at"))


def aip_events(aip: Aip) -> QuerySet[PreservationEvent]:
    return aip.events.select_related("object").order_by("-event_datetime")


def audits(user) -> QuerySet[FixityAudit]:
    require(user, FIXITY)
    return FixityAudit.objects.select_related("location", "triggered_by", "job").order_by(
        "-started_at"
    )
