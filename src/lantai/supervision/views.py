"""业务指导 screens: indicator sets, evaluations (self-assessment, review, grade chart),
inspections and rectifications, training and the register of professionals.

Views are thin over ``supervision.services``, which checks every permission. Something a user
may not see (another unit's evaluation or inspection) is a 404, never a 403, so its existence
is not revealed.
"""

from __future__ import annotations

import io
from decimal import Decimal
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lantai.core.permissions import has
from lantai.holdings.models import Unit
from lantai.supervision import forms, services
from lantai.supervision.models import (
    Attendance,
    Evaluation,
    EvaluationStatus,
    Evidence,
    Grade,
    Indicator,
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

ANY = (
    services.MANAGE_EVALUATION,
    services.INSPECT,
    services.MANAGE_TRAINING,
    services.RESPOND,
)


def _needs(*perms: str):
    """Signed in and holding one of ``perms`` (the services check the details)."""

    def decorate(view):
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not any(has(request.user, p) for p in perms):
                raise PermissionDenied(_("您没有业务指导相关权限。"))
            return view(request, *args, **kwargs)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return login_required(wrapped)

    return decorate


def _form_page(request, form, title, cancel_url, status=200, extra=None):
    context = {"form": form, "title": title, "cancel_url": cancel_url}
    context.update(extra or {})
    return render(request, "supervision/form.html", context, status=status)


def _error_message(request, exc: ValidationError) -> None:
    messages.error(request, "；".join(exc.messages))


@_needs(*ANY)
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "supervision/home.html", {"o": services.overview(request.user)})


# --- indicator sets ---------------------------------------------------------------------------


@_needs(services.MANAGE_EVALUATION)
def set_list(request: HttpRequest) -> HttpResponse:
    sets = IndicatorSet.objects.all()
    return render(request, "supervision/set_list.html", {"sets": sets})


@_needs(services.MANAGE_EVALUATION)
@require_http_methods(["GET", "POST"])
def set_edit(request: HttpRequest, pk=None) -> HttpResponse:
    obj = get_object_or_404(IndicatorSet, pk=pk) if pk else None
    form = forms.IndicatorSetForm(request.POST or None, instance=obj)
    if request.method == "POST" and form.is_valid():
        try:
            obj = services.save_indicator_set(request.user, form.cleaned_data, obj)
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(request, _("已保存指标体系。"))
            return redirect("supervision:set_detail", pk=obj.pk)
    return _form_page(
        request,
        form,
        _("编辑指标体系") if obj else _("新建指标体系"),
        reverse("supervision:set_list"),
        status=400 if request.method == "POST" else 200,
    )


@_needs(services.MANAGE_EVALUATION)
@require_http_methods(["GET", "POST"])
def set_detail(request: HttpRequest, pk) -> HttpResponse:
    indicator_set = get_object_or_404(IndicatorSet, pk=pk)
    form = forms.IndicatorForm(request.POST or None, indicator_set=indicator_set)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.save_indicator(request.user, indicator_set, form.cleaned_data)
            except ValidationError as exc:
                forms.add_errors(form, exc)
            else:
                messages.success(request, _("已添加指标。"))
                return redirect("supervision:set_detail", pk=pk)
        status = 400
    return render(
        request,
        "supervision/set_detail.html",
        {
            "s": indicator_set,
            "rows": services.tree(indicator_set),
            "total": services.total_points(indicator_set),
            "form": form,
            "draft": indicator_set.status == SetStatus.DRAFT,
            "copy_form": forms.CopySetForm(initial={"year": indicator_set.year + 1}),
            "upload_form": forms.UploadForm(),
            "start_form": forms.StartEvaluationsForm(initial={"indicator_set": indicator_set}),
        },
        status=status,
    )


