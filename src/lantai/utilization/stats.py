"""Annual figures 统计年报 of use 利用: requests received and closed (by purpose), certified
copies issued, electronic copies delivered; each counted from the records themselves."""

from __future__ import annotations

from django.db.models import Count
from django.utils.translation import gettext as _

from lantai.statistics.registry import Figure
from lantai.utilization.models import Certificate, ECopy, RequestStatus, UseRequest


def annual_figures(year: int) -> list[Figure]:
    section = _("利用体系")
    received = UseRequest.objects.filter(created_at__year=year)
    by_purpose = {
        row["purpose__name"]: row["n"]
        for row in received.values("purpose__name")
        .annotate(n=Count("pk"))
        .order_by("purpose__name")
    }
    closed = UseRequest.objects.filter(status=RequestStatus.CLOSED, closed_at__year=year)
    by_delivery = {
        str(label): closed.filter(delivery=value).count()
        for value, label in UseRequest._meta.get_field("delivery").choices
    }
    certificates = Certificate.objects.filter(issued_at__year=year, revoked=False).count()
    ecopies = ECopy.objects.filter(created_at__year=year).count()
    return [
        Figure(
            key="utilization.requests_received",
            section=section,
            label=_("受理利用申请"),
            value=received.count(),
            unit=_("件"),
            breakdown=by_purpose,
            order=10,
        ),
        Figure(
            key="utilization.requests_closed",
            section=section,
            label=_("办结利用申请"),
            value=closed.count(),
            unit=_("件"),
            breakdown={k: v for k, v in by_delivery.items() if v},
            order=20,
        ),
        Figure(
            key="utilization.certificates",
            section=section,
            label=_("出具档案证明"),
            value=certificates,
            unit=_("份"),
            order=30,
        ),
        Figure(
            key="utilization.ecopies",
            section=section,
            label=_("提供电子副本"),
            value=ecopies,
            unit=_("份"),
            order=40,
        ),
    ]
