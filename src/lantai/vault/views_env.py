"""库房环境 screens: live status, alarms, sensors with charts, monthly reports, CSV import,
device tokens and ingest statistics. Views only route; ``services_env`` checks permissions,
validates and audits."""

from __future__ import annotations

import io
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lantai.core.permissions import has, require
from lantai.vault import services_env as env
from lantai.vault.models import (
    AlarmStatus,
    DeviceToken,
    RejectedReading,
    Sensor,
    SensorKind,
    Vault,
)


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def _by_pk(queryset, value):
    """The row whose id is ``value``, or None: a hand-edited ``?vault=abc`` is no server error."""
    text = str(value or "").strip()
    return queryset.filter(pk=int(text)).first() if text.isdigit() else None


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """库房环境: every vault's live status (refreshed by htmx) and the open alarms."""
    require(request.user, env.VIEW_ENV)
    return render(
        request,
        "vault/env/dashboard.html",
        {"status": env.vault_status(request.user), "can_handle": has(request.user, env.HANDLE)},
    )


@login_required
@require_GET
def status_partial(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "vault/env/_status.html",
        {"status": env.vault_status(request.user), "can_handle": has(request.user, env.HANDLE)},
    )


@login_required
@require_GET
def alarm_badge(request: HttpRequest) -> HttpResponse:
    """The number of open alarms in the navigation bar (polled)."""
    if not has(request.user, env.VIEW_ENV):
        return HttpResponse("")
    count = env.open_alarms(request.user).count()
    raised = env.open_alarms(request.user).filter(status=AlarmStatus.RAISED).count()
    return render(request, "vault/env/_badge.html", {"count": count, "raised": raised})


@login_required
@require_GET
def alarm_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    vault = _by_pk(Vault.objects.all(), request.GET.get("vault"))
    qs = env.alarms(request.user, status=status, vault=vault)[:200]
    return render(
        request,
        "vault/env/alarm_list.html",
        {
            "alarms": qs,
            "status": status,
            "vault": vault,
            "vaults": Vault.objects.all(),
            "statuses": AlarmStatus.choices,
            "can_handle": has(request.user, env.HANDLE),
        },
    )


@login_required
@require_GET
def alarm_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alarm = get_object_or_404(env.alarms(request.user), pk=pk)
    return render(
        request,
        "vault/env/alarm_detail.html",
        {"alarm": alarm, "can_handle": has(request.user, env.HANDLE), "errors": {}},
    )


@login_required
@require_POST
def alarm_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    alarm = get_object_or_404(env.alarms(request.user), pk=pk)
    note = request.POST.get("note", "")
    try:
        if action == "acknowledge":
            env.acknowledge(request.user, alarm, note)
            messages.success(request, _("告警已确认。"))
        else:
            env.resolve(request.user, alarm, note)
            messages.success(request, _("告警已解除。"))
    except ValidationError as exc:
        alarm.refresh_from_db()
        return render(
            request,
            "vault/env/alarm_detail.html",
            {
                "alarm": alarm,
                "can_handle": True,
                "errors": _errors(exc),
                "action": action,
                "note": note,
            },
            status=422,
        )
    return redirect("vault:env_alarm_detail", pk=alarm.pk)


