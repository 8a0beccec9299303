"""Staff screens of 宣传与编研: visits, exhibitions and columns, calls and offers, compilation
and oral history.

Views are thin over ``outreach.services``, which checks every permission again; the
decorators here only refuse early. Each section needs its own permission.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.core.permissions import require
from lantai.outreach import forms, services
from lantai.outreach import models as m
from lantai.storage.services import open_object


def _needs(perm: str) -> Callable:
    def decorator(view):
        def wrapped(request: HttpRequest, *args, **kwargs):
            require(request.user, perm)
            return view(request, *args, **kwargs)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return login_required(wrapped)

    return decorator


visits_staff = _needs(services.VISITS)
exhibitions_staff = _needs(services.EXHIBITIONS)
compilation_staff = _needs(services.COMPILATION)
oral_staff = _needs(services.ORAL_HISTORY)


def _edit(
    request: HttpRequest,
    form_class,
    save: Callable[[dict], object],
    *,
    title: str,
    cancel: str,
    instance=None,
    success: Callable[[object], str],
    form_kwargs: dict | None = None,
    files: bool = False,
) -> HttpResponse:
    """A create/edit screen: show the form, pass cleaned_data to ``save``, show its errors."""
    initial = forms.initial_of(instance, form_class._meta.fields) if instance else {}
    form = form_class(
        request.POST or None,
        request.FILES or None,
        initial=initial,
        **(form_kwargs or {}),
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = save(form.cleaned_data)
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect(success(saved))
    return render(
        request,
        "outreach/form.html",
        {"form": form, "title": title, "cancel_url": cancel, "multipart": files},
        status=400 if request.method == "POST" else 200,
    )


def _stored_download(request, stored, filename: str, obj) -> FileResponse:
    record(AuditAction.DOWNLOAD, actor=request.user, obj=obj, detail={"file": filename})
    return FileResponse(open_object(stored), as_attachment=True, filename=filename)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """宣传与编研 overview: what is waiting, for whoever may handle it."""
    user = request.user
    can = {
        "visits": user.has_perm(services.VISITS),
        "exhibitions": user.has_perm(services.EXHIBITIONS),
        "compilation": user.has_perm(services.COMPILATION),
        "oral": user.has_perm(services.ORAL_HISTORY),
    }
    if not any(can.values()):
        require(user, services.VISITS)  # raises: nothing here for this user
    context = {"can": can}
    if can["visits"]:
        context["pending"] = m.VisitBooking.objects.filter(status=m.BookingStatus.PENDING).count()
        context["today"] = (
            m.VisitBooking.objects.filter(slot__date=timezone.localdate())
            .exclude(status__in=[m.BookingStatus.DECLINED, m.BookingStatus.CANCELLED])
            .select_related("slot")
        )
    if can["exhibitions"]:
        context["new_offers"] = m.MaterialOffer.objects.filter(status=m.OfferStatus.NEW).count()
    return render(request, "outreach/home.html", context)


# --- visits -------------------------------------------------------------------------------------


@visits_staff
def booking_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    day = request.GET.get("date", "")
    try:
        date = dt.date.fromisoformat(day) if day else None
    except ValueError:
        date, day = None, ""  # an unreadable date filters nothing
    bookings = services.staff_bookings(request.user, status=status, day=date)
    page = Paginator(bookings, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "outreach/booking_list.html",
        {"page": page, "statuses": m.BookingStatus.choices, "status": status, "date": day},
    )


@visits_staff
def booking_detail(request: HttpRequest, pk: int) -> HttpResponse:
    booking = get_object_or_404(m.VisitBooking.objects.select_related("slot"), pk=pk)
    slots = services.bookable_slots().exclude(pk=booking.slot_id)
    return render(
        request,
        "outreach/booking_detail.html",
        {
            "booking": booking,
            "decline_form": forms.DeclineForm(),
            "reschedule_form": forms.RescheduleForm(slots=slots),
            "checkin_form": forms.CheckInForm(initial={"actual_people": booking.people}),
        },
    )


@visits_staff
@require_POST
def booking_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """确认 / 婉拒 / 改期 / 签到 / 未到场."""
    booking = get_object_or_404(m.VisitBooking, pk=pk)
    try:
        if action == "confirm":
            services.confirm_booking(request.user, booking)
        elif action == "decline":
            services.decline_booking(request.user, booking, request.POST.get("reason", ""))
        elif action == "reschedule":
            form = forms.RescheduleForm(request.POST, slots=services.bookable_slots())
            if not form.is_valid():
                raise ValidationError(_("请选择有余位的新时段。"))
            services.reschedule_booking(request.user, booking, form.cleaned_data["slot"])
        elif action == "checkin":
            services.check_in(request.user, booking, request.POST.get("actual_people"))
        elif action == "noshow":
            services.mark_no_show(request.user, booking)
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("预约 %(r)s 已更新。") % {"r": booking.reference})
    return redirect("outreach:booking_detail", pk=pk)


@visits_staff
@require_http_methods(["GET", "POST"])
def slot_list(request: HttpRequest) -> HttpResponse:
    """Upcoming slots, the generator 批量生成 and closed days 闭馆日."""
    generate = forms.GenerateForm(request.POST if "generate" in request.POST else None)
    closed = forms.ClosedDayForm(request.POST if "close" in request.POST else None)
    if request.method == "POST":
        try:
            if "generate" in request.POST and generate.is_valid():
                data = generate.cleaned_data
                created = services.generate_slots(
                    request.user,
                    data["start"],
                    data["end"],
                    weekdays=data["weekdays"],
                    times=services.parse_times(data["times"]),
                    capacity=data["capacity"],
                )
                messages.success(request, _("已生成 %(n)d 个时段。") % {"n": created})
                return redirect("outreach:slot_list")
            if "close" in request.POST and closed.is_valid():
                services.close_day(
                    request.user, closed.cleaned_data["date"], closed.cleaned_data["reason"]
                )
                messages.success(request, _("闭馆日已登记。"))
                return redirect("outreach:slot_list")
        except ValidationError as exc:
            forms.add_errors(generate if "generate" in request.POST else closed, exc)
    slots = m.VisitSlot.objects.filter(date__gte=timezone.localdate()).order_by("date", "start")
    page = Paginator(slots, 60).get_page(request.GET.get("page"))
    return render(
        request,
        "outreach/slot_list.html",
        {
            "page": page,
            "generate": generate,
            "closed_form": closed,
            "closed_days": m.ClosedDay.objects.filter(date__gte=timezone.localdate()),
        },
        status=400 if request.method == "POST" else 200,
    )


@visits_staff
@require_http_methods(["GET", "POST"])
def slot_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    slot = get_object_or_404(m.VisitSlot, pk=pk) if pk else None
    return _edit(
        request,
        forms.SlotForm,
        lambda data: services.save_slot(request.user, data, slot),
        title=_("修改参观时段") if slot else _("新建参观时段"),
        cancel=reverse("outreach:slot_list"),
        instance=slot,
        success=lambda s: reverse("outreach:slot_list"),
    )


@visits_staff
def visit_stats(request: HttpRequest) -> HttpResponse:
    year_text = request.GET.get("year", "")
    year = int(year_text) if year_text.isdigit() and len(year_text) == 4 else None
    year = year or timezone.localdate().year
    result = services.visit_statistics(year)
    chart = {
        "months": [_("%(m)d月") % {"m": n} for n in range(1, 13)],
        "groups": result["current"]["groups"],
        "visitors": result["current"]["visitors"],
        "previous_visitors": result["previous"]["visitors"],
        "labels": {
            "groups": _("团体（批）"),
            "visitors": _("%(y)d年人数") % {"y": year},
            "previous": _("%(y)d年人数") % {"y": year - 1},
        },
    }
    return render(
        request,
        "outreach/visit_stats.html",
        {
            "stats": result,
            "chart": chart,
            "year": year,
            "rows": list(
                zip(
                    chart["months"],
                    chart["groups"],
                    chart["visitors"],
                    chart["previous_visitors"],
                    strict=True,
                )
            ),
        },
    )


# --- exhibitions, columns, articles, calls ------------------------------------------------------


@exhibitions_staff
def exhibition_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "outreach/exhibition_list.html",
        {
            "exhibitions": m.Exhibition.objects.select_related("column"),
            "columns": m.Column.objects.all(),
            "articles": m.Article.objects.select_related("column"),
            "calls": m.MaterialCall.objects.annotate(offer_count=Count("offers")),
        },
    )


@exhibitions_staff
@require_http_methods(["GET", "POST"])
def exhibition_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    exhibition = get_object_or_404(m.Exhibition, pk=pk) if pk else None
    return _edit(
        request,
        forms.ExhibitionForm,
        lambda data: services.save_exhibition(request.user, data, exhibition),
        title=_("修改展览") if exhibition else _("新建展览"),
        cancel=reverse("outreach:exhibition_list"),
        instance=exhibition,
        success=lambda e: reverse("outreach:exhibition_detail", args=[e.pk]),
    )


@exhibitions_staff
@require_http_methods(["GET", "POST"])
def exhibition_detail(request: HttpRequest, pk: int) -> HttpResponse:
    exhibition = get_object_or_404(m.Exhibition, pk=pk)
    section_form = forms.SectionForm(request.POST if "add_section" in request.POST else None)
    if request.method == "POST" and "add_section" in request.POST and section_form.is_valid():
        try:
            services.save_section(
                request.user, {**section_form.cleaned_data, "exhibition": exhibition}
            )
        except ValidationError as exc:
            forms.add_errors(section_form, exc)
        else:
            return redirect("outreach:exhibition_detail", pk=pk)
    public_ids = set(
        services.visible_public_items()
        .filter(pk__in=m.Exhibit.objects.filter(section__exhibition=exhibition).values("item"))
        .values_list("pk", flat=True)
    )
    sections = exhibition.sections.prefetch_related("exhibits__item")
    return render(
        request,
        "outreach/exhibition_detail.html",
        {
            "exhibition": exhibition,
            "sections": sections,
            "public_ids": public_ids,
            "section_form": section_form,
            "exhibit_form": forms.ExhibitForm(),
        },
    )


@exhibitions_staff
@require_POST
def exhibit_add(request: HttpRequest, section_pk: int) -> HttpResponse:
    section = get_object_or_404(m.ExhibitionSection, pk=section_pk)
    form = forms.ExhibitForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("请填写档号。"))
        item = services.find_item(request.user, form.cleaned_data["item"])
        services.add_exhibit(
            request.user,
            section,
            item,
            form.cleaned_data["caption"],
            form.cleaned_data["sort_order"],
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("展品已添加。"))
    return redirect("outreach:exhibition_detail", pk=section.exhibition_id)


@exhibitions_staff
@require_POST
def exhibit_remove(request: HttpRequest, pk: int) -> HttpResponse:
    exhibit = get_object_or_404(m.Exhibit.objects.select_related("section"), pk=pk)
    exhibition_id = exhibit.section.exhibition_id
    services.remove_exhibit(request.user, exhibit)
    return redirect("outreach:exhibition_detail", pk=exhibition_id)


PUBLISHABLE = {
    "exhibition": m.Exhibition,
    "column": m.Column,
    "article": m.Article,
    "call": m.MaterialCall,
}


@exhibitions_staff
@require_POST
def publish(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    model = PUBLISHABLE.get(kind)
    if model is None:
        raise Http404
    obj = get_object_or_404(model, pk=pk)
    services.set_published(request.user, obj, request.POST.get("publish") == "1")
    messages.success(request, _("“%(t)s”状态已更新。") % {"t": obj})
    if kind == "exhibition":
        return redirect("outreach:exhibition_detail", pk=pk)
    return redirect("outreach:exhibition_list")


@exhibitions_staff
@require_http_methods(["GET", "POST"])
def column_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    column = get_object_or_404(m.Column, pk=pk) if pk else None
    return _edit(
        request,
        forms.ColumnForm,
        lambda data: services.save_column(request.user, data, column),
        title=_("修改专题栏目") if column else _("新建专题栏目"),
        cancel=reverse("outreach:exhibition_list"),
        instance=column,
        success=lambda c: reverse("outreach:exhibition_list"),
    )


@exhibitions_staff
@require_http_methods(["GET", "POST"])
def article_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    article = get_object_or_404(m.Article, pk=pk) if pk else None
    return _edit(
        request,
        forms.ArticleForm,
        lambda data: services.save_article(request.user, data, article),
        title=_("修改专题文章") if article else _("新建专题文章"),
        cancel=reverse("outreach:exhibition_list"),
        instance=article,
        success=lambda a: reverse("outreach:exhibition_list"),
    )


@exhibitions_staff
@require_http_methods(["GET", "POST"])
def call_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    call = get_object_or_404(m.MaterialCall, pk=pk) if pk else None
    return _edit(
        request,
        forms.CallForm,
        lambda data: services.save_call(request.user, data, call),
        title=_("修改征集公告") if call else _("新建征集公告"),
        cancel=reverse("outreach:exhibition_list"),
        instance=call,
        success=lambda c: reverse("outreach:offer_list") + f"?call={c.pk}",
    )


@exhibitions_staff
def offer_list(request: HttpRequest) -> HttpResponse:
    offers = m.MaterialOffer.objects.select_related("call", "acquisition")
    call = request.GET.get("call", "")
    if call.isdigit():
        offers = offers.filter(call_id=int(call))
    status = request.GET.get("status", "")
    if status in m.OfferStatus.values:
        offers = offers.filter(status=status)
    page = Paginator(offers, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "outreach/offer_list.html",
        {"page": page, "calls": m.MaterialCall.objects.all(), "statuses": m.OfferStatus.choices},
    )


@exhibitions_staff
@require_http_methods(["GET", "POST"])
def offer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_object_or_404(m.MaterialOffer.objects.select_related("call"), pk=pk)
    form = forms.TriageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.triage_offer(
                request.user,
                offer,
                form.cleaned_data["decision"],
                form.cleaned_data["note"],
                acquisition=form.cleaned_data["acquisition"],
            )
        except ValidationError as exc:
            forms.add_errors(form, exc)
        else:
            messages.success(request, _("线索已处理。"))
            return redirect("outreach:offer_detail", pk=pk)
    return render(request, "outreach/offer_detail.html", {"offer": offer, "form": form})


@exhibitions_staff
def offer_photo(request: HttpRequest, pk: int) -> HttpResponse:
    photo = get_object_or_404(m.OfferPhoto.objects.select_related("object"), pk=pk)
    response = FileResponse(open_object(photo.object), content_type=photo.mime)
    response["Cache-Control"] = "private, no-store"
    return response


# --- compilation ----------------------------------------------------------------------------------


@compilation_staff
def project_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "outreach/project_list.html",
        {"projects": m.CompilationProject.objects.prefetch_related("team", "publications")},
    )


@compilation_staff
@require_http_methods(["GET", "POST"])
def project_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    project = get_object_or_404(m.CompilationProject, pk=pk) if pk else None
    return _edit(
        request,
        forms.ProjectForm,
        lambda data: services.save_project(request.user, data, project),
        title=_("修改编研项目") if project else _("新建编研项目"),
        cancel=reverse("outreach:project_list"),
        instance=project,
        success=lambda p: reverse("outreach:project_detail", args=[p.pk]),
    )


@compilation_staff
@require_http_methods(["GET", "POST"])
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_object_or_404(m.CompilationProject, pk=pk)
    source_form = forms.SourceForm(request.POST if "add_source" in request.POST else None)
    publication_form = forms.PublicationForm(
        request.POST if "add_publication" in request.POST else None,
        request.FILES if "add_publication" in request.POST else None,
    )
    if request.method == "POST":
        try:
            if "add_source" in request.POST and source_form.is_valid():
                item = services.find_item(request.user, source_form.cleaned_data["item"])
                services.add_source(request.user, project, item, source_form.cleaned_data["note"])
                return redirect("outreach:project_detail", pk=pk)
            if "add_publication" in request.POST and publication_form.is_valid():
                data = dict(publication_form.cleaned_data)
                upload = data.pop("upload", None)
                services.save_publication(request.user, {**data, "project": project}, upload)
                return redirect("outreach:project_detail", pk=pk)
        except ValidationError as exc:
            forms.add_errors(source_form if "add_source" in request.POST else publication_form, exc)
    return render(
        request,
        "outreach/project_detail.html",
        {
            "project": project,
            "sources": project.sources.select_related("item"),
            "publications": project.publications.all(),
            "source_form": source_form,
            "publication_form": publication_form,
        },
        status=400 if request.method == "POST" else 200,
    )


@compilation_staff
def publication_file(request: HttpRequest, pk: int) -> HttpResponse:
    publication = get_object_or_404(m.Publication, pk=pk, file__isnull=False)
    return _stored_download(request, publication.file, publication.filename, publication)


# --- oral history ---------------------------------------------------------------------------------


@oral_staff
def oral_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "outreach/oral_list.html",
        {"projects": m.OralHistoryProject.objects.select_related("fonds", "series")},
    )


@oral_staff
@require_http_methods(["GET", "POST"])
def oral_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    project = get_object_or_404(m.OralHistoryProject, pk=pk) if pk else None
    return _edit(
        request,
        forms.OralProjectForm,
        lambda data: services.save_oh_project(request.user, data, project),
        title=_("修改口述项目") if project else _("新建口述项目"),
        cancel=reverse("outreach:oral_list"),
        instance=project,
        success=lambda p: reverse("outreach:oral_detail", args=[p.pk]),
    )


@oral_staff
def oral_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_object_or_404(m.OralHistoryProject, pk=pk)
    return render(
        request,
        "outreach/oral_detail.html",
        {
            "project": project,
            "interviewees": project.interviewees.all(),
            "interviews": project.interviews.select_related("interviewee", "item"),
        },
    )


@oral_staff
@require_http_methods(["GET", "POST"])
def interviewee_edit(request: HttpRequest, project_pk: int, pk: int | None = None):
    project = get_object_or_404(m.OralHistoryProject, pk=project_pk)
    person = get_object_or_404(m.Interviewee, pk=pk, project=project) if pk else None
    return _edit(
        request,
        forms.IntervieweeForm,
        lambda data: services.save_interviewee(request.user, {**data, "project": project}, person),
        title=_("修改受访人") if person else _("新建受访人"),
        cancel=reverse("outreach:oral_detail", args=[project.pk]),
        instance=person,
        success=lambda p: reverse("outreach:oral_detail", args=[project.pk]),
    )


@oral_staff
@require_http_methods(["GET", "POST"])
def interview_edit(request: HttpRequest, project_pk: int, pk: int | None = None):
    project = get_object_or_404(m.OralHistoryProject, pk=project_pk)
    interview = get_object_or_404(m.Interview, pk=pk, project=project) if pk else None

    def save(data: dict):
        data = dict(data)
        consent = data.pop("consent_file", None)
        return services.save_interview(
            request.user, {**data, "project": project}, consent, interview
        )

    return _edit(
        request,
        forms.InterviewForm,
        save,
        title=_("修改访谈") if interview else _("新建访谈"),
        cancel=reverse("outreach:oral_detail", args=[project.pk]),
        instance=interview,
        success=lambda i: reverse("outreach:interview_detail", args=[i.pk]),
        form_kwargs={"project": project},
        files=True,
    )


@oral_staff
@require_http_methods(["GET", "POST"])
def interview_detail(request: HttpRequest, pk: int) -> HttpResponse:
    interview = get_object_or_404(
        m.Interview.objects.select_related("project", "interviewee", "item"), pk=pk
    )
    action = request.POST.get("action", "")
    media_form = forms.MediaForm(
        request.POST if action == "media" else None, request.FILES if action == "media" else None
    )
    transcript_form = forms.TranscriptForm(
        request.POST if action == "transcript" else None,
        request.FILES if action == "transcript" else None,
    )
    item_form = forms.ItemForm(request.POST if action == "item" else None)
    if request.method == "POST":
        form = {"media": media_form, "transcript": transcript_form, "item": item_form}.get(action)
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                if action == "media":
                    services.add_media(request.user, interview, form.cleaned_data["file"])
                    messages.success(request, _("音视频已保存。"))
                elif action == "transcript":
                    n = services.import_transcript(
                        request.user, interview, form.cleaned_data["text"], form.cleaned_data["fmt"]
                    )
                    messages.success(request, _("已导入 %(n)d 段转写稿。") % {"n": n})
                else:
                    item = services.create_item(
                        request.user, interview, retention=form.cleaned_data["retention"]
                    )
                    messages.success(
                        request, _("已生成口述档案 %(r)s。") % {"r": item.reference_code}
                    )
            except ValidationError as exc:
                forms.add_errors(form, exc)
            else:
                return redirect("outreach:interview_detail", pk=pk)
    return render(
        request,
        "outreach/interview_detail.html",
        {
            "interview": interview,
            "embargoed": services.embargoed(interview),
            "media": interview.media.all(),
            "segments": interview.segments.all()[:500],
            "segment_count": interview.segments.count(),
            "media_form": media_form,
            "transcript_form": transcript_form,
            "item_form": item_form,
        },
        status=400 if request.method == "POST" else 200,
    )


@oral_staff
def interview_vtt(request: HttpRequest, pk: int) -> HttpResponse:
    interview = get_object_or_404(m.Interview, pk=pk)
    record(AuditAction.EXPORT, actor=request.user, obj=interview, detail={"format": "webvtt"})
    response = HttpResponse(
        services.export_webvtt(interview), content_type="text/vtt; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="interview-{interview.pk}.vtt"'
    return response


@oral_staff
def interview_file(request: HttpRequest, pk: int, kind: str, file_pk: int = 0) -> HttpResponse:
    interview = get_object_or_404(m.Interview, pk=pk)
    if kind == "consent" and interview.consent_id:
        return _stored_download(request, interview.consent, interview.consent_filename, interview)
    if kind == "media":
        recording = get_object_or_404(m.InterviewMedia, pk=file_pk, interview=interview)
        return _stored_download(request, recording.object, recording.filename, interview)
    raise Http404
