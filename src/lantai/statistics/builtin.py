"""Figures of the foundation apps that have no ``stats.py`` of their own: holdings 馆藏,
accession 接收进馆, online archiving and preservation 在线归档与长期保存, vault 库房安全.

Every figure is a count over the owning app's records for the calendar year (local time):

* holdings at the end of the year: volumes and standalone items created before 1 January of
  the next year (卷(件): a volume once, a standalone item once; items inside volumes apart),
  by category; growth against the end of the baseline year counted the same way;
* accession: transfer batches accepted in the year, the units that transferred, and 卷(件)
  received by category (from the batches' provenance rows); acquisitions received;
* SIPs archived (status 已归档, finished in the year), SIPs refused by the checks, AIPs
  created, fixity audits run and the damaged copies they found;
* vault alarms raised in the year, by kind.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.statistics.registry import Figure


def year_start(year: int) -> datetime:
    """1 January of ``year``, 00:00 local time (the archive's time zone)."""
    return timezone.make_aware(datetime(year, 1, 1))


def default_baseline_year() -> int:
    return int(getattr(settings, "LANTAI_BASELINE_YEAR", 2015))


def holdings_at(moment: datetime) -> dict[str, object]:
    """卷(件) held before ``moment``: totals and per category name."""
    from lantai.holdings.models import Category, Item, Volume

    names = dict(Category.objects.values_list("pk", "name"))
    per_category: dict[str, int] = {}
    volumes = (
        Volume.objects.filter(created_at__lt=moment)
        .order_by()
        .values("category_id")
        .annotate(n=Count("pk"))
    )
    items = (
        Item.objects.filter(created_at__lt=moment, volume__isnull=True)
        .order_by()
        .values("category_id")
        .annotate(n=Count("pk"))
    )
    total = 0
    for row in list(volumes) + list(items):
        label = names.get(row["category_id"], "")
        per_category[label] = per_category.get(label, 0) + row["n"]
        total += row["n"]
    inside = Item.objects.filter(created_at__lt=moment, volume__isnull=False).count()
    return {"total": total, "by_category": per_category, "items_in_volumes": inside}


def holdings_figures(year: int, baseline_year: int | None = None) -> list[Figure]:
    section = _("馆藏资源")
    base = default_baseline_year() if baseline_year is None else baseline_year
    now = holdings_at(year_start(year + 1))
    figures = [
        Figure(
            key="holdings.total",
            section=section,
            label=_("年末馆藏 卷(件)"),
            value=now["total"],
            unit=_("卷(件)"),
            breakdown=dict(sorted(now["by_category"].items(), key=lambda kv: -kv[1])),
            order=10,
        ),
        Figure(
            key="holdings.items_in_volumes",
            section=section,
            label=_("卷内文件"),
            value=now["items_in_volumes"],
            unit=_("件"),
            order=11,
        ),
    ]
    if base < year:
        then = holdings_at(year_start(base + 1))
        figures.append(
            Figure(
                key="holdings.baseline_total",
                section=section,
                label=_("%(y)d年末馆藏 卷(件)（基准）") % {"y": base},
                value=then["total"],
                unit=_("卷(件)"),
                order=12,
            )
        )
        if then["total"]:
            growth = round((now["total"] - then["total"]) * 100 / then["total"], 1)
            figures.append(
                Figure(
                    key="holdings.growth",
                    section=section,
                    label=_("较%(y)d年末增长") % {"y": base},
                    value=growth,
                    unit="%",
                    order=13,
                )
            )
    return figures


def accession_figures(year: int) -> list[Figure]:
    from lantai.accession.models import (
        Acquisition,
        BatchItem,
        BatchKind,
        BatchStatus,
        TransferBatch,
    )
    from lantai.holdings.models import Category

    section = _("接收进馆")
    start, end = year_start(year), year_start(year + 1)
    batches = TransferBatch.objects.filter(
        status=BatchStatus.ACCEPTED, accepted_at__gte=start, accepted_at__lt=end
    )
    entries = BatchItem.objects.filter(batch__in=batches)
    names = dict(Category.objects.values_list("pk", "name"))
    by_category: dict[str, int] = {}
    # 卷(件): a volume once, a standalone item once; items inside a volume are not added.
    for row in (
        entries.filter(volume__isnull=False)
        .order_by()
        .values("volume__category_id")
        .annotate(n=Count("pk"))
    ):
        label = names.get(row["volume__category_id"], "")
        by_category[label] = by_category.get(label, 0) + row["n"]
    for row in (
        entries.filter(item__isnull=False, item__volume__isnull=True)
        .order_by()
        .values("item__category_id")
        .annotate(n=Count("pk"))
    ):
        label = names.get(row["item__category_id"], "")
        by_category[label] = by_category.get(label, 0) + row["n"]
    units = (
        batches.filter(kind=BatchKind.TRANSFER, unit__isnull=False)
        .values("unit_id")
        .distinct()
        .count()
    )
    return [
        Figure(
            key="accession.units",
            section=section,
            label=_("移交单位"),
            value=units,
            unit=_("个"),
            order=10,
        ),
        Figure(
            key="accession.received",
            section=section,
            label=_("接收档案 卷(件)"),
            value=sum(by_category.values()),
            unit=_("卷(件)"),
            breakdown=dict(sorted(by_category.items(), key=lambda kv: -kv[1])),
            order=11,
        ),
        Figure(
            key="accession.batches",
            section=section,
            label=_("接收批次"),
            value=batches.count(),
            unit=_("批"),
            breakdown={
                _("移交进馆"): batches.filter(kind=BatchKind.TRANSFER).count(),
                _("征集进馆"): batches.filter(kind=BatchKind.ACQUISITION).count(),
            },
            order=12,
        ),
        Figure(
            key="accession.acquisitions",
            section=section,
            label=_("征集接收"),
            value=Acquisition.objects.filter(received_at__year=year).count(),
            unit=_("项"),
            order=13,
        ),
    ]


def preservation_figures(year: int) -> list[Figure]:
    from lantai.ingest.models import Sip, SipStatus
    from lantai.preservation.models import Aip, FixityAudit

    section = _("电子档案")
    start, end = year_start(year), year_start(year + 1)
    audits = FixityAudit.objects.filter(started_at__gte=start, started_at__lt=end)
    audit_totals = audits.aggregate(failures=Sum("failures"), checked=Sum("copies_checked"))
    return [
        Figure(
            key="ingest.sips_archived",
            section=section,
            label=_("在线归档（已归档信息包）"),
            value=Sip.objects.filter(
                status=SipStatus.STORED, finished_at__gte=start, finished_at__lt=end
            ).count(),
            unit=_("个"),
            order=10,
        ),
        Figure(
            key="ingest.sips_refused",
            section=section,
            label=_("检测未通过的信息包"),
            value=Sip.objects.filter(
                status=SipStatus.FAILED, created_at__gte=start, created_at__lt=end
            ).count(),
            unit=_("个"),
            order=11,
        ),
        Figure(
            key="preservation.aips",
            section=section,
            label=_("生成档案信息包（AIP）"),
            value=Aip.objects.filter(created_at__gte=start, created_at__lt=end).count(),
            unit=_("个"),
            order=12,
        ),
        Figure(
            key="preservation.fixity_audits",
            section=section,
            label=_("固定性检查"),
            value=audits.count(),
            unit=_("次"),
            breakdown={_("检查副本数"): audit_totals["checked"] or 0},
            order=13,
        ),
        Figure(
            key="preservation.fixity_failures",
            section=section,
            label=_("固定性检查发现异常"),
            value=audit_totals["failures"] or 0,
            unit=_("个副本"),
            order=14,
        ),
    ]


def vault_figures(year: int) -> list[Figure]:
    from lantai.vault.models import Alarm, AlarmKind

    section = _("库房安全")
    start, end = year_start(year), year_start(year + 1)
    alarms = Alarm.objects.filter(raised_at__gte=start, raised_at__lt=end)
    by_kind = {
        str(AlarmKind(row["kind"]).label): row["n"]
        for row in alarms.order_by().values("kind").annotate(n=Count("pk")).order_by("kind")
        if row["kind"] in AlarmKind.values
    }
    return [
        Figure(
            key="vault.alarms",
            section=section,
            label=_("库房告警"),
            value=alarms.count(),
            unit=_("次"),
            breakdown=by_kind,
            order=10,
        ),
        Figure(
            key="vault.alarms_open",
            section=section,
            label=_("年末未解除告警"),
            value=alarms.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=end)).count(),
            unit=_("次"),
            order=11,
        ),
    ]


def annual_figures(year: int, *, baseline_year: int | None = None) -> list[Figure]:
    return (
        holdings_figures(year, baseline_year)
        + accession_figures(year)
        + preservation_figures(year)
        + vault_figures(year)
    )
