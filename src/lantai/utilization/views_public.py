"""Public (portal) screens of use requests at /portal/requests/: a citizen's own requests,
applying, downloads of what was provided, and the certificate verification page 证明核验.

A citizen sees only their own requests; anything else is a 404 (its existence is not revealed).
The verification page needs no account and is rate-limited per client address.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lantai.core.middleware import client_ip
from lantai.utilization import codes, forms, ratelimit, services
from lantai.utilization.models import Attachment, Certificate, ECopy, RequestStatus, UseRequest
from lantai.utilization.views import _add_errors, stream, uploads_of

VERIFY_PDF_MAX = 20 * 1024 * 1024
#: Citizens sign in on the portal's own page.
LOGIN_URL = "portal:login"


def _own_or_404(request: HttpRequest, pk) -> UseRequest:
    try:
        key = int(pk)
        return services.requests_of(request.user).get(pk=key)
    except (TypeError, ValueError, UseRequest.DoesNotExist):
        raise Http404(_("申请不存在。")) from None


@login_required(login_url=LOGIN_URL)
def my_requests(request: HttpRequest) -> HttpResponse:
    """我的利用申请."""
    return render(
        request,
        "utilization/public/list.html",
        {"requests": services.requests_of(request.user).order_by("-created_at", "-pk")[:200]},
    )


@login_required(login_url=LOGIN_URL)
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest) -> HttpResponse:
    """提交利用申请; ``?ref=<档号>`` (the portal item page's 申请利用 button) pre-fills it."""
    initial = {}
    refs = [r.strip() for r in request.GET.getlist("ref") if r.strip()]
    if refs:
        initial["reference_codes"] = "\n".join(refs[: services.MAX_CODES])
    form = forms.ApplyForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and not ratelimit.allow("apply", f"user-{request.user.pk}"):
        form.add_error(None, _("提交过于频繁，请稍后再试。"))
        return render(request, "utilization/public/apply.html", {"form": form}, status=429)
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
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("申请已提交，编号 %(n)s。我们将在 %(due)s 前受理。")
                % {"n": req.number, "due": f"{req.due_date:%Y-%m-%d}"},
            )
            return redirect("utilization_public:detail", req.pk)
    return render(request, "utilization/public/apply.html", {"form": form})


@login_required(login_url=LOGIN_URL)
def detail(request: HttpRequest, pk) -> HttpResponse:
    req = _own_or_404(request, pk)
    items = list(req.items.all())
    for entry in items:
        entry.title = services.item_title_for(request.user, entry)
    provided = req.status in (RequestStatus.PROVIDED, RequestStatus.CLOSED)
    return render(
        request,
        "utilization/public/detail.html",
        {
            "req": req,
            "items": items,
            "ecopies": list(req.ecopies.all()) if provided else [],
            "ecopies_open": services.can_download_ecopies(req),
            "certificates": list(req.certificates.filter(revoked=False)) if provided else [],
            "attachments": list(req.attachments.all()),
            "events": [
                (e, services.action_label(e.action))
                for e in req.events.all()
                if e.action not in ("assign", "approve_item", "add_item")
            ],
        },
    )


@login_required(login_url=LOGIN_URL)
def ecopy_download(request: HttpRequest, pk, file_pk) -> FileResponse:
    req = _own_or_404(request, pk)
    ecopy = get_object_or_404(ECopy, pk=file_pk, request=req)
    try:
        fh = services.open_ecopy(request.user, ecopy)
    except PermissionDenied:
        raise Http404(_("电子副本已过下载期限或尚未提供。")) from None
    return stream(fh, ecopy.filename, ecopy.mime)


@login_required(login_url=LOGIN_URL)
def certificate_download(request: HttpRequest, pk, file_pk) -> FileResponse:
    req = _own_or_404(request, pk)
    cert = get_object_or_404(Certificate, pk=file_pk, request=req)
    try:
        fh = services.open_certificate(request.user, cert)
    except PermissionDenied:
        raise Http404(_("档案证明尚未提供。")) from None
    return stream(fh, f"{req.number}-{cert.reference_code}.pdf", "application/pdf")


@login_required(login_url=LOGIN_URL)
def attachment_download(request: HttpRequest, pk, file_pk) -> FileResponse:
    req = _own_or_404(request, pk)
    attachment = get_object_or_404(Attachment, pk=file_pk, request=req)
    fh = services.open_attachment(request.user, attachment)
    return stream(fh, attachment.filename, attachment.mime)


# --- verification ------------------------------------------------------------------------------


def _verify_page(request: HttpRequest, form, code_text: str = "", status: int = 200):
    context = {"form": form, "checked": False}
    if code_text:
        if not ratelimit.allow("verify", client_ip(request) or "-"):
            context["error"] = _("查询过于频繁，请稍后再试。")
            return render(request, "utilization/public/verify.html", context, status=429)
        cert = services.find_certificate(code_text)
        context["checked"] = True
        context["code"] = codes.display(codes.normalise(code_text))[:40]
        if cert is None:
            status = 404
        else:
            context["cert"] = cert
            context["requester"] = services.mask_name(cert.requester_name)
            upload = request.FILES.get("pdf") if request.method == "POST" else None
            if upload is not None:
                if upload.size > VERIFY_PDF_MAX:
                    context["pdf_error"] = _("文件过大。")
                else:
                    context["pdf_checked"] = True
                    context["pdf_matches"] = services.pdf_matches(cert, upload.read())
    return render(request, "utilization/public/verify.html", context, status=status)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """证明核验: enter the code printed on a certificate (and optionally upload the PDF)."""
    if request.method == "POST":
        form = forms.VerifyForm(request.POST, request.FILES)
        if form.is_valid():
            return _verify_page(request, form, form.cleaned_data["code"])
        return _verify_page(request, form, status=400)
    code = request.GET.get("code", "")
    form = forms.VerifyForm(initial={"code": code})
    return _verify_page(request, form, code)


def verify_code(request: HttpRequest, code: str) -> HttpResponse:
    """The QR code's target: the code is in the address."""
    form = forms.VerifyForm(initial={"code": code})
    return _verify_page(request, form, code)
