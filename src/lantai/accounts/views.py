"""Account views: sign in and out, user management, my account. Thin over accounts.services."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lantai.accounts import services
from lantai.accounts.forms import (
    LoginForm,
    OwnPasswordForm,
    PasswordResetForm,
    ProfileForm,
    RolesForm,
    UserCreateForm,
    UserFilterForm,
)
from lantai.accounts.models import User
from lantai.core.permissions import has, require


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["failure_limit"] = settings.AXES_FAILURE_LIMIT
        context["cooloff_minutes"] = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        return context


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link or an image cannot sign someone out."""


def _show_errors(form: Form, exc: ValidationError) -> None:
    """Put a service's field errors next to the form's fields; the rest above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _target(request: HttpRequest, pk: int) -> User:
    return get_object_or_404(services.list_users(request.user), pk=pk)


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    filters = UserFilterForm(request.GET or None)
    criteria: dict = {}
    if filters.is_valid():
        data = filters.cleaned_data
        criteria = {"q": data["q"].strip(), "role": data["role"]}
        if data["active"] in ("0", "1"):
            criteria["active"] = data["active"] == "1"
    users = services.list_users(request.user, **criteria)
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/user_list.html",
        {
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "can_manage": has(request.user, services.MANAGE),
        },
    )


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    require(request.user, services.MANAGE)
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.create_user(
                request.user,
                username=data["username"],
                password=data["password"],
                real_name=data["real_name"],
                unit=data["unit"],
                email=data["email"],
                phone=data["phone"],
            )
        except ValidationError as exc:
            _show_errors(form, exc)
        else:
            messages.success(request, _("已新建账户 %(name)s。") % {"name": user.username})
            return redirect("accounts:user_detail", pk=user.pk)
    return render(request, "accounts/user_form.html", {"form": form})


@login_required
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    return render(
        request,
        "accounts/user_detail.html",
        {
            "target": target,
            "can_manage": has(request.user, services.MANAGE),
            "can_assign": has(request.user, services.ASSIGN) and target.pk != request.user.pk,
            "is_self": target.pk == request.user.pk,
        },
    )


@login_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    services.check_can_manage(request.user, target)
    initial = {
        "real_name": target.real_name,
        "unit": target.unit,
        "phone": target.phone,
        "email": target.email,
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_profile(
                request.user,
                target,
                real_name=data["real_name"],
                email=data["email"],
                phone=data["phone"],
                unit=data["unit"],
            )
        except ValidationError as exc:
            _show_errors(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("accounts:user_detail", pk=target.pk)
    return render(request, "accounts/user_edit.html", {"form": form, "target": target})


@login_required
def user_roles(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, services.ASSIGN)
    target = _target(request, pk)
    if target.pk == request.user.pk:
        raise PermissionDenied(_("不能修改自己的角色。"))
    form = RolesForm(request.POST or None, initial={"roles": sorted(target.role_codes)})
    if request.method == "POST" and form.is_valid():
        try:
            services.set_roles(request.user, target, form.cleaned_data["roles"])
        except ValidationError as exc:
            _show_errors(form, exc)
        else:
            messages.success(request, _("角色已更新。"))
            return redirect("accounts:user_detail", pk=target.pk)
    return render(request, "accounts/user_roles.html", {"form": form, "target": target})


@login_required
@require_POST
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    services.deactivate_user(request.user, target)
    messages.success(request, _("已停用账户 %(name)s。") % {"name": target.username})
    return redirect("accounts:user_detail", pk=target.pk)


@login_required
@require_POST
def user_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    services.reactivate_user(request.user, target)
    messages.success(request, _("已启用账户 %(name)s。") % {"name": target.username})
    return redirect("accounts:user_detail", pk=target.pk)


@login_required
def user_password(request: HttpRequest, pk: int) -> HttpResponse:
    target = _target(request, pk)
    services.check_can_manage(request.user, target)
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reset_password(request.user, target, form.cleaned_data["password"])
        except ValidationError as exc:
            _show_errors(form, exc)
        else:
            messages.success(
                request,
                _("已重置 %(name)s 的密码，请当面或电话告知本人。") % {"name": target.username},
            )
            return redirect("accounts:user_detail", pk=target.pk)
    return render(request, "accounts/user_password.html", {"form": form, "target": target})


@login_required
def my_account(request: HttpRequest) -> HttpResponse:
    """我的账户: see one's roles and change one's own password."""
    form = OwnPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.change_own_password(request.user, data["old_password"], data["password"])
        except ValidationError as exc:
            _show_errors(form, exc)
        else:
            # Keep this session signed in; other sessions of the account end.
            update_session_auth_hash(request, request.user)
            messages.success(request, _("密码已修改。"))
            return redirect("accounts:me")
    return render(request, "accounts/me.html", {"form": form})