@_needs(services.MANAGE_EVALUATION)
@require_http_methods(["GET", "POST"])
def indicator_edit(request: HttpRequest, pk) -> HttpResponse:
    indicator = get_object_or_404(Indicator, pk=pk)
    form = forms.IndicatorForm(
        request.POST or None, instance=indicator, indicator_set=indicator.indicator_set
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_indicator(
                request.user, indicator.indicator_set, form.cleaned_data, indicator
            )
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            return redirect("supervision:set_detail", pk=indicator.indicator_set_id)
    return _form_page(
        request,
        form,
        _("编辑指标"),
        reverse("supervision:set_detail", args=[indicator.indicator_set_id]),
        status=400 if request.method == "POST" else 200,
        extra={"delete_url": reverse("supervision:indicator_delete", args=[indicator.pk])},
    )


@_needs(services.MANAGE_EVALUATION)
@require_POST
def indicator_delete(request: HttpRequest, pk) -> HttpResponse:
    indicator = get_object_or_404(Indicator, pk=pk)
    set_id = indicator.indicator_set_id
    try:
        services.delete_indicator(request.user, indicator)
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:set_detail", pk=set_id)


@_needs(services.MANAGE_EVALUATION)
@require_POST
def set_publish(request: HttpRequest, pk) -> HttpResponse:
    indicator_set = get_object_or_404(IndicatorSet, pk=pk)
    try:
        services.publish_set(request.user, indicator_set)
        messages.success(request, _("指标体系已发布。"))
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:set_detail", pk=pk)


@_needs(services.MANAGE_EVALUATION)
@require_POST
def set_copy(request: HttpRequest, pk) -> HttpResponse:
    indicator_set = get_object_or_404(IndicatorSet, pk=pk)
    form = forms.CopySetForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写正确的年度。"))
        return redirect("supervision:set_detail", pk=pk)
    new = services.copy_set(request.user, indicator_set, form.cleaned_data["year"])
    messages.success(
        request, _("已复制为 %(y)d 年第 %(v)d 版。") % {"y": new.year, "v": new.version}
    )
    return redirect("supervision:set_detail", pk=new.pk)


@_needs(services.MANAGE_EVALUATION)
def set_export(request: HttpRequest, pk) -> HttpResponse:
    indicator_set = get_object_or_404(IndicatorSet, pk=pk)
    buffer = io.BytesIO()
    services.export_set_xlsx(request.user, indicator_set, buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = quote(f"{indicator_set.year}-{indicator_set.name}-v{indicator_set.version}")
    response["Content-Disposition"] = (
        f"attachment; filename=\"indicators-{indicator_set.pk}.xlsx\"; filename*=UTF-8''{name}.xlsx"
    )
    return response


@_needs(services.MANAGE_EVALUATION)
@require_POST
def set_import(request: HttpRequest, pk) -> HttpResponse:
    indicator_set = get_object_or_404(IndicatorSet, pk=pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("请选择要上传的文件。"))
        return redirect("supervision:set_detail", pk=pk)
    try:
        n = services.import_set_xlsx(request.user, indicator_set, upload)
        messages.success(request, _("已导入 %(n)d 条指标。") % {"n": n})
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:set_detail", pk=pk)


# --- evaluations ------------------------------------------------------------------------------


def _evaluation_or_404(request: HttpRequest, pk) -> Evaluation:
    try:
        return services.get_evaluation(request.user, pk)
    except Evaluation.DoesNotExist:
        raise Http404(_("测评不存在或无权查看。")) from None


@_needs(services.MANAGE_EVALUATION, services.RESPOND)
def evaluation_list(request: HttpRequest) -> HttpResponse:
    year = request.GET.get("year", "")
    status = request.GET.get("status", "")
    grade = request.GET.get("grade", "")
    evaluations = services.filter_evaluations(
        services.visible_evaluations(request.user),
        bureau=has(request.user, services.MANAGE_EVALUATION),
        year=int(year) if year.isdigit() else None,
        status=status,
        grade=grade,
    )
    page = Paginator(evaluations, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "supervision/evaluation_list.html",
        {
            "page": page,
            "statuses": EvaluationStatus.choices,
            "grades": Grade.choices,
            "year": year,
            "status": status,
            "grade": grade,
            "manager": has(request.user, services.MANAGE_EVALUATION),
        },
    )


@_needs(services.MANAGE_EVALUATION)
@require_POST
def evaluation_start(request: HttpRequest) -> HttpResponse:
    form = forms.StartEvaluationsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择已发布的指标体系。"))
        return redirect("supervision:set_list")
    units = form.cleaned_data["units"] or Unit.objects.filter(active=True)
    try:
        created = services.start_evaluations(
            request.user, form.cleaned_data["indicator_set"], list(units)
        )
        messages.success(request, _("已为 %(n)d 个单位启动自评。") % {"n": len(created)})
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:evaluation_list")


def _score_entries(request: HttpRequest, evaluation: Evaluation, review: bool) -> dict:
    entries = {}
    for score in evaluation.scores.all():
        prefix = f"s{score.indicator_id}"
        if review:
            entries[score.indicator_id] = {
                "score": request.POST.get(f"{prefix}-score", ""),
                "comment": request.POST.get(f"{prefix}-comment", ""),
                "failed": request.POST.get(f"{prefix}-failed") == "on",
            }
        else:
            entries[score.indicator_id] = {
                "self_score": request.POST.get(f"{prefix}-self", ""),
                "self_note": request.POST.get(f"{prefix}-note", ""),
            }
    return entries


@_needs(services.MANAGE_EVALUATION, services.RESPOND)
@require_http_methods(["GET", "POST"])
def evaluation_detail(request: HttpRequest, pk) -> HttpResponse:
    evaluation = _evaluation_or_404(request, pk)
    user = request.user
    can_self = (
        services.is_own_unit(user, evaluation.unit_id)
        and evaluation.status == EvaluationStatus.SELF
    )
    can_review = (
        has(user, services.MANAGE_EVALUATION) and evaluation.status == EvaluationStatus.REVIEW
    )
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "self":
                services.save_self_scores(
                    user, evaluation, _score_entries(request, evaluation, False)
                )
                messages.success(request, _("已保存自评。"))
            elif action == "review":
                services.save_review(
                    user,
                    evaluation,
                    _score_entries(request, evaluation, True),
                    comment=request.POST.get("comment", ""),
                )
                messages.success(request, _("已保存评审得分。"))
            else:
                raise ValidationError(_("未知操作。"))
        except ValidationError as exc:
            _error_message(request, exc)
            status = 400
        else:
            return redirect("supervision:evaluation_detail", pk=evaluation.pk)
    # Unit officers see the inspector's scores only once published.
    show_review = services.results_visible(evaluation, bureau=has(user, services.MANAGE_EVALUATION))
    return render(
        request,
        "supervision/evaluation_detail.html",
        {
            "e": evaluation,
            "rows": services.scores_of(evaluation),
            "can_self": can_self,
            "can_review": can_review,
            "show_review": show_review,
            "manager": has(user, services.MANAGE_EVALUATION),
            "reason_form": forms.ReasonForm(),
        },
        status=status,
    )


@_needs(services.RESPOND)
@require_POST
def evaluation_submit(request: HttpRequest, pk) -> HttpResponse:
    evaluation = _evaluation_or_404(request, pk)
    try:
        services.submit_self(request.user, evaluation)
        messages.success(request, _("自评已提交，等待评审。"))
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:evaluation_detail", pk=evaluation.pk)


@_needs(services.MANAGE_EVALUATION)
@require_POST
def evaluation_return(request: HttpRequest, pk) -> HttpResponse:
    evaluation = _evaluation_or_404(request, pk)
    try:
        services.return_for_self(request.user, evaluation, request.POST.get("comment", ""))
        messages.success(request, _("已退回单位重新自评。"))
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:evaluation_detail", pk=evaluation.pk)


@_needs(services.MANAGE_EVALUATION)
@require_POST
def evaluation_publish(request: HttpRequest, pk) -> HttpResponse:
    evaluation = _evaluation_or_404(request, pk)
    try:
        services.publish_evaluation(request.user, evaluation)
        messages.success(request, _("测评结果已公布。"))
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:evaluation_detail", pk=evaluation.pk)


@_needs(services.RESPOND)
@require_POST
def evidence_upload(request: HttpRequest, pk) -> HttpResponse:
    evaluation = _evaluation_or_404(request, pk)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationError(_("请选择要上传的文件。"))
        services.add_score_evidence(
            request.user, evaluation, int(request.POST.get("indicator") or 0), upload, upload.name
        )
        messages.success(request, _("已上传佐证材料。"))
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:evaluation_detail", pk=evaluation.pk)


@_needs(*ANY)
def evidence_download(request: HttpRequest, pk) -> FileResponse:
    evidence = get_object_or_404(Evidence, pk=pk)
    try:
        stream, evidence = services.open_evidence(request.user, evidence)
    except PermissionDenied:
        raise Http404(_("文件不存在或无权查看。")) from None
    return FileResponse(
        stream, as_attachment=True, filename=evidence.filename, content_type=evidence.mime
    )


@_needs(services.MANAGE_EVALUATION)
def grade_chart(request: HttpRequest) -> HttpResponse:
    history = services.grade_history(request.user)
    labels = dict(Grade.choices)
    chart = {
        "years": [str(r["year"]) for r in history],
        "series": [
            {"name": str(labels[g]), "values": [r["shares"][g] for r in history]}
            for g in Grade.values
        ],
        "target": [r["target"] for r in history],
        "target_label": _("优秀率目标"),
    }
    return render(
        request,
        "supervision/grade_chart.html",
        {"history": history, "chart": chart, "grades": Grade.choices},
    )


# --- inspections ------------------------------------------------------------------------------


def _inspection_or_404(request: HttpRequest, pk) -> Inspection:
    try:
        return services.get_inspection(request.user, pk)
    except Inspection.DoesNotExist:
        raise Http404(_("检查不存在或无权查看。")) from None


@_needs(services.INSPECT, services.RESPOND)
def inspection_list(request: HttpRequest) -> HttpResponse:
    year = request.GET.get("year", "")
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "")
    overdue = request.GET.get("overdue") == "1"
    today = timezone.localdate()
    inspections = services.filter_inspections(
        services.visible_inspections(request.user),
        year=int(year) if year.isdigit() else None,
        kind=kind,
        status=status,
        overdue=overdue,
        today=today,
    )
    page = Paginator(inspections, 50).get_page(request.GET.get("page"))
    overdue_ids = set(
        services.visible_rectifications(request.user)
        .filter(services.overdue_q(today))
        .values_list("inspection_id", flat=True)
    )
    return render(
        request,
        "supervision/inspection_list.html",
        {
            "page": page,
            "kinds": InspectionKind.choices,
            "statuses": InspectionStatus.choices,
            "year": year,
            "kind": kind,
            "status": status,
            "overdue": overdue,
            "overdue_ids": overdue_ids,
            "overdue_count": services.overdue_count(request.user),
            "inspector": has(request.user, services.INSPECT),
        },
    )


@_needs(services.INSPECT, services.RESPOND)
def rectification_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    overdue = request.GET.get("overdue") == "1"
    rects = services.filter_rectifications(
        services.visible_rectifications(request.user), status=status, overdue=overdue
    )
    page = Paginator(rects, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "supervision/rectification_list.html",
        {
            "page": page,
            "statuses": RectificationStatus.choices,
            "status": status,
            "overdue": overdue,
            "today": timezone.localdate(),
            "overdue_count": services.overdue_count(request.user),
        },
    )


@_needs(services.INSPECT)
@require_http_methods(["GET", "POST"])
def inspection_edit(request: HttpRequest, pk=None) -> HttpResponse:
    obj = get_object_or_404(Inspection, pk=pk) if pk else None
    initial = {"plan_year": timezone.localdate().year} if obj is None else None
    form = forms.InspectionForm(request.POST or None, instance=obj, initial=initial)
    if obj is not None and request.method == "GET":
        form.initial["inspectors"] = list(obj.inspectors.all())
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        inspectors = data.pop("inspectors")
        try:
            obj = services.save_inspection(request.user, data, obj, inspectors=inspectors)
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(request, _("已保存检查。"))
            return redirect("supervision:inspection_detail", pk=obj.pk)
    return _form_page(
        request,
        form,
        _("编辑检查") if obj else _("新建检查"),
        reverse("supervision:inspection_list"),
        status=400 if request.method == "POST" else 200,
    )


@_needs(services.INSPECT, services.RESPOND)
def inspection_detail(request: HttpRequest, pk) -> HttpResponse:
    inspection = _inspection_or_404(request, pk)
    inspector = has(request.user, services.INSPECT)
    own = services.is_own_unit(request.user, inspection.unit_id)
    today = timezone.localdate()
    rects = list(inspection.rectifications.prefetch_related("evidence").select_related("finding"))
    for rect in rects:
        rect.overdue = rect.is_overdue(today)
    return render(
        request,
        "supervision/inspection_detail.html",
        {
            "i": inspection,
            "findings": inspection.findings.all(),
            "rects": rects,
            "inspector": inspector,
            "own": own,
            "open": inspection.status != InspectionStatus.CLOSED,
            "finding_form": forms.FindingForm(),
            "rect_form": forms.RectificationForm(inspection=inspection),
            "respond_form": forms.RespondForm(),
            "verify_form": forms.VerifyForm(),
        },
    )


@_needs(services.INSPECT)
@require_POST
def finding_add(request: HttpRequest, pk) -> HttpResponse:
    inspection = _inspection_or_404(request, pk)
    form = forms.FindingForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("请填写问题描述。"))
        services.add_finding(request.user, inspection, **form.cleaned_data)
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:inspection_detail", pk=inspection.pk)


