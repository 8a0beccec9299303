"""工作台 dashboard: holdings in 卷(件), by category and openness, one's own recent changes.

The figures come from ``holdings.services.visible_*`` so a user sees only the figures of what
he may see; roles without 查看馆藏 (the 三员, the public) get no holdings figures at all. Grouped
counts run on indexed columns and are cached briefly, keyed by the user's scope: the SQL of his
visible querysets, so two users who see the same holdings share one entry.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language

from lantai.audit.models import AuditAction, AuditEntry
from lantai.core.permissions import has
from lantai.holdings import services
from lantai.holdings.models import Category, Openness
from lantai.jobs.models import Job

CACHE_SECONDS = int(getattr(settings, "LANTAI_DASHBOARD_CACHE_SECONDS", 60))
CHANGE_ACTIONS = (AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE)


def scope_key(user) -> str:
    """A cache key naming what ``user`` may see (not who he is)."""
    items = services.visible_items(user)
    volumes = services.visible_volumes(user)
    # str(query) interpolates the parameters: the key changes whenever the scope does.
    raw = f"{items.query}\n{volumes.query}".encode()
    # The figures carry translated labels, so each language has its own entry.
    return f"lantai:dashboard:{get_language()}:" + hashlib.sha256(raw).hexdigest()


def _grouped(qs, field: str) -> dict[Any, int]:
    return {
        row[field]: row["n"]
        for row in qs.order_by().values(field).annotate(n=Count("pk")).values(field, "n")
    }


def holdings_figures(user) -> dict[str, Any]:
    """卷(件) totals, by category and by openness, over what ``user`` may see (cached)."""
    key = scope_key(user)
    figures = cache.get(key)
    if figures is not None:
        return figures
    items = services.visible_items(user)
    volumes = services.visible_volumes(user)
    totals = services.holdings_count(items, volumes)
    # 卷(件) per category: volumes once, items outside a volume once.
    by_category_volumes = _grouped(volumes, "category")
    by_category_items = _grouped(items.filter(volume__isnull=True), "category")
    categories = Category.objects.in_bulk(set(by_category_volumes) | set(by_category_items))
    by_category = sorted(
        (
            {
                "code": categories[pk].code,
                "name": categories[pk].name,
                "volumes": by_category_volumes.get(pk, 0),
                "items": by_category_items.get(pk, 0),
                "total": by_category_volumes.get(pk, 0) + by_category_items.get(pk, 0),
            }
            for pk in categories
        ),
        key=lambda row: (-row["total"], row["code"]),
    )
    openness_items = _grouped(items, "openness")
    by_openness = [
        {"code": value, "name": str(label), "items": openness_items.get(value, 0)}
        for value, label in Openness.choices
    ]
    figures = {"totals": totals, "by_category": by_category, "by_openness": by_openness}
    cache.set(key, figures, CACHE_SECONDS)
    return figures


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {"show_holdings": has(user, "holdings.view_holdings")}
    if context["show_holdings"]:
        figures = holdings_figures(user)
        context.update(figures)
        context["chart_data"] = {
            "categories": [row["name"] for row in figures["by_category"]],
            "totals": [row["total"] for row in figures["by_category"]],
            "openness": [
                {"name": row["name"], "value": row["items"]} for row in figures["by_openness"]
            ],
        }
    context["recent_changes"] = list(
        AuditEntry.objects.filter(actor_id=user.pk, action__in=CHANGE_ACTIONS).order_by("-seq")[:10]
    )
    context["recent_jobs"] = list(Job.objects.filter(created_by=user).order_by("-created_at")[:5])
    context["show_jobs"] = has(user, "jobs.view_job")
    return render(request, "core/dashboard.html", context)
