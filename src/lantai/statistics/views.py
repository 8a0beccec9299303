"""统计年报 pages: the year's figures with charts, and its .xlsx and PDF exports."""

from __future__ import annotations

import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.core.permissions import require
from lantai.statistics import services


def _years(request: HttpRequest) -> tuple[int, int | None, list[str]]:
    errors: list[str] = []
    this_year = timezone.localdate().year
    try:
        year = services.parse_year(request.GET.get("year"), default=this_year)
    except ValidationError as exc:
        errors.extend(exc.messages)
        year = this_year
    baseline = None
    if request.GET.get("baseline"):
        try:
            baseline = services.parse_year(request.GET.get("baseline"), field="baseline")
        except ValidationError as exc:
            errors.extend(exc.messages)
        if baseline is not None and baseline >= year:
            errors.append(_("基准年度须早于统计年度。"))
            baseline = None
    return year, baseline, errors


@login_required
def annual(request: HttpRequest) -> HttpResponse:
    require(request.user, services.VIEW)
    year, baseline, errors = _years(request)
    report = services.annual_report(request.user, year, baseline_year=baseline)
    query = f"year={year}" + (f"&baseline={baseline}" if baseline else "")
    return render(
        request,
        "statistics/annual.html",
        {"report": report, "errors": errors, "query": query, "baseline_given": baseline},
        status=400 if errors else 200,
    )


def _export(request: HttpRequest, fmt: str) -> HttpResponse:
    require(request.user, services.VIEW)
    year, baseline, errors = _years(request)
    if errors:
        return HttpResponse("；".join(errors), status=400, content_type="text/plain; charset=utf-8")
    buffer = io.BytesIO()
    if fmt == "xlsx":
        services.export_xlsx(request.user, year, buffer, baseline_year=baseline)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        services.export_pdf(request.user, year, buffer, baseline_year=baseline)
        content_type = "application/pdf"
    response = HttpResponse(buffer.getvalue(), content_type=content_type)
    from urllib.parse import quote

    name = quote(_("%(y)d年统计年报") % {"y": year})
    response["Content-Disposition"] = (
        f"attachment; filename=\"statistics-{year}.{fmt}\"; filename*=UTF-8''{name}.{fmt}"
    )
    return response


@login_required
def export_xlsx(request: HttpRequest) -> HttpResponse:
    return _export(request, "xlsx")


@login_required
def export_pdf(request: HttpRequest) -> HttpResponse:
    return _export(request, "pdf")