@_needs(services.INSPECT)
@require_POST
def rectification_add(request: HttpRequest, pk) -> HttpResponse:
    inspection = _inspection_or_404(request, pk)
    form = forms.RectificationForm(request.POST, inspection=inspection)
    try:
        if not form.is_valid():
            raise ValidationError(_("请填写整改要求和整改期限。"))
        rect = services.issue_rectification(request.user, inspection, **form.cleaned_data)
        messages.success(request, _("已下达整改通知 %(n)s。") % {"n": rect.number})
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:inspection_detail", pk=inspection.pk)


def _rect_or_404(request: HttpRequest, pk) -> Rectification:
    rect = services.visible_rectifications(request.user).filter(pk=pk).first()
    if rect is None:
        raise Http404(_("整改通知不存在或无权查看。"))
    return rect


@_needs(services.RESPOND)
@require_POST
def rectification_respond(request: HttpRequest, pk) -> HttpResponse:
    rect = _rect_or_404(request, pk)
    files = [(f, f.name) for f in request.FILES.getlist("files")]
    try:
        services.respond_rectification(request.user, rect, request.POST.get("response", ""), files)
        messages.success(request, _("已提交整改情况。"))
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:inspection_detail", pk=rect.inspection_id)


@_needs(services.INSPECT)
@require_POST
def rectification_verify(request: HttpRequest, pk) -> HttpResponse:
    rect = _rect_or_404(request, pk)
    form = forms.VerifyForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("请选择验收结论。"))
        services.verify_rectification(request.user, rect, **form.cleaned_data)
        messages.success(request, _("已记录验收结论。"))
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:inspection_detail", pk=rect.inspection_id)


