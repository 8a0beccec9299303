"""四性检测规则 screens: every check item of each stage set blocking, warning or off, and the
archive's accepted-format list. Views only route; ``ingest.checks`` checks permissions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lantai.core.permissions import require
from lantai.ingest import checks
from lantai.ingest.models import AcceptedFormat, CheckMode, CheckProperty, CheckRule, CheckStage


@login_required
@require_http_methods(["GET", "POST"])
def rules(request: HttpRequest, stage: str = CheckStage.ARCHIVING) -> HttpResponse:
    """One stage's check items with their modes; POST saves the changed modes."""
    require(request.user, "ingest.manage_checks")
    if stage not in CheckStage.values:
        stage = CheckStage.ARCHIVING
    rows = list(CheckRule.objects.filter(stage=stage).order_by("sort_order", "code"))
    if request.method == "POST":
        changed = 0
        try:
            for rule in rows:
                mode = request.POST.get(f"mode-{rule.pk}")
                if mode and mode != rule.mode:
                    checks.update_rule(request.user, rule, mode)
                    changed += 1
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        except PermissionDenied:
            raise
        else:
            messages.success(request, _("已保存 %(n)d 项更改。") % {"n": changed})
        return redirect("ingest:check_rules_stage", stage=stage)
    groups = []
    for value, label in CheckProperty.choices:
        members = [rule for rule in rows if rule.property == value]
        if members:
            groups.append({"label": label, "rules": members})
    return render(
        request,
        "ingest/checks/rules.html",
        {
            "stage": stage,
            "stages": CheckStage.choices,
            "groups": groups,
            "modes": CheckMode.choices,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def formats(request: HttpRequest) -> HttpResponse:
    """归档格式目录: accept or refuse a format, add one by PRONOM PUID."""
    require(request.user, "ingest.manage_checks")
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if "toggle" in request.POST:
            fmt = get_object_or_404(AcceptedFormat, pk=request.POST["toggle"])
            checks.set_format_accepted(request.user, fmt, not fmt.accepted)
            messages.success(request, _("已更新：%(f)s") % {"f": fmt.name})
            return redirect("ingest:check_formats")
        try:
            checks.add_format(request.user, request.POST)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("已添加格式。"))
            return redirect("ingest:check_formats")
    return render(
        request,
        "ingest/checks/formats.html",
        {
            "formats": AcceptedFormat.objects.order_by("puid"),
            "errors": errors,
            "data": request.POST if errors else {},
        },
        status=422 if errors else 200,
    )


urlpatterns = [
    path("checks/", rules, name="check_rules"),
    path("checks/<str:stage>/", rules, name="check_rules_stage"),
    path("check-formats/", formats, name="check_formats"),
]
