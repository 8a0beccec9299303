"""民生档案 portal pages 公众: find one's own records (本人查档), apply for a certificate,
follow one's cross-archive requests. Signed-in, real-name registered citizens only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lantai.livelihood import forms, services
from lantai.livelihood.models import CrossRequest, PartnerArchive

SESSION_KEY = "livelihood_lookup"
RATE_SCOPE = "livelihood"


def _login(request: HttpRequest) -> HttpResponse:
    return redirect_to_login(request.get_full_path(), reverse("portal:login"))


def _too_many(request: HttpRequest) -> HttpResponse:
    from lantai.search import ratelimit

    response = render(
        request,
        "portal/ratelimited.html",
        {"retry_after": ratelimit.retry_after(RATE_SCOPE)},
        status=429,
    )
    response["Retry-After"] = str(ratelimit.retry_after(RATE_SCOPE))
    return response


def _allowed(request: HttpRequest) -> bool:
    try:
        from lantai.search import ratelimit
    except ImportError:  # pragma: no cover - the search app ships with Lantai
        return True
    return ratelimit.check(request, RATE_SCOPE)


def _show_errors(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _profile(request: HttpRequest):
    return services._portal().citizen_profile(request.user)


@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    """本人查档: name + ID number, must be the signed-in citizen's own."""
    if not request.user.is_authenticated:
        return _login(request)
    profile = _profile(request)
    form = forms.LookupForm(request.POST or None)
    result = None
    if request.method == "POST" and profile is not None:
        if not _allowed(request):
            return _too_many(request)
        if form.is_valid():
            try:
                result = services.lookup_own(
                    request.user, form.cleaned_data["name"], form.cleaned_data["id_number"]
                )
            except ValidationError as exc:
                _show_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                request.session[SESSION_KEY] = {
                    "items": result.item_ids,
                    "possible": [c for c, _n in result.possible],
                }
    return render(
        request,
        "livelihood/public/lookup.html",
        {"form": form, "profile": profile, "result": result},
    )


def _holders() -> list[tuple[str, str]]:
    rows = [(services.archive_code(), services.archive_name())]
    rows += [(p.code, p.name) for p in PartnerArchive.objects.filter(active=True)]
    return rows


@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest) -> HttpResponse:
    """申请出证 (here or at a partner archive)."""
    if not request.user.is_authenticated:
        return _login(request)
    if _profile(request) is None:
        messages.error(request, _("请先完成实名注册后再申请。"))
        return redirect("livelihood_public:lookup")
    found = request.session.get(SESSION_KEY) or {}
    item_ids = [int(i) for i in found.get("items", []) if str(i).isdigit()]
    chosen = [int(i) for i in request.POST.getlist("items") if i.isdigit()] or item_ids
    chosen = [i for i in chosen if i in item_ids]
    initial = {}
    if found.get("possible") and not item_ids:
        initial["records_sought"] = _("申请核实：%(c)s（疑似本人的档案）") % {
            "c": "、".join(found["possible"])
        }
    form = forms.ApplyForm(
        request.POST if request.method == "POST" and "records_sought" in request.POST else None,
        holders=_holders(),
        initial=initial,
    )
    if form.is_bound and form.is_valid():
        if not _allowed(request):
            return _too_many(request)
        try:
            req = services.apply(request.user, form.cleaned_data, item_ids=chosen)
        except ValidationError as exc:
            _show_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("申请已提交，编号 %(n)s。") % {"n": req.number})
            return redirect("livelihood_public:request", pk=req.pk)
    return render(request, "livelihood/public/apply.html", {"form": form, "chosen": chosen})


def my_requests(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return _login(request)
    rows = services.requests_of(request.user)
    return render(request, "livelihood/public/requests.html", {"rows": rows})


def _own(request: HttpRequest, pk: int) -> CrossRequest:
    try:
        return services.requests_of(request.user).get(pk=pk)
    except CrossRequest.DoesNotExist:
        raise Http404(_("申请不存在。")) from None


def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return _login(request)
    req = _own(request, pk)
    return render(
        request,
        "livelihood/public/request.html",
        {"req": req, "events": req.events.all()},
    )


def certificate(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return _login(request)
    req = _own(request, pk)
    try:
        stream = services.open_certificate(request.user, req)
    except (CrossRequest.DoesNotExist, PermissionDenied):
        raise Http404(_("暂无可下载的档案证明。")) from None
    return FileResponse(stream, content_type="application/pdf", filename=f"{req.number}.pdf")