@_needs(services.INSPECT)
@require_POST
def inspection_close(request: HttpRequest, pk) -> HttpResponse:
    inspection = _inspection_or_404(request, pk)
    try:
        services.close_inspection(request.user, inspection)
        messages.success(request, _("检查已办结。"))
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:inspection_detail", pk=inspection.pk)


# --- training and professionals ---------------------------------------------------------------


@_needs(services.MANAGE_TRAINING)
def session_list(request: HttpRequest) -> HttpResponse:
    sessions = TrainingSession.objects.all()
    year = request.GET.get("year", "")
    if year.isdigit():
        sessions = sessions.filter(date__year=int(year))
    page = Paginator(sessions, 50).get_page(request.GET.get("page"))
    return render(request, "supervision/session_list.html", {"page": page, "year": year})


@_needs(services.MANAGE_TRAINING)
@require_http_methods(["GET", "POST"])
def session_edit(request: HttpRequest, pk=None) -> HttpResponse:
    obj = get_object_or_404(TrainingSession, pk=pk) if pk else None
    form = forms.SessionForm(request.POST or None, instance=obj)
    if request.method == "POST" and form.is_valid():
        try:
            obj = services.save_session(request.user, form.cleaned_data, obj)
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            return redirect("supervision:session_detail", pk=obj.pk)
    return _form_page(
        request,
        form,
        _("编辑培训") if obj else _("新建培训"),
        reverse("supervision:session_list"),
        status=400 if request.method == "POST" else 200,
    )


