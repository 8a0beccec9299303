"""开放鉴定 figures for the annual statistics 统计年报: 卷(件) reviewed, opened, deferred and
restricted by the batches approved in the year, each with a per-category breakdown."""

from __future__ import annotations

from django.utils.translation import gettext as _

from lantai.statistics.registry import Figure


def annual_figures(year: int) -> list[Figure]:
    from lantai.opening.services import yearly_figures

    data = yearly_figures(year)
    totals = next((r for r in data["by_year"] if r["year"] == year), None) or {}
    section = _("利用体系")
    unit = _("卷(件)")

    def breakdown(key: str) -> dict[str, int]:
        return {
            f"{r['category'].code} {r['category'].name}": r[key]
            for r in data["by_category"]
            if r[key]
        }

    return [
        Figure(
            key=f"opening.{name}",
            section=section,
            label=label,
            value=totals.get(key, 0),
            unit=unit,
            breakdown=breakdown(key),
            order=order,
        )
        for order, (name, key, label) in enumerate(
            (
                ("reviewed", "reviewed", _("开放鉴定 卷(件)")),
                ("opened", "open", _("鉴定开放 卷(件)")),
                ("deferred", "defer", _("延期开放 卷(件)")),
                ("restricted", "restrict", _("控制使用 卷(件)")),
            ),
            start=300,
        )
    ]
