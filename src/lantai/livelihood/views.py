"""民生档案 staff screens 馆员: person search for walk-in citizens, cross-archive request
queues (incoming 协办 / outgoing 受理) with deadlines, request steps, partner archives.

Thin over ``livelihood.services``, which checks every permission. A request the user may not
see is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lantai.core.permissions import require
from lantai.livelihood import forms, services
from lantai.livelihood.models import CrossRequest, CrossStatus, Direction, PartnerArchive


def _messages_of(exc: ValidationError) -> str:
    return "；".join(exc.messages)


def _show_errors(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _holders() -> list[tuple[str, str]]:
    rows = [(services.archive_code(), services.archive_name())]
    rows += [(p.code, p.name) for p in PartnerArchive.objects.filter(active=True)]
    return rows


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """人员查询 (walk-in citizens) and the queue summary."""
    if not request.user.has_perm(services.SEARCH) and request.user.has_perm(services.PARTNERS):
        return redirect("livelihood:partners")
    require(request.user, services.SEARCH)
    form = forms.PersonSearchForm(request.GET or None)
    rows = None
    if request.GET and form.is_valid():
        try:
            rows = services.search_persons(
                request.user,
                name=form.cleaned_data["name"] or "",
                id_number=form.cleaned_data["id_number"] or "",
                birth_year=form.cleaned_data["birth_year"],
            )
        except ValidationError as exc:
            _show_errors(form, exc)
    open_counts = {}
    if request.user.has_perm(services.MANAGE):
        for which in ("incoming", "outgoing"):
            qs = services.queue(request.user, which).filter(status__in=services.OPEN_STATES)
            overdue = qs.filter(due_on__lt=timezone.localdate()).count()
            open_counts[which] = (qs.count(), overdue)
    return render(
        request, "livelihood/home.html", {"form": form, "rows": rows, "open_counts": open_counts}
    )


@login_required
def queue(request: HttpRequest, which: str) -> HttpResponse:
    """Incoming (本馆协办) or outgoing (本馆受理) requests, open first, overdue highlighted."""
    if which not in ("incoming", "outgoing"):
        raise Http404
    qs = services.queue(request.user, which)
    state = request.GET.get("status", "open")
    if state == "open":
        qs = qs.filter(status__in=services.OPEN_STATES)
    elif state in CrossStatus.values:
        qs = qs.filter(status=state)
    today = timezone.localdate()
    rows = [(req, services.is_overdue(req, today)) for req in qs[:500]]
    return render(
        request,
        "livelihood/queue.html",
        {"which": which, "rows": rows, "state": state, "statuses": CrossStatus.choices},
    )


@login_required
@require_http_methods(["GET", "POST"])
def walk_in(request: HttpRequest) -> HttpResponse:
    """到馆登记: a walk-in citizen's application, recorded by staff."""
    require(request.user, services.MANAGE)
    form = forms.WalkInForm(request.POST or None, holders=_holders())
    if request.method == "POST" and form.is_valid():
        try:
            req = services.apply(request.user, form.cleaned_data, walk_in=True)
        except ValidationError as exc:
            _show_errors(form, exc)
        else:
            messages.success(request, _("已登记申请 %(n)s。") % {"n": req.number})
            return redirect("livelihood:request", pk=req.pk)
    return render(request, "livelihood/walk_in.html", {"form": form})


def _request_or_404(request: HttpRequest, pk: int) -> CrossRequest:
    require(request.user, services.MANAGE)
    try:
        return services.get_request(request.user, pk)
    except CrossRequest.DoesNotExist:
        raise Http404(_("申请不存在。")) from None


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = _request_or_404(request, pk)
    return render(
        request,
        "livelihood/request_detail.html",
        {
            "req": req,
            "overdue": services.is_overdue(req),
            "events": req.events.all(),
            "items": req.items.select_related("category", "fonds").order_by("year", "pk"),
            "Direction": Direction,
            "Status": CrossStatus,
        },
    )


@login_required
@require_POST
def request_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """One step: accept, return, forward (also retry), answer, send_answer (retry), conclude."""
    req = _request_or_404(request, pk)
    note = request.POST.get("note", "")
    try:
        if step == "accept":
            req = services.accept(request.user, req, note)
            if req.direction == Direction.OUTGOING:
                req = services.forward(request.user, req)
        elif step == "return":
            services.return_request(request.user, req, note)
        elif step == "forward":
            services.forward(request.user, req)
        elif step == "answer":
            found = request.POST.get("result") == "found"
            ids = [int(v) for v in request.POST.getlist("items") if v.isdigit()]
            req = services.answer(request.user, req, found=found, note=note, item_ids=ids)
            if req.answer_error:
                messages.error(request, req.answer_error)
        elif step == "send_answer":
            services.send_answer(request.user, req)
        elif step == "conclude":
            services.conclude(request.user, req, note)
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    except services.PartnerError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已办理。"))
    return redirect("livelihood:request", pk=pk)


@login_required
def certificate(request: HttpRequest, pk: int) -> HttpResponse:
    req = _request_or_404(request, pk)
    try:
        stream = services.open_certificate(request.user, req)
    except CrossRequest.DoesNotExist:
        raise Http404(_("暂无档案证明。")) from None
    return FileResponse(
        stream, content_type="application/pdf", filename=f"{req.number}.pdf", as_attachment=False
    )


@login_required
@require_http_methods(["GET", "POST"])
def partners(request: HttpRequest) -> HttpResponse:
    """协作馆 list and registration; a new partner's token is shown once."""
    require(request.user, services.PARTNERS)
    form = forms.PartnerForm(request.POST or None)
    token = ""
    if request.method == "POST" and form.is_valid():
        try:
            _partner, token = services.save_partner(request.user, form.cleaned_data)
        except ValidationError as exc:
            _show_errors(form, exc)
        else:
            form = forms.PartnerForm()
    return render(
        request,
        "livelihood/partners.html",
        {
            "form": form,
            "token": token,
            "partners": PartnerArchive.objects.all(),
            "own_code": services.archive_code(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def partner_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, services.PARTNERS)
    partner = get_object_or_404(PartnerArchive, pk=pk)
    token = ""
    if request.method == "POST" and request.POST.get("rotate"):
        token = services.rotate_inbound_token(request.user, partner)
        form = forms.PartnerForm(initial=_partner_initial(partner))
    else:
        form = forms.PartnerForm(request.POST or None, initial=_partner_initial(partner))
        if request.method == "POST" and form.is_valid():
            try:
                services.save_partner(request.user, form.cleaned_data, partner)
            except ValidationError as exc:
                _show_errors(form, exc)
            else:
                messages.success(request, _("已保存。"))
                return redirect("livelihood:partners")
    return render(
        request, "livelihood/partner_edit.html", {"form": form, "partner": partner, "token": token}
    )


def _partner_initial(partner: PartnerArchive) -> dict:
    return {
        "code": partner.code,
        "name": partner.name,
        "region": partner.region,
        "contact": partner.contact,
        "base_url": partner.base_url,
        "active": partner.active,
    }
