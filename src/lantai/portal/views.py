"""Public portal 公众服务门户 views: home, 实名注册, sign in and out, 个人中心, search, browse,
item pages and watermarked files. Thin over ``portal.services`` and ``portal.public``."""

from __future__ import annotations

import logging
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lantai.accounts.services import change_own_password
from lantai.accounts.views import LoginView
from lantai.holdings.models import Item
from lantai.portal import public, ratelimit, services
from lantai.portal.forms import PasswordChangeForm, PortalLoginForm, RegisterForm, SearchForm
from lantai.portal.watermark import WatermarkError
from lantai.storage.models import Component

logger = logging.getLogger(__name__)


# --- helpers ---------------------------------------------------------------------------------


def _too_many(request: HttpRequest, scope: str) -> HttpResponse:
    response = render(
        request,
        "portal/ratelimited.html",
        {"retry_after": ratelimit.retry_after(scope)},
        status=429,
    )
    response["Retry-After"] = str(ratelimit.retry_after(scope))
    return response


def _show_errors(form: Form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _portal_login(request: HttpRequest) -> HttpResponse:
    return redirect_to_login(request.get_full_path(), reverse("portal:login"))


def _requests_of(user) -> list[dict]:
    """The user's requests from the utilization and livelihood apps, when they are installed:
    [{"title", "items"}] with each app's own objects (shown by their ``__str__`` and, when
    present, ``get_absolute_url``/``status``)."""
    sections = []
    for module, title in (
        ("lantai.utilization.services", _("档案利用申请")),
        ("lantai.livelihood.services", _("民生档案查询")),
    ):
        try:
            import importlib

            requests_of = importlib.import_module(module).requests_of
        except (ImportError, AttributeError):
            continue
        try:
            rows = list(requests_of(user))
        except Exception:  # another app's bug must not take the personal page down
            logger.exception("%s.requests_of failed", module)
            rows = []
        sections.append({"title": title, "items": rows})
    return sections


# --- pages -----------------------------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/home.html",
        {"counts": public.collection_counts(), "form": SearchForm()},
    )


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """实名注册."""
    if request.user.is_authenticated:
        return redirect("portal:me")
    form = RegisterForm(request.POST or None)
    if request.method == "POST":
        if not ratelimit.hit(request, "portal-register"):
            return _too_many(request, "portal-register")
        if not form.is_valid():
            # Show the service's findings too (check digit, taken number…), not only the form's.
            found = services.check_registration(form.data.dict())
            for name, errors in found.items():
                if name in form.fields and name not in form.errors:
                    form.add_error(name, errors)
        else:
            try:
                user = services.register_citizen(form.cleaned_data)
            except ValidationError as exc:
                _show_errors(form, exc)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("注册成功，欢迎使用。"))
                return redirect("portal:me")
    return render(request, "portal/register.html", {"form": form})


class PortalLoginView(LoginView):
    """Sign in on the portal: the accounts login (axes lockout, audit) in the portal's look."""

    template_name = "portal/login.html"
    authentication_form = PortalLoginForm
    next_page = "portal:me"

    def post(self, request, *args, **kwargs):
        if not ratelimit.hit(request, "portal-login"):
            return _too_many(request, "portal-login")
        return super().post(request, *args, **kwargs)


class PortalLogoutView(auth_views.LogoutView):
    next_page = "portal:home"


