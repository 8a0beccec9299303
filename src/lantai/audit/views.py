"""The auditor's screens 审计员界面: list and filter, entry detail, verify, CSV export.

Only 安全审计员 (audit.view_auditentry) reads the trail; the services refuse everyone else,
so the 系统管理员 gets 403 here like anywhere else. Nothing here changes an entry.
"""

from __future__ import annotations

import csv
import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit import services
from lantai.audit.forms import EntryFilterForm, VerifyForm
from lantai.audit.models import AuditEntry
from lantai.core.permissions import has, require


def _cursor(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _filters(request: HttpRequest) -> tuple[EntryFilterForm, services.EntryFilter, str]:
    params = request.GET.copy()
    for key in ("before", "after"):
        params.pop(key, None)
    form = EntryFilterForm(params or None)
    if form.is_bound:
        form.is_valid()
    return form, form.to_filter(), params.urlencode()


@login_required
def entry_list(request: HttpRequest) -> HttpResponse:
    require(request.user, services.VIEW_PERM)
    form, filters, query = _filters(request)
    entries = services.search_entries(request.user, filters)
    page = services.page_entries(
        entries, before=_cursor(request, "before"), after=_cursor(request, "after")
    )
    return render(
        request,
        "audit/entry_list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "can_verify": has(request.user, services.VERIFY_PERM),
        },
    )


@login_required
def entry_detail(request: HttpRequest, seq: int) -> HttpResponse:
    try:
        entry = services.get_entry(request.user, seq)
    except AuditEntry.DoesNotExist as exc:
        raise Http404(_("审计条目不存在。")) from exc
    detail = json.dumps(entry.detail, ensure_ascii=False, indent=2, sort_keys=True)
    return render(request, "audit/entry_detail.html", {"entry": entry, "detail_json": detail})


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """GET shows the button; POST walks the chain and shows the result (and is audited)."""
    require(request.user, services.VERIFY_PERM)
    report = None
    form = VerifyForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        report = services.verify(request.user, anchors=form.cleaned_data["anchors"])
    # After removed entries, broken_seq is where they were (or now the verification's own).
    broken_exists = bool(report and not report.ok and not report.tail_removed)
    return render(
        request,
        "audit/verify.html",
        {
            "form": form,
            "report": report,
            "reason": services.reason_text(report) if report and not report.ok else "",
            "broken_exists": broken_exists,
        },
    )


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


@login_required
def export_csv(request: HttpRequest) -> HttpResponse:
    require(request.user, services.VIEW_PERM)
    _form, filters, _query = _filters(request)
    rows = services.export_rows(request.user, filters)
    writer = csv.writer(_Echo())

    def stream():
        # A byte-order mark lets Excel on Chinese Windows read UTF-8 correctly.
        yield "\ufeff"
        for row in rows:
            yield writer.writerow(row)

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