@login_required
@require_GET
def sensor_list(request: HttpRequest) -> HttpResponse:
    require(request.user, env.VIEW_ENV)
    sensors = Sensor.objects.select_related("vault", "kind").order_by("vault__code", "code")
    return render(
        request,
        "vault/env/sensor_list.html",
        {
            "sensors": sensors,
            "kinds": SensorKind.objects.annotate(n_sensors=Count("sensors")),
            "can_manage": has(request.user, env.MANAGE),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def sensor_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, env.MANAGE)
    sensor = get_object_or_404(Sensor, pk=pk) if pk else None
    errors: dict = {}
    data = request.POST if request.method == "POST" else None
    if data is not None:
        try:
            sensor = env.save_sensor(request.user, data.dict(), sensor)
            messages.success(request, _("传感器已保存。"))
            return redirect("vault:env_sensor_detail", pk=sensor.pk)
        except ValidationError as exc:
            errors = _errors(exc)
    return render(
        request,
        "vault/env/sensor_form.html",
        {
            "sensor": sensor,
            "data": data,
            "errors": errors,
            "vaults": Vault.objects.all(),
            "kinds": SensorKind.objects.all(),
        },
        status=422 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def kind_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """监测类型: add a watched quantity to the 八防 list or change one (keepers)."""
    require(request.user, env.MANAGE)
    kind = get_object_or_404(SensorKind, pk=pk) if pk else None
    errors: dict = {}
    data = request.POST if request.method == "POST" else None
    if data is not None:
        try:
            env.save_kind(request.user, data.dict(), kind)
            messages.success(request, _("监测类型已保存。"))
            return redirect("vault:env_sensors")
        except ValidationError as exc:
            errors = _errors(exc)
    return render(
        request,
        "vault/env/kind_form.html",
        {
            "kind": kind,
            "data": data,
            "errors": errors,
            "used": kind.sensors.count() if kind else 0,
        },
        status=422 if errors else 200,
    )


@login_required
@require_POST
def kind_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, env.MANAGE)
    kind = get_object_or_404(SensorKind, pk=pk)
    try:
        env.delete_kind(request.user, kind)
        messages.success(request, _("监测类型已删除。"))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("vault:env_sensors")


@login_required
@require_GET
def sensor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sensor = env.get_sensor(request.user, pk)
    return render(
        request,
        "vault/env/sensor_detail.html",
        {
            "sensor": sensor,
            "limits": env.limits_for(sensor),
            "alarms": sensor.alarms.order_by("-raised_at")[:20],
            "can_manage": has(request.user, env.MANAGE),
        },
    )


@login_required
@require_GET
def sensor_series(request: HttpRequest, pk: int) -> HttpResponse:
    sensor = env.get_sensor(request.user, pk)
    try:
        data = env.series(request.user, sensor, request.GET.get("span", "24h"))
    except ValidationError as exc:
        return JsonResponse({"detail": _("参数不正确。"), "errors": _errors(exc)}, status=422)
    return JsonResponse(data)


def _month(text: str | None) -> tuple[int, int]:
    today = timezone.localdate()
    if text:
        try:
            year, month = (int(p) for p in text.split("-", 1))
            date(year, month, 1)
            return year, month
        except ValueError:
            raise ValidationError({"month": [_("月份格式应为 YYYY-MM。")]}) from None
    first = today.replace(day=1)
    return (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)


@login_required
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    """月度环境报告: choose a vault and a month; view it, or download PDF or .xlsx."""
    require(request.user, env.VIEW_ENV)
    vaults = Vault.objects.all()
    vault = _by_pk(vaults, request.GET.get("vault")) or vaults.first()
    errors: dict = {}
    data = None
    try:
        year, month = _month(request.GET.get("month"))
    except ValidationError as exc:
        errors = _errors(exc)
        year, month = timezone.localdate().year, timezone.localdate().month
    fmt = request.GET.get("format", "")
    if vault is not None and not errors:
        try:
            if fmt in {"pdf", "xlsx"}:
                content, ctype, name = env.export_report(request.user, vault, year, month, fmt)
                response = HttpResponse(content, content_type=ctype)
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
            data = env.monthly_report(request.user, vault, year, month)
        except ValidationError as exc:
            errors = _errors(exc)
    sensors, alarms = env.report_table(data) if data else ([], [])
    return render(
        request,
        "vault/env/report.html",
        {
            "vaults": vaults,
            "vault": vault,
            "month": f"{year:04d}-{month:02d}",
            "report": data,
            "sensor_rows": sensors,
            "alarm_rows": alarms,
            "errors": errors,
        },
        status=422 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_csv(request: HttpRequest) -> HttpResponse:
    require(request.user, env.MANAGE)
    result = None
    errors: dict = {}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = {"file": [_("请选择 CSV 文件。")]}
        else:
            try:
                text = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
                result = env.import_csv(request.user, text).as_dict()
            except UnicodeDecodeError:
                errors = {"file": [_("文件不是 UTF-8 编码的 CSV。")]}
            except ValidationError as exc:
                errors = _errors(exc)
    return render(
        request,
        "vault/env/import.html",
        {
            "result": result,
            "errors": errors,
            # Outcome codes shown by their (translated) labels, not as raw codes.
            "outcome_counts": [
                (env.outcome_label(code), n) for code, n in (result or {}).get("counts", {}).items()
            ],
        },
        status=422 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """采集令牌: issue (the token is shown once) and revoke device tokens."""
    require(request.user, env.MANAGE)
    issued = None
    errors: dict = {}
    if request.method == "POST":
        if "revoke" in request.POST:
            device = _by_pk(DeviceToken.objects.all(), request.POST["revoke"])
            if device is None:
                raise Http404
            env.revoke_token(request.user, device)
            messages.success(request, _("令牌已停用。"))
            return redirect("vault:env_tokens")
        wanted = (request.POST.get("vault") or "").strip()
        vault = _by_pk(Vault.objects.all(), wanted)
        try:
            if wanted and vault is None:
                # Never fall back to a token for every vault when the chosen one is not found.
                raise ValidationError({"vault": [_("所选库房不存在。")]})
            issued = env.issue_token(request.user, request.POST.get("name", ""), vault)
        except ValidationError as exc:
            errors = _errors(exc)
    return render(
        request,
        "vault/env/tokens.html",
        {
            "tokens": DeviceToken.objects.select_related("vault"),
            "vaults": Vault.objects.all(),
            "issued": issued,
            "errors": errors,
        },
        status=422 if errors else 200,
    )


@login_required
@require_GET
def ingest_stats(request: HttpRequest) -> HttpResponse:
    """采集统计: readings per day, source and outcome, and the latest refusals with reasons."""
    counts = env.ingest_counts(request.user, days=7)
    rejects = RejectedReading.objects.all()[:100]
    return render(
        request,
        "vault/env/ingest.html",
        {"counts": counts, "rejects": rejects, "labels": env.OUTCOME_LABELS},
    )


urlpatterns = [
    path("env/", dashboard, name="env_dashboard"),
    path("env/status/", status_partial, name="env_status"),
    path("env/alarm-badge/", alarm_badge, name="env_alarm_badge"),
    path("env/alarms/", alarm_list, name="env_alarms"),
    path("env/alarms/<int:pk>/", alarm_detail, name="env_alarm_detail"),
    path(
        "env/alarms/<int:pk>/acknowledge/",
        alarm_action,
        {"action": "acknowledge"},
        name="env_alarm_acknowledge",
    ),
    path(
        "env/alarms/<int:pk>/resolve/",
        alarm_action,
        {"action": "resolve"},
        name="env_alarm_resolve",
    ),
    path("env/sensors/", sensor_list, name="env_sensors"),
    path("env/sensors/new/", sensor_edit, name="env_sensor_new"),
    path("env/sensors/<int:pk>/", sensor_detail, name="env_sensor_detail"),
    path("env/sensors/<int:pk>/edit/", sensor_edit, name="env_sensor_edit"),
    path("env/sensors/<int:pk>/series.json", sensor_series, name="env_sensor_series"),
    path("env/kinds/new/", kind_edit, name="env_kind_new"),
    path("env/kinds/<int:pk>/edit/", kind_edit, name="env_kind_edit"),
    path("env/kinds/<int:pk>/delete/", kind_delete, name="env_kind_delete"),
    path("env/report/", report, name="env_report"),
    path("env/import/", import_csv, name="env_import"),
    path("env/tokens/", tokens, name="env_tokens"),
    path("env/ingest/", ingest_stats, name="env_ingest"),
]

__all__ = ["urlpatterns"]