def me(request: HttpRequest) -> HttpResponse:
    """个人中心: profile with the masked ID number and the user's requests."""
    if not request.user.is_authenticated:
        return _portal_login(request)
    return render(
        request,
        "portal/me.html",
        {
            "profile": services.citizen_profile(request.user),
            "sections": _requests_of(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return _portal_login(request)
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST":
        if not ratelimit.hit(request, "portal-password"):
            return _too_many(request, "portal-password")
        if form.is_valid():
            data = form.cleaned_data
            try:
                change_own_password(request.user, data["old_password"], data["password"])
            except ValidationError as exc:
                _show_errors(form, exc)
            else:
                update_session_auth_hash(request, request.user)
                messages.success(request, _("密码已修改。"))
                return redirect("portal:me")
    return render(request, "portal/password.html", {"form": form})


def search(request: HttpRequest) -> HttpResponse:
    """开放档案检索: full text over open items, with facets 全宗/门类/年度/保管期限."""
    form = SearchForm(request.GET or None)
    context: dict = {"form": form, "results": None}
    if request.GET and form.is_valid():
        data = form.cleaned_data
        query = (data.get("q") or "").strip()
        filters = {k: data[k] for k in public.PUBLIC_FACETS if data.get(k)}
        if query or filters:
            if not ratelimit.hit(request, "portal-search"):
                return _too_many(request, "portal-search")
            page = data.get("page") or 1
            try:
                results = public.search(
                    request.user,
                    query,
                    filters=filters,
                    sort=data.get("sort") or "relevance",
                    page=page,
                )
            except public.QueryError as exc:
                form.add_error("q", str(exc))
                return render(request, "portal/search.html", context)
            per_page = getattr(results, "per_page", public.PER_PAGE) or public.PER_PAGE
            base = request.GET.copy()
            base.pop("page", None)
            chips = []
            for name in public.PUBLIC_FACETS:
                if name in filters:
                    without = base.copy()
                    without.pop(name, None)
                    label = next(
                        (
                            lbl
                            for value, lbl, _n in results.facets.get(name, [])
                            if str(value) == str(filters[name])
                        ),
                        filters[name],
                    )
                    chips.append({"name": name, "label": label, "query": without.urlencode()})
            context.update(
                results=results,
                query=query,
                filters=filters,
                chips=chips,
                page=page,
                has_prev=page > 1,
                has_next=page * per_page < min(results.total, 10_000),
                base_query=base.urlencode(),
            )
    return render(request, "portal/search.html", context)


def browse(request: HttpRequest, fonds_id: int | None = None, category_id: int | None = None):
    """全宗 → 门类 → 年度 browse of open holdings."""
    level = public.browse_level(request.user, fonds_id, category_id)
    if level is None:
        raise Http404
    return render(request, "portal/browse.html", level)


def browse_items(request: HttpRequest, fonds_id: int, category_id: int, year: int):
    page = public.browse_items(request.user, fonds_id, category_id, year, request.GET.get("page"))
    if not page.paginator.count:
        raise Http404
    fonds, category = public.fonds_and_category(fonds_id, category_id)
    return render(
        request,
        "portal/browse_items.html",
        {"page": page, "fonds": fonds, "category": category, "year": year},
    )


def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Catalog of an open item and, for a signed-in viewer, its watermarked files."""
    try:
        item = public.get_open_item(request.user, pk)
    except Item.DoesNotExist:
        raise Http404 from None
    files = [{"component": c, "kind": public.kind_of(c)} for c in public.viewable_components(item)]
    return render(
        request,
        "portal/item.html",
        {"item": item, "fields": public.item_fields(item), "files": files},
    )


def item_file(request: HttpRequest, pk: int, component_id: int) -> HttpResponse:
    """A file of an open item, watermarked with the viewer and the time (never raw)."""
    if not request.user.is_authenticated:
        # Tell nothing about the item: an anonymous visitor is sent to sign in either way.
        return _portal_login(request)
    if not ratelimit.hit(request, "portal-file"):
        return _too_many(request, "portal-file")
    try:
        rendered = public.render_component(request.user, pk, component_id)
    except (Item.DoesNotExist, Component.DoesNotExist):
        raise Http404 from None
    except public.FileTooLarge:
        messages.error(request, _("该文件过大，无法在线查看，请申请电子副本或到馆查阅。"))
        return redirect("portal:item", pk=pk)
    except (WatermarkError, OSError):
        logger.exception("portal: cannot show component %s of item %s", component_id, pk)
        messages.error(request, _("该文件暂时无法查看，请稍后再试或联系档案馆。"))
        return redirect("portal:item", pk=pk)
    except PermissionDenied:
        return _portal_login(request)
    response = HttpResponse(rendered.content, content_type=rendered.mime)
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(rendered.filename)}"
    # The mark names this viewer: no shared cache may hand it to anyone else.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
