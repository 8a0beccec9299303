"""在线归档 screens: API tokens (系统管理员), received SIPs with their check reports, and a
form to submit a SIP by hand. Views only route; ``ingest.services`` checks permissions."""

from __future__ import annotations

import tempfile
from datetime import datetime, time
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from lantai.core.permissions import has, require
from lantai.holdings.models import Unit
from lantai.ingest import services
from lantai.ingest.models import ApiToken, Sip, SipStatus


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """接口令牌: issue (the secret is shown once) and revoke units' API tokens."""
    tokens = services.visible_tokens(request.user)
    issued = None
    errors: dict = {}
    if request.method == "POST":
        if "revoke" in request.POST:
            token = get_object_or_404(ApiToken, pk=request.POST["revoke"])
            try:
                services.revoke_token(request.user, token)
                messages.success(request, _("令牌已吊销。"))
            except ValidationError as exc:
                messages.error(request, "；".join(exc.messages))
            return redirect("ingest:token_list")
        unit = Unit.objects.filter(pk=request.POST.get("unit") or None).first()
        expires = parse_date(request.POST.get("expires_at") or "")
        expires_at = (
            timezone.make_aware(datetime.combine(expires, time(23, 59, 59))) if expires else None
        )
        try:
            issued = services.issue_token(
                request.user, unit, request.POST.get("name", ""), expires_at=expires_at
            )
        except ValidationError as exc:
            errors = _errors(exc)
    return render(
        request,
        "ingest/tokens.html",
        {
            "tokens": tokens,
            "units": Unit.objects.filter(active=True).order_by("code"),
            "issued": issued,
            "errors": errors,
            "now": timezone.now(),
        },
        status=422 if errors else 200,
    )


@login_required
@require_GET
def sip_list(request: HttpRequest) -> HttpResponse:
    """归档信息包: every SIP the user may see, newest first, filtered by status."""
    require(request.user, services.VIEW)
    services.recover_sips()  # a SIP whose worker died shows resumed or failed, never stuck
    sips = services.visible_sips(request.user)
    status = request.GET.get("status", "")
    if status in SipStatus.values:
        sips = sips.filter(status=status)
    page = Paginator(sips, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "ingest/sip_list.html",
        {
            "page": page,
            "status": status,
            "statuses": SipStatus.choices,
            "can_submit": has(request.user, services.SUBMIT),
        },
    )


def _sip(request: HttpRequest, pk) -> Sip:
    try:
        return services.get_sip(request.user, pk)
    except Sip.DoesNotExist:
        raise Http404 from None


@login_required
@require_GET
def sip_detail(request: HttpRequest, pk) -> HttpResponse:
    """One SIP: status, stage, and every check item with its result and detail."""
    require(request.user, services.VIEW)
    sip = _sip(request, pk)
    report = sip.report or {}
    items = report.get("items") or []
    return render(
        request,
        "ingest/sip_detail.html",
        {
            "sip": sip,
            "report": report,
            "items": items,
            "files": sorted((report.get("files") or {}).items()),
            "summary": report.get("summary") or {},
            "active": sip.status in services.ACTIVE,
        },
    )


@login_required
@require_GET
def sip_report_pdf(request: HttpRequest, pk) -> HttpResponse:
    """The printable 检测报告 of one SIP."""
    require(request.user, services.VIEW)
    sip = _sip(request, pk)
    if not sip.report:
        raise Http404
    handle = tempfile.NamedTemporaryFile(suffix=".pdf", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    try:
        services.report_pdf(sip, path)
        data = path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="report-{sip.pk}.pdf"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def sip_submit(request: HttpRequest) -> HttpResponse:
    """Submit a SIP by hand (archivist for any unit; a unit officer for his own)."""
    require(request.user, services.SUBMIT)
    archivist = services.sees_all_sips(request.user)
    units = Unit.objects.filter(active=True).order_by("code")
    if not archivist:
        units = units.filter(pk=getattr(request.user, "unit_id", None))
    errors: dict = {}
    if request.method == "POST":
        upload = request.FILES.get("file")
        unit = units.filter(pk=request.POST.get("unit") or None).first()
        if upload is None:
            errors["file"] = [_("请选择归档信息包文件。")]
        if unit is None:
            errors["unit"] = [_("请选择单位。")]
        if not errors:
            try:
                sip, _created = services.receive_sip(
                    upload,
                    unit=unit,
                    fonds=request.POST.get("fonds") or None,
                    category=request.POST.get("category", ""),
                    user=request.user,
                    original_name=upload.name,
                    source_kind="web",
                )
                messages.success(request, _("已接收，正在检测。"))
                return redirect("ingest:sip_detail", pk=sip.pk)
            except ValidationError as exc:
                errors = _errors(exc)
            except PermissionDenied as exc:
                errors = {"fonds": [str(exc)]}
    return render(
        request,
        "ingest/sip_submit.html",
        {
            "units": units,
            "errors": errors,
            "other_errors": [
                m for f, msgs in errors.items() if f not in ("unit", "fonds", "file") for m in msgs
            ],
            "archivist": archivist,
        },
        status=422 if errors else 200,
    )
