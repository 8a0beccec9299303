"""Figures for the annual statistics 统计年报, contributed by each app.

Every app that has something to report for a year puts a ``stats.py`` module beside its
models with a function ``annual_figures(year: int) -> list[Figure]``; the statistics app
discovers them (``collect``) so that each figure is computed by the app that owns the records,
from those records, and the statistics page never keeps its own numbers.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps


@dataclass(frozen=True)
class Figure:
    """One reported number.

    ``key`` is stable and machine-readable ("holdings.total"); ``section`` groups figures on
    the page and in exports ("资源体系", "利用体系" …, passed through gettext by the producer);
    ``breakdown`` optionally holds labelled parts (e.g. per category) for tables and charts.
    """

    key: str
    section: str
    label: str
    value: int | float | Decimal
    unit: str = ""
    breakdown: dict[str, int | float | Decimal] = field(default_factory=dict)
    order: int = 100


def collect(year: int, *, baseline_year: int | None = None) -> list[Figure]:
    """All apps' figures for ``year``, ordered by section and order.

    The foundation apps' figures (holdings, accession, ingest/preservation, vault) come from
    ``lantai.statistics.builtin``; ``baseline_year`` is the year holdings growth is measured
    against (default settings.LANTAI_BASELINE_YEAR).
    """
    from lantai.statistics import builtin

    figures: list[Figure] = list(builtin.annual_figures(year, baseline_year=baseline_year))
    for config in apps.get_app_configs():
        if not config.name.startswith("lantai."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.stats")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.stats":
                raise
            continue
        producer = getattr(module, "annual_figures", None)
        if producer is not None:
            figures.extend(producer(year))
    return sorted(figures, key=lambda f: (f.section, f.order, f.key))


def by_key(figures: list[Figure]) -> dict[str, Figure]:
    return {f.key: f for f in figures}


def sections(figures: list[Figure]) -> list[tuple[str, list[Figure]]]:
    """Figures grouped by section, sections in the order of their first app (holdings and
    accession first, then the apps in INSTALLED_APPS order)."""
    order: dict[str, int] = {}
    prefixes = ["holdings", "accession", "ingest", "preservation", "vault"] + [
        c.label for c in apps.get_app_configs()
    ]
    for figure in figures:
        prefix = figure.key.split(".", 1)[0]
        rank = prefixes.index(prefix) if prefix in prefixes else len(prefixes)
        order[figure.section] = min(order.get(figure.section, rank), rank)
    grouped: dict[str, list[Figure]] = {}
    for figure in figures:
        grouped.setdefault(figure.section, []).append(figure)
    return sorted(grouped.items(), key=lambda kv: (order[kv[0]], kv[0]))
