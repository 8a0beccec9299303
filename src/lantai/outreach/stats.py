"""Outreach figures for the annual statistics 统计年报 (lantai.statistics.registry).

Each figure is counted from the records: checked-in bookings (groups 批次, visitors 人次 by
month, growth on the previous year), exhibitions published in the year and their online
views, compilation publications 编研成果 of the year, oral-history interviews 口述访谈 held in
the year and calls-for-material offers 征集线索 received and accepted.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from lantai.outreach.models import (
    Exhibition,
    Interview,
    MaterialOffer,
    OfferStatus,
    Publication,
    PublishStatus,
)
from lantai.outreach.services import visit_statistics
from lantai.statistics.registry import Figure


def annual_figures(year: int) -> list[Figure]:
    section = _("宣传与编研")
    visits = visit_statistics(year)
    current = visits["current"]
    by_month = {
        _("%(m)d月") % {"m": month}: current["visitors"][month - 1] for month in range(1, 13)
    }
    groups_by_month = {
        _("%(m)d月") % {"m": month}: current["groups"][month - 1] for month in range(1, 13)
    }
    exhibitions = Exhibition.objects.filter(status=PublishStatus.PUBLISHED, published_at__year=year)
    publications = Publication.objects.filter(year=year)
    offers = MaterialOffer.objects.filter(created_at__year=year)
    figures = [
        Figure(
            key="outreach.visit_groups",
            section=section,
            label=_("接待参观团体"),
            value=current["total_groups"],
            unit=_("批"),
            breakdown=groups_by_month,
            order=10,
        ),
        Figure(
            key="outreach.visitors",
            section=section,
            label=_("接待参观人数"),
            value=current["total_visitors"],
            unit=_("人次"),
            breakdown=by_month,
            order=11,
        ),
        Figure(
            key="outreach.exhibitions_published",
            section=section,
            label=_("发布网上展览"),
            value=exhibitions.count(),
            unit=_("个"),
            order=20,
        ),
        Figure(
            key="outreach.exhibition_views",
            section=section,
            label=_("网上展览浏览（本年发布的展览）"),
            value=sum(exhibitions.values_list("views", flat=True)),
            unit=_("次"),
            order=21,
        ),
        Figure(
            key="outreach.compilations_published",
            section=section,
            label=_("编研成果"),
            value=publications.count(),
            unit=_("项"),
            breakdown={
                str(label): publications.filter(kind=kind).count()
                for kind, label in Publication._meta.get_field("kind").choices
            },
            order=30,
        ),
        Figure(
            key="outreach.oral_history_interviews",
            section=section,
            label=_("口述历史访谈"),
            value=Interview.objects.filter(date__year=year).count(),
            unit=_("次"),
            order=40,
        ),
        Figure(
            key="outreach.material_offers",
            section=section,
            label=_("征集线索"),
            value=offers.count(),
            unit=_("条"),
            breakdown={
                _("拟征集"): offers.filter(status=OfferStatus.ACCEPTED).count(),
                _("不予征集"): offers.filter(status=OfferStatus.DECLINED).count(),
            },
            order=50,
        ),
    ]
    if visits["groups_growth"] is not None:
        figures.append(
            Figure(
                key="outreach.visit_groups_growth",
                section=section,
                label=_("接待团体较上年增长"),
                value=visits["groups_growth"],
                unit="%",
                order=12,
            )
        )
    if visits["visitors_growth"] is not None:
        figures.append(
            Figure(
                key="outreach.visitors_growth",
                section=section,
                label=_("接待人数较上年增长"),
                value=visits["visitors_growth"],
                unit="%",
                order=13,
            )
        )
    return figures
