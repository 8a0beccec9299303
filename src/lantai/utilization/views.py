"""Staff screens of use requests 利用申请 at /use/: the queue, a request's page with its
actions, walk-in registration, downloads.

Views are thin over ``utilization.services``, which checks every permission; only holders of
``utilization.handle_request`` reach these screens.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lantai.core.permissions import require
from lantai.utilization import forms, services
from lantai.utilization.models import (
    OPEN_STATUSES,
    Attachment,
    Certificate,
    ECopy,
    Holiday,
    Purpose,
    RequestedItem,
    RequestStatus,
    UseRequest,
)
from lantai.utilization.workdays import due_days


def _messages_of(exc: ValidationError) -> str:
    return "；".join(exc.messages)


def _handler(view):
    """Signed in and handling use requests (archivists)."""

    def wrapped(request: HttpRequest, *args, **kwargs):
        require(request.user, services.HANDLE)
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return login_required(wrapped)


def _request_or_404(request: HttpRequest, pk) -> UseRequest:
    try:
        return services.get_request(request.user, pk)
    except UseRequest.DoesNotExist:
        raise Http404(_("申请不存在或无权查看。")) from None


def uploads_of(files) -> list[services.Upload]:
    return [services.Upload(f.name, f, getattr(f, "content_type", "")) for f in files]


def stream(fh, filename: str, mime: str, *, inline: bool = False) -> FileResponse:
    response = FileResponse(fh, as_attachment=not inline, filename=filename, content_type=mime)
    response["Cache-Control"] = "private, no-store"
    return response


@_handler
def queue(request: HttpRequest) -> HttpResponse:
    """利用申请 queue: open ones first by due date; overdue rows stand out."""
    requests = services.visible_requests(request.user)
    status = request.GET.get("status", "open")
    if status == "open":
        requests = requests.filter(status__in=OPEN_STATUSES)
    elif status in RequestStatus.values:
        requests = requests.filter(status=status)
    if request.GET.get("mine"):
        requests = requests.filter(assignee=request.user)
    today = timezone.localdate()
    if request.GET.get("overdue"):
        requests = requests.filter(status__in=OPEN_STATUSES, due_date__lt=today)
    text = request.GET.get("q", "").strip()
    if text:
        requests = requests.filter(
            Q(number__icontains=text)
            | Q(applicant_name__icontains=text)
            | Q(items__reference_code__icontains=text)
        ).distinct()
    page = Paginator(requests.order_by("due_date", "created_at", "pk"), 50).get_page(
        request.GET.get("page")
    )
    for req in page.object_list:
        req.overdue = services.is_overdue(req, today)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "utilization/queue.html",
        {
            "page": page,
            "statuses": RequestStatus.choices,
            "status": status,
            "mine": bool(request.GET.get("mine")),
            "overdue_only": bool(request.GET.get("overdue")),
            "q": text,
            "query": query.urlencode(),
            "overdue_count": UseRequest.objects.filter(
                status__in=OPEN_STATUSES, due_date__lt=today
            ).count(),
        },
    )


@_handler
@require_http_methods(["GET", "POST"])
def walk_in(request: HttpRequest) -> HttpResponse:
    """到馆登记: record an applicant who came to the reading room."""
    form = forms.WalkInForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            req = services.submit_request(
                request.user,
                purpose=data["purpose"],
                delivery_wanted=data["delivery"],
                description=data["description"],
                reference_codes=data["reference_codes"],
                uploads=uploads_of(data["attachments"]),
                walk_in={
                    "name": data["applicant_name"],
                    "id_number": data["applicant_id_number"],
                    "phone": data["applicant_phone"],
                },
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("已登记利用申请 %(n)s。") % {"n": req.number})
            return redirect("utilization:detail", req.pk)
    return render(request, "utilization/walk_in.html", {"form": form})


def _add_errors(form, exc: ValidationError) -> None:
    mapping = getattr(exc, "message_dict", None) or {"__all__": exc.messages}
    for field, errors in mapping.items():
        target = field if field in form.fields else None
        for error in errors:
            form.add_error(target, error)


@_handler
def detail(request: HttpRequest, pk) -> HttpResponse:
    req = _request_or_404(request, pk)
    items = list(req.items.select_related("item", "approved_by"))
    for entry in items:
        entry.providable = services.is_providable(entry)
        entry.title = entry.item.title if entry.item else ""
    return render(
        request,
        "utilization/detail.html",
        {
            "req": req,
            "items": items,
            "actions": [(a, services.action_label(a)) for a in services.allowed_actions(req)],
            "needs_reason": services.NEEDS_REASON,
            "events": [
                (e, services.action_label(e.action)) for e in req.events.select_related("actor")
            ],
            "overdue": services.is_overdue(req),
            "assign_form": forms.AssignForm(initial={"assignee": req.assignee_id}),
            "certificate_form": forms.CertificateForm(requested_items=items),
            "can_certify": req.status in (RequestStatus.APPROVED, RequestStatus.PROVIDED),
            "can_add": req.status
            in (RequestStatus.SUBMITTED, RequestStatus.ACCEPTED, RequestStatus.APPROVED),
            "can_approve_items": req.status in (RequestStatus.ACCEPTED, RequestStatus.APPROVED),
        },
    )


@_handler
@require_POST
def act(request: HttpRequest, pk) -> HttpResponse:
    """One state-machine step (受理/审核/提供/办结/退回/不予提供)."""
    req = _request_or_404(request, pk)
    action = request.POST.get("action", "")
    form = forms.NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.transition(request.user, req, action, note=note)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("已%(action)s。") % {"action": services.action_label(action)})
    return redirect("utilization:detail", req.pk)


@_handler
@require_POST
def assign(request: HttpRequest, pk) -> HttpResponse:
    req = _request_or_404(request, pk)
    form = forms.AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择经办人。"))
        return redirect("utilization:detail", req.pk)
    try:
        services.assign(request.user, req, form.cleaned_data["assignee"])
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("已指派经办人。"))
    return redirect("utilization:detail", req.pk)


@_handler
@require_POST
def add_item(request: HttpRequest, pk) -> HttpResponse:
    req = _request_or_404(request, pk)
    form = forms.AddItemForm(request.POST)
    code = form.cleaned_data["reference_code"] if form.is_valid() else ""
    try:
        services.add_item(request.user, req, code)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("已补充档号 %(code)s。") % {"code": code})
    return redirect("utilization:detail", req.pk)


@_handler
@require_POST
def approve_item(request: HttpRequest, pk, item_pk) -> HttpResponse:
    req = _request_or_404(request, pk)
    requested = get_object_or_404(RequestedItem, pk=item_pk, request=req)
    form = forms.ApproveItemForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.approve_item(request.user, requested, reason)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已特批提供 %(code)s。") % {"code": requested.reference_code})
    return redirect("utilization:detail", req.pk)


@_handler
@require_POST
def certificate(request: HttpRequest, pk) -> HttpResponse:
    """出具档案证明 for one listed record."""
    req = _request_or_404(request, pk)
    items = list(req.items.select_related("item"))
    form = forms.CertificateForm(request.POST, requested_items=items)
    if not form.is_valid():
        messages.error(request, _("请选择档案并填写证明内容。"))
        return redirect("utilization:detail", req.pk)
    requested = next(r for r in items if r.pk == form.cleaned_data["requested_item"])
    try:
        services.issue_certificate(
            request.user,
            requested,
            form.cleaned_data["content"],
            base_url=request.build_absolute_uri("/"),
        )
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("已出具档案证明。"))
    return redirect("utilization:detail", req.pk)


@_handler
def attachment_download(request: HttpRequest, pk, file_pk) -> FileResponse:
    req = _request_or_404(request, pk)
    attachment = get_object_or_404(Attachment, pk=file_pk, request=req)
    fh = services.open_attachment(request.user, attachment)
    # Uploaded by an applicant: always a download, never rendered on our origin.
    return stream(fh, attachment.filename, attachment.mime)


@_handler
def certificate_download(request: HttpRequest, pk, file_pk) -> FileResponse:
    req = _request_or_404(request, pk)
    cert = get_object_or_404(Certificate, pk=file_pk, request=req)
    fh = services.open_certificate(request.user, cert)
    return stream(fh, f"{req.number}-{cert.reference_code}.pdf", "application/pdf")


@_handler
def ecopy_download(request: HttpRequest, pk, file_pk) -> FileResponse:
    req = _request_or_404(request, pk)
    ecopy = get_object_or_404(ECopy, pk=file_pk, request=req)
    fh = services.open_ecopy(request.user, ecopy)
    return stream(fh, ecopy.filename, ecopy.mime)


@_handler
@require_POST
def certificate_revoke(request: HttpRequest, pk, file_pk) -> HttpResponse:
    """作废档案证明 (with a reason): its code then fails verification."""
    req = _request_or_404(request, pk)
    cert = get_object_or_404(Certificate, pk=file_pk, request=req)
    try:
        services.revoke_certificate(request.user, cert, request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("档案证明已作废。"))
    return redirect("utilization:detail", req.pk)


# --- configuration: purposes and holidays ------------------------------------------------------


@_handler
def config(request: HttpRequest) -> HttpResponse:
    """利用目的 and the holiday calendar 节假日 that due dates count with."""
    today = timezone.localdate()
    return render(
        request,
        "utilization/config.html",
        {
            "purposes": Purpose.objects.all(),
            "holidays": Holiday.objects.filter(date__gte=today.replace(month=1, day=1)),
            "purpose_form": forms.PurposeForm(),
            "holiday_form": forms.HolidayForm(),
            "due_days": due_days(),
        },
    )


@_handler
@require_POST
def purpose_save(request: HttpRequest, purpose_pk: int | None = None) -> HttpResponse:
    purpose = get_object_or_404(Purpose, pk=purpose_pk) if purpose_pk else None
    form = forms.PurposeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
        return redirect("utilization:config")
    data = form.cleaned_data
    try:
        services.save_purpose(
            request.user,
            name=data["name"],
            code=data["code"],
            active=data["active"],
            sort_order=data["sort_order"] or 100,
            purpose=purpose,
        )
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("已保存利用目的。"))
    return redirect("utilization:config")


@_handler
@require_POST
def holiday_save(request: HttpRequest) -> HttpResponse:
    form = forms.HolidayForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
        return redirect("utilization:config")
    data = form.cleaned_data
    services.save_holiday(
        request.user, day=data["date"], name=data["name"], workday=data["workday"]
    )
    messages.success(request, _("已保存节假日。"))
    return redirect("utilization:config")


@_handler
@require_POST
def holiday_delete(request: HttpRequest, holiday_pk: int) -> HttpResponse:
    services.delete_holiday(request.user, get_object_or_404(Holiday, pk=holiday_pk))
    messages.success(request, _("已删除。"))
    return redirect("utilization:config")