@_needs(services.MANAGE_TRAINING)
@require_http_methods(["GET", "POST"])
def session_detail(request: HttpRequest, pk) -> HttpResponse:
    session = get_object_or_404(TrainingSession, pk=pk)
    form = forms.AttendanceForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.add_attendance(request.user, session, **form.cleaned_data)
            except ValidationError as exc:
                forms.add_errors(form, exc)
            else:
                return redirect("supervision:session_detail", pk=pk)
        status = 400
    return render(
        request,
        "supervision/session_detail.html",
        {
            "s": session,
            "attendances": session.attendances.select_related("unit", "professional"),
            "form": form,
            "upload_form": forms.UploadForm(),
        },
        status=status,
    )


@_needs(services.MANAGE_TRAINING)
@require_POST
def session_import(request: HttpRequest, pk) -> HttpResponse:
    session = get_object_or_404(TrainingSession, pk=pk)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationError(_("请选择要上传的文件。"))
        n = services.import_attendance_xlsx(request.user, session, upload)
        messages.success(request, _("已导入 %(n)d 名参训人员。") % {"n": n})
    except ValidationError as exc:
        _error_message(request, exc)
    return redirect("supervision:session_detail", pk=pk)


@_needs(services.MANAGE_TRAINING)
@require_POST
def attendance_remove(request: HttpRequest, pk) -> HttpResponse:
    attendance = get_object_or_404(Attendance, pk=pk)
    services.remove_attendance(request.user, attendance)
    return redirect("supervision:session_detail", pk=attendance.session_id)


