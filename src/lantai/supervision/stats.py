"""业务指导 figures for the annual statistics 统计年报: agencies by grade, inspections and
rectifications, training and the register of professionals, each counted from the records."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from lantai.statistics.registry import Figure
from lantai.supervision.models import (
    Attendance,
    Evaluation,
    EvaluationStatus,
    Grade,
    IndicatorSet,
    Inspection,
    InspectionKind,
    InspectionStatus,
    Professional,
    Rectification,
    RectificationStatus,
    SetStatus,
    TrainingSession,
)


def annual_figures(year: int) -> list[Figure]:
    section = _("业务指导")
    people = _("人才与培训")
    figures: list[Figure] = []

    # 测评: published evaluations of the year, by grade.
    published = Evaluation.objects.filter(year=year, status=EvaluationStatus.PUBLISHED)
    counts = dict.fromkeys(Grade.values, 0)
    for row in published.order_by().values("grade").annotate(n=Count("pk")):
        if row["grade"] in counts:
            counts[row["grade"]] = row["n"]
    total = sum(counts.values())
    figures.append(
        Figure(
            key="supervision.evaluated",
            section=section,
            label=_("测评单位数"),
            value=total,
            unit=_("个"),
            breakdown={str(Grade(g).label): n for g, n in counts.items()},
            order=10,
        )
    )
    share = round(counts[Grade.EXCELLENT] * 100 / total, 1) if total else 0.0
    figures.append(
        Figure(
            key="supervision.excellent_share",
            section=section,
            label=_("测评优秀率"),
            value=share,
            unit="%",
            order=11,
        )
    )
    target = (
        IndicatorSet.objects.filter(year=year, status=SetStatus.PUBLISHED)
        .order_by("-version")
        .values_list("target_excellent_percent", flat=True)
        .first()
    )
    if target is not None:
        figures.append(
            Figure(
                key="supervision.excellent_target",
                section=section,
                label=_("优秀率目标"),
                value=Decimal(target),
                unit="%",
                order=12,
            )
        )

    # 执法检查: inspections carried out in the year (planned and ad hoc), rectifications.
    inspections = Inspection.objects.filter(plan_year=year).exclude(status=InspectionStatus.PLANNED)
    by_kind = {
        str(InspectionKind(row["kind"]).label): row["n"]
        for row in inspections.order_by().values("kind").annotate(n=Count("pk"))
    }
    figures.append(
        Figure(
            key="supervision.inspections",
            section=section,
            label=_("执法检查（已实施）"),
            value=sum(by_kind.values()),
            unit=_("次"),
            breakdown=by_kind,
            order=20,
        )
    )
    figures.append(
        Figure(
            key="supervision.inspections_planned",
            section=section,
            label=_("年度计划检查"),
            value=Inspection.objects.filter(plan_year=year, kind=InspectionKind.PLANNED).count(),
            unit=_("次"),
            order=21,
        )
    )
    rects = Rectification.objects.filter(issued_at__year=year)
    figures.append(
        Figure(
            key="supervision.rectifications",
            section=section,
            label=_("下达整改通知"),
            value=rects.count(),
            unit=_("份"),
            breakdown={
                _("已验收"): rects.filter(status=RectificationStatus.CLOSED).count(),
                _("未验收"): rects.exclude(status=RectificationStatus.CLOSED).count(),
            },
            order=22,
        )
    )

    # 培训: sessions, person-times and hours in the year; the register now.
    sessions = TrainingSession.objects.filter(date__year=year)
    attendances = Attendance.objects.filter(session__date__year=year)
    figures.append(
        Figure(
            key="supervision.training_sessions",
            section=people,
            label=_("举办培训"),
            value=sessions.count(),
            unit=_("期"),
            order=30,
        )
    )
    figures.append(
        Figure(
            key="supervision.trainees",
            section=people,
            label=_("参训人次"),
            value=attendances.count(),
            unit=_("人次"),
            order=31,
        )
    )
    hours = attendances.aggregate(h=Sum("session__hours"))["h"] or Decimal(0)
    figures.append(
        Figure(
            key="supervision.training_hours",
            section=people,
            label=_("培训学时（人·学时）"),
            value=Decimal(hours),
            unit=_("学时"),
            order=32,
        )
    )
    figures.append(
        Figure(
            key="supervision.professionals",
            section=people,
            label=_("在册档案专业人员"),
            value=Professional.objects.filter(active=True).count(),
            unit=_("人"),
            order=33,
        )
    )
    return figures