@_needs(services.MANAGE_TRAINING)
def training_hours(request: HttpRequest) -> HttpResponse:
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    rows = services.hours_by_person(request.user, year)
    total = sum((r["hours"] or Decimal(0) for r in rows), Decimal(0))
    return render(
        request, "supervision/training_hours.html", {"rows": rows, "year": year, "total": total}
    )


@_needs(services.MANAGE_TRAINING)
def professional_list(request: HttpRequest) -> HttpResponse:
    people = services.visible_professionals(request.user)
    q = request.GET.get("q", "").strip()
    if q:
        people = people.filter(
            Q(name__contains=q) | Q(specialties__contains=q) | Q(unit__name__contains=q)
        )
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    return render(request, "supervision/professional_list.html", {"page": page, "q": q})


@_needs(services.MANAGE_TRAINING)
@require_http_methods(["GET", "POST"])
def professional_edit(request: HttpRequest, pk=None) -> HttpResponse:
    obj = get_object_or_404(Professional, pk=pk) if pk else None
    form = forms.ProfessionalForm(request.POST or None, instance=obj)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_professional(request.user, form.cleaned_data, obj)
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            return redirect("supervision:professional_list")
    return _form_page(
        request,
        form,
        _("编辑专业人员") if obj else _("登记专业人员"),
        reverse("supervision:professional_list"),
        status=400 if request.method == "POST" else 200,
    )
