"""Code-table screens 代码与规则: units, fonds with their 名称沿革, series, categories and 档号
rules, with a live preview of a rule's 档号.

Every page needs ``holdings.manage_codes`` (archivists and the system administrator); the
services check it again and do all validation and auditing, so the views only route.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lantai.holdings import refcode, services
from lantai.holdings.forms_codes import (
    CategoryForm,
    FondsForm,
    FondsNameForm,
    SchemeForm,
    SeriesForm,
    UnitFilterForm,
    UnitForm,
    scope_label,
    scope_of,
)
from lantai.holdings.models import (
    Category,
    Fonds,
    FondsName,
    Item,
    ReferenceScheme,
    Series,
    Unit,
    Volume,
)

MANAGE_PERM = "holdings.manage_codes"
PAGE_SIZE = 100
TEMPLATE_FIELDS = ("item_template", "volume_template", "volume_item_template")


def manage_view(view):
    """Signed in and holding 管理代码表; otherwise the login page or a 403."""
    return login_required(permission_required(MANAGE_PERM, raise_exception=True)(view))


def _crumbs(*pairs: tuple[str, str | None]) -> list[dict[str, Any]]:
    home = (_("代码与规则"), reverse("holdings:codes_home"))
    return [{"label": label, "url": url} for label, url in (home, *pairs)]


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 12 else None


# --- overview ---------------------------------------------------------------------------------


@manage_view
@require_GET
def codes_home(request: HttpRequest) -> HttpResponse:
    """代码与规则: what is configured, with links to each table."""
    tables = [
        (_("立档单位"), Unit.objects.count(), reverse("holdings:unit_list")),
        (_("全宗"), Fonds.objects.count(), reverse("holdings:codes_fonds_list")),
        (_("机构(问题)"), Series.objects.count(), reverse("holdings:codes_fonds_list")),
        (_("档案门类"), Category.objects.count(), reverse("holdings:category_list")),
        (_("档号规则"), ReferenceScheme.objects.count(), reverse("holdings:scheme_list")),
    ]
    return render(
        request,
        "holdings/codes/home.html",
        {"tables": tables, "crumbs": _crumbs()[:1]},
    )


# --- units ------------------------------------------------------------------------------------


@manage_view
@require_GET
def unit_list(request: HttpRequest) -> HttpResponse:
    """立档单位 list, filtered by code/name, kind and whether in use."""
    filters = UnitFilterForm(request.GET or None)
    units = Unit.objects.select_related("parent").annotate(fonds_count=Count("fonds"))
    if filters.is_valid():
        query = filters.cleaned_data["q"].strip()
        if query:
            units = units.filter(Q(code__icontains=query) | Q(name__icontains=query))
        if filters.cleaned_data["kind"]:
            units = units.filter(kind=filters.cleaned_data["kind"])
        if filters.cleaned_data["active"]:
            units = units.filter(active=filters.cleaned_data["active"] == "1")
    page = Paginator(units.order_by("code"), PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "holdings/codes/unit_list.html",
        {
            "filters": filters,
            "page": page,
            "base_query": params.urlencode(),
            "crumbs": _crumbs((_("立档单位"), None)),
        },
    )


def _unit_form(request: HttpRequest, unit: Unit | None) -> HttpResponse:
    form = UnitForm(request.POST or None, instance=unit, actor=request.user)
    if request.method == "POST":
        saved = form.save()
        if saved is not None:
            messages.success(request, _("单位已保存：%(u)s") % {"u": saved})
            return redirect("holdings:unit_list")
    title = _("修改立档单位") if unit else _("新增立档单位")
    return render(
        request,
        "holdings/codes/form.html",
        {
            "form": form,
            "title": title,
            "cancel_url": reverse("holdings:unit_list"),
            "crumbs": _crumbs((_("立档单位"), reverse("holdings:unit_list")), (title, None)),
        },
    )


@manage_view
@require_http_methods(["GET", "POST"])
def unit_create(request: HttpRequest) -> HttpResponse:
    return _unit_form(request, None)


@manage_view
@require_http_methods(["GET", "POST"])
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _unit_form(request, get_object_or_404(Unit, pk=pk))


# --- fonds ------------------------------------------------------------------------------------


@manage_view
@require_GET
def fonds_list(request: HttpRequest) -> HttpResponse:
    """全宗 with their unit, years and how many series each has."""
    query = (request.GET.get("q") or "").strip()
    fonds = Fonds.objects.select_related("unit").annotate(
        series_count=Count("series", distinct=True), name_count=Count("names", distinct=True)
    )
    if query:
        fonds = fonds.filter(Q(code__icontains=query) | Q(name__icontains=query))
    page = Paginator(fonds.order_by("code"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "holdings/codes/fonds_list.html",
        {
            "page": page,
            "q": query,
            "base_query": f"q={query}" if query else "",
            "crumbs": _crumbs((_("全宗"), None)),
        },
    )


def _fonds_page(
    request: HttpRequest,
    fonds: Fonds | None,
    form: FondsForm,
    name_form: FondsNameForm | None = None,
) -> HttpResponse:
    title = _("修改全宗") if fonds else _("新增全宗")
    context: dict[str, Any] = {
        "form": form,
        "fonds": fonds,
        "title": title,
        "crumbs": _crumbs((_("全宗"), reverse("holdings:codes_fonds_list")), (title, None)),
    }
    if fonds is not None:
        context["names"] = fonds.names.order_by("start_year", "pk")
        context["name_form"] = name_form or FondsNameForm(fonds=fonds, actor=request.user)
        context["series_count"] = fonds.series.count()
    return render(request, "holdings/codes/fonds_form.html", context)


@manage_view
@require_http_methods(["GET", "POST"])
def fonds_create(request: HttpRequest) -> HttpResponse:
    form = FondsForm(request.POST or None, actor=request.user)
    if request.method == "POST":
        fonds = form.save()
        if fonds is not None:
            messages.success(request, _("全宗已创建：%(f)s") % {"f": fonds})
            return redirect("holdings:codes_fonds_edit", pk=fonds.pk)
    return _fonds_page(request, None, form)


@manage_view
@require_http_methods(["GET", "POST"])
def fonds_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a fonds; its 名称沿革 is listed below with inline add and edit."""
    fonds = get_object_or_404(Fonds, pk=pk)
    form = FondsForm(request.POST or None, instance=fonds, actor=request.user)
    if request.method == "POST":
        saved = form.save()
        if saved is not None:
            messages.success(request, _("全宗已保存：%(f)s") % {"f": saved})
            return redirect("holdings:codes_fonds_edit", pk=saved.pk)
    return _fonds_page(request, fonds, form)


@manage_view
@require_POST
def fonds_name_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Add an entry to a fonds' 名称沿革; errors are shown in place on the fonds page."""
    fonds = get_object_or_404(Fonds, pk=pk)
    name_form = FondsNameForm(request.POST, fonds=fonds, actor=request.user)
    if name_form.save() is not None:
        messages.success(request, _("名称沿革已添加。"))
        return redirect(reverse("holdings:codes_fonds_edit", args=[fonds.pk]) + "#names")
    form = FondsForm(instance=fonds, actor=request.user)
    return _fonds_page(request, fonds, form, name_form)


@manage_view
@require_http_methods(["GET", "POST"])
def fonds_name_edit(request: HttpRequest, pk: int, name_pk: int) -> HttpResponse:
    """Edit one 名称沿革 entry: inline in its table row under htmx, else on its own page."""
    fonds = get_object_or_404(Fonds, pk=pk)
    entry = get_object_or_404(FondsName, pk=name_pk, fonds=fonds)
    form = FondsNameForm(request.POST or None, instance=entry, fonds=fonds, actor=request.user)
    if request.method == "POST":
        saved = form.save()
        if saved is not None:
            if _is_htmx(request):
                return render(
                    request,
                    "holdings/codes/_fonds_name_row.html",
                    {"entry": saved, "fonds": fonds},
                )
            messages.success(request, _("名称沿革已保存。"))
            return redirect(reverse("holdings:codes_fonds_edit", args=[fonds.pk]) + "#names")
    context = {"form": form, "entry": entry, "fonds": fonds}
    if _is_htmx(request):
        return render(request, "holdings/codes/_fonds_name_row_form.html", context)
    title = _("修改名称沿革")
    fonds_url = reverse("holdings:codes_fonds_edit", args=[fonds.pk])
    context.update(
        title=title,
        cancel_url=fonds_url,
        crumbs=_crumbs(
            (_("全宗"), reverse("holdings:codes_fonds_list")),
            (str(fonds), fonds_url),
            (title, None),
        ),
    )
    return render(request, "holdings/codes/form.html", context)


def _confirm_delete(
    request: HttpRequest,
    *,
    obj,
    delete,
    title: str,
    done_url: str,
    cancel_url: str,
    crumbs: list[dict[str, Any]],
    note: str = "",
) -> HttpResponse:
    """GET asks for confirmation, POST deletes through ``delete`` (a service call)."""
    error = ""
    if request.method == "POST":
        try:
            delete()
        except ValidationError as exc:
            error = "；".join(exc.messages)
        else:
            messages.success(request, _("已删除：%(o)s") % {"o": obj})
            return redirect(done_url)
    return render(
        request,
        "holdings/codes/confirm_delete.html",
        {
            "object": obj,
            "title": title,
            "note": note,
            "error": error,
            "cancel_url": cancel_url,
            "crumbs": crumbs,
        },
        status=400 if error else 200,
    )


@manage_view
@require_http_methods(["GET", "POST"])
def fonds_name_delete(request: HttpRequest, pk: int, name_pk: int) -> HttpResponse:
    fonds = get_object_or_404(Fonds, pk=pk)
    entry = get_object_or_404(FondsName, pk=name_pk, fonds=fonds)
    fonds_url = reverse("holdings:codes_fonds_edit", args=[fonds.pk])
    title = _("删除名称沿革")
    return _confirm_delete(
        request,
        obj=entry,
        delete=lambda: services.delete_fonds_name(request.user, entry),
        title=title,
        done_url=fonds_url + "#names",
        cancel_url=fonds_url,
        crumbs=_crumbs(
            (_("全宗"), reverse("holdings:codes_fonds_list")),
            (str(fonds), fonds_url),
            (title, None),
        ),
    )


# --- series -----------------------------------------------------------------------------------


@manage_view
@require_http_methods(["GET", "POST"])
def series_list(request: HttpRequest, pk: int) -> HttpResponse:
    """机构(问题) of one fonds, with an inline form to add one."""
    fonds = get_object_or_404(Fonds, pk=pk)
    form = SeriesForm(request.POST or None, fonds=fonds, actor=request.user)
    if request.method == "POST":
        series = form.save()
        if series is not None:
            messages.success(request, _("机构(问题)已添加：%(s)s") % {"s": series})
            return redirect("holdings:series_list", pk=fonds.pk)
    rows = fonds.series.annotate(
        items=Count("item", distinct=True), volumes=Count("volume", distinct=True)
    ).order_by("code")
    fonds_url = reverse("holdings:codes_fonds_edit", args=[fonds.pk])
    return render(
        request,
        "holdings/codes/series_list.html",
        {
            "fonds": fonds,
            "rows": rows,
            "form": form,
            "crumbs": _crumbs(
                (_("全宗"), reverse("holdings:codes_fonds_list")),
                (str(fonds), fonds_url),
                (_("机构(问题)"), None),
            ),
        },
    )


@manage_view
@require_http_methods(["GET", "POST"])
def series_edit(request: HttpRequest, pk: int) -> HttpResponse:
    series = get_object_or_404(Series.objects.select_related("fonds"), pk=pk)
    form = SeriesForm(request.POST or None, instance=series, fonds=series.fonds, actor=request.user)
    list_url = reverse("holdings:series_list", args=[series.fonds_id])
    if request.method == "POST":
        saved = form.save()
        if saved is not None:
            messages.success(request, _("机构(问题)已保存：%(s)s") % {"s": saved})
            return redirect(list_url)
    title = _("修改机构(问题)")
    return render(
        request,
        "holdings/codes/form.html",
        {
            "form": form,
            "title": title,
            "cancel_url": list_url,
            "crumbs": _crumbs(
                (_("全宗"), reverse("holdings:codes_fonds_list")),
                (str(series.fonds), reverse("holdings:codes_fonds_edit", args=[series.fonds_id])),
                (_("机构(问题)"), list_url),
                (title, None),
            ),
        },
    )


@manage_view
@require_http_methods(["GET", "POST"])
def series_delete(request: HttpRequest, pk: int) -> HttpResponse:
    series = get_object_or_404(Series.objects.select_related("fonds"), pk=pk)
    list_url = reverse("holdings:series_list", args=[series.fonds_id])
    title = _("删除机构(问题)")
    return _confirm_delete(
        request,
        obj=series,
        delete=lambda: services.delete_series(request.user, series),
        title=title,
        done_url=list_url,
        cancel_url=list_url,
        crumbs=_crumbs((_("机构(问题)"), list_url), (title, None)),
        note=_("只有未被任何条目或案卷使用的机构(问题)才能删除。"),
    )


# --- categories -------------------------------------------------------------------------------


def category_tree() -> list[tuple[Category, int]]:
    """Categories depth first under their parents, each with its depth (0 = top level)."""
    categories = list(Category.objects.select_related("parent").order_by("sort_order", "code"))
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    out: list[tuple[Category, int]] = []
    seen: set[int] = set()

    def walk(parent_id: int | None, depth: int) -> None:
        for category in children.get(parent_id, []):
            if category.pk in seen:
                continue
            seen.add(category.pk)
            out.append((category, depth))
            walk(category.pk, depth + 1)

    walk(None, 0)
    # Anything left over hangs in a loop (edited by hand): still list it.
    out.extend((category, 0) for category in categories if category.pk not in seen)
    return out


@manage_view
@require_GET
def category_list(request: HttpRequest) -> HttpResponse:
    """档案门类 as a tree: the DA/T 13-2022 categories with the 专门档案 kinds under them."""
    rows = [
        {"category": category, "depth": depth, "indent": depth * 2}
        for category, depth in category_tree()
    ]
    return render(
        request,
        "holdings/codes/category_list.html",
        {"rows": rows, "crumbs": _crumbs((_("档案门类"), None))},
    )


def _category_form(request: HttpRequest, category: Category | None) -> HttpResponse:
    form = CategoryForm(request.POST or None, instance=category, actor=request.user)
    if request.method == "POST":
        saved = form.save()
        if saved is not None:
            messages.success(request, _("门类已保存：%(c)s") % {"c": saved})
            return redirect("holdings:category_list")
    title = _("修改档案门类") if category else _("新增档案门类")
    return render(
        request,
        "holdings/codes/form.html",
        {
            "form": form,
            "title": title,
            "cancel_url": reverse("holdings:category_list"),
            "crumbs": _crumbs((_("档案门类"), reverse("holdings:category_list")), (title, None)),
        },
    )


@manage_view
@require_http_methods(["GET", "POST"])
def category_create(request: HttpRequest) -> HttpResponse:
    return _category_form(request, None)


@manage_view
@require_http_methods(["GET", "POST"])
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _category_form(request, get_object_or_404(Category, pk=pk))


# --- 档号 rules -------------------------------------------------------------------------------


def sample_parts(fonds: Fonds | None, category: Category | None) -> refcode.RefParts:
    """A sample record for previews: the chosen fonds and category (else Z109 and WS), the
    fonds' first series, last year, 永久, 案卷号 3 and 件号 12 (to show the zero padding)."""
    series = fonds.series.order_by("code").first() if fonds is not None else None
    return refcode.RefParts(
        fonds=fonds.code if fonds is not None else "Z109",
        category=category.code if category is not None else "WS",
        year=dt.date.today().year - 1,
        retention="Y",
        series=series.code if series is not None else ("" if fonds is not None else "BGS"),
        catalog="",
        volume=3,
        item=12,
    )


def _parsed(parts: refcode.RefParts, template: str) -> list[tuple[str, Any]]:
    return [
        (refcode.part_label(name), getattr(parts, name))
        for kind, name in refcode.tokenize(template)
        if kind == "ph"
    ]


def _labels() -> dict[str, str]:
    return {
        "item_template": _("件档号"),
        "volume_template": _("卷档号"),
        "volume_item_template": _("卷内件档号"),
    }


def scheme_preview_context(data: dict[str, Any], fonds, category, try_code: str = ""):
    """For each template: the 档号 of a sample record and its parts read back, or the message
    saying what is wrong with the template (the same checks save_scheme makes)."""
    cleaned, errors = services.check_scheme_templates(data)
    widths_ok = not (errors.get("item_width") or errors.get("volume_width"))
    widths = {
        "item_width": cleaned.get("item_width") or 4,
        "volume_width": cleaned.get("volume_width") or 3,
    }
    parts = sample_parts(fonds, category)
    rows = []
    for name in TEMPLATE_FIELDS:
        row: dict[str, Any] = {
            "name": name,
            "label": _labels()[name],
            "template": data.get(name, ""),
            "code": "",
            "parsed": [],
            "errors": list(errors.get(name, [])),
        }
        if not row["errors"] and widths_ok:
            template = cleaned[name]
            try:
                row["code"] = refcode.compose(template, parts, **widths)
                row["parsed"] = _parsed(refcode.parse(template, row["code"], **widths), template)
            except refcode.ReferenceCodeError as exc:
                row["errors"].append(exc.message)
        rows.append(row)
    tried: dict[str, Any] = {"code": try_code.strip(), "parsed": [], "error": ""}
    if tried["code"] and widths_ok and "item_template" in cleaned:
        try:
            parsed = refcode.parse(cleaned["item_template"], tried["code"], **widths)
            tried["parsed"] = _parsed(parsed, cleaned["item_template"])
        except refcode.ReferenceCodeError as exc:
            tried["error"] = exc.message
    return {
        "preview_rows": rows,
        "width_errors": [*errors.get("item_width", []), *errors.get("volume_width", [])],
        "sample": parts,
        "tried": tried,
    }


def _scheme_scope_from(request_data, scheme: ReferenceScheme | None):
    """The fonds and category a preview uses: the rule's own scope, else what the form has."""
    if scheme is not None:
        return scheme.fonds, scheme.category
    scope = request_data.get("scope") or "both"
    fonds_id = _int(request_data.get("fonds")) if scope in ("fonds", "both") else None
    category_id = _int(request_data.get("category")) if scope in ("category", "both") else None
    fonds = Fonds.objects.filter(pk=fonds_id).first() if fonds_id else None
    category = Category.objects.filter(pk=category_id).first() if category_id else None
    return fonds, category


@manage_view
@require_GET
def scheme_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the live preview of the 档号 a rule's templates give (read only, saves nothing)."""
    scheme = None
    scheme_id = _int(request.GET.get("scheme"))
    if scheme_id is not None:
        scheme = get_object_or_404(
            ReferenceScheme.objects.select_related("fonds", "category"), pk=scheme_id
        )
    fonds, category = _scheme_scope_from(request.GET, scheme)
    data = {
        name: request.GET.get(name, "") for name in (*TEMPLATE_FIELDS, "item_width", "volume_width")
    }
    context = scheme_preview_context(data, fonds, category, request.GET.get("try_code", ""))
    return render(request, "holdings/codes/_scheme_preview.html", context)


def _applies(fonds: Fonds | None, category: Category | None) -> dict[str, Any]:
    scheme = refcode.scheme_for(fonds, category)
    found = (
        ReferenceScheme.objects.select_related("fonds", "category").filter(pk=scheme.pk).first()
        if scheme.pk
        else None
    )
    parts = sample_parts(fonds, category)
    try:
        code = refcode.compose(
            scheme.item_template,
            parts,
            item_width=scheme.item_width,
            volume_width=scheme.volume_width,
        )
        error = ""
    except refcode.ReferenceCodeError as exc:
        code, error = "", exc.message
    return {
        "fonds": fonds,
        "category": category,
        "scheme": found,
        "scope": scope_label(found) if found else _("系统内置默认（DA/T 22-2015）"),
        "item_template": scheme.item_template,
        "example": code,
        "error": error,
    }


@manage_view
@require_GET
def scheme_list(request: HttpRequest) -> HttpResponse:
    """档号规则, most general first, and which one applies to a chosen fonds and category."""
    schemes = ReferenceScheme.objects.select_related("fonds", "category").order_by(
        "fonds__code", "category__sort_order", "pk"
    )
    rows = []
    for scheme in schemes:
        try:
            example = refcode.example(
                scheme.item_template,
                item_width=scheme.item_width,
                volume_width=scheme.volume_width,
            )
        except refcode.ReferenceCodeError as exc:
            example = exc.message
        rows.append({"scheme": scheme, "scope": scope_label(scheme), "example": example})
    # Most general first: default, then category, fonds, fonds+category.
    order = {"default": 0, "category": 1, "fonds": 2, "both": 3}
    rows.sort(key=lambda row: order[scope_of(row["scheme"])])

    fonds_id, category_id = _int(request.GET.get("fonds")), _int(request.GET.get("category"))
    applies = None
    if "fonds" in request.GET or "category" in request.GET:
        fonds = Fonds.objects.filter(pk=fonds_id).first() if fonds_id else None
        category = Category.objects.filter(pk=category_id).first() if category_id else None
        applies = _applies(fonds, category)
        if _is_htmx(request):
            return render(request, "holdings/codes/_scheme_applies.html", {"applies": applies})
    return render(
        request,
        "holdings/codes/scheme_list.html",
        {
            "rows": rows,
            "applies": applies,
            "all_fonds": Fonds.objects.order_by("code").only("pk", "code", "name"),
            "all_categories": Category.objects.order_by("sort_order", "code"),
            "chosen_fonds": fonds_id,
            "chosen_category": category_id,
            "crumbs": _crumbs((_("档号规则"), None)),
        },
    )


def _scheme_form(request: HttpRequest, scheme: ReferenceScheme | None) -> HttpResponse:
    form = SchemeForm(request.POST or None, instance=scheme, actor=request.user)
    if request.method == "POST":
        saved = form.save()
        if saved is not None:
            messages.success(
                request,
                _("档号规则已保存。今后新编的档号按新规则生成，已有档号不变。"),
            )
            return redirect("holdings:scheme_list")
    # The preview shows what is in the form now (the posted values after an error).
    source = request.POST if request.method == "POST" else None
    data = {
        name: (source.get(name, "") if source is not None else form[name].value())
        for name in (*TEMPLATE_FIELDS, "item_width", "volume_width")
    }
    if scheme is not None:
        fonds, category = scheme.fonds, scheme.category
    else:
        fonds, category = _scheme_scope_from(source or {}, None)
    in_use = False
    if scheme is not None:
        scope = {}
        if scheme.fonds_id:
            scope["fonds_id"] = scheme.fonds_id
        if scheme.category_id:
            scope["category_id"] = scheme.category_id
        in_use = (
            Item.objects.filter(reference_code__isnull=False, **scope).exists()
            or Volume.objects.filter(reference_code__isnull=False, **scope).exists()
        )
    title = _("修改档号规则") if scheme else _("新增档号规则")
    context = {
        "form": form,
        "scheme": scheme,
        "title": title,
        "in_use": in_use,
        "crumbs": _crumbs((_("档号规则"), reverse("holdings:scheme_list")), (title, None)),
        **scheme_preview_context(data, fonds, category),
    }
    return render(request, "holdings/codes/scheme_form.html", context)


@manage_view
@require_http_methods(["GET", "POST"])
def scheme_create(request: HttpRequest) -> HttpResponse:
    return _scheme_form(request, None)


@manage_view
@require_http_methods(["GET", "POST"])
def scheme_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scheme = get_object_or_404(ReferenceScheme.objects.select_related("fonds", "category"), pk=pk)
    return _scheme_form(request, scheme)


@manage_view
@require_http_methods(["GET", "POST"])
def scheme_delete(request: HttpRequest, pk: int) -> HttpResponse:
    scheme = get_object_or_404(ReferenceScheme.objects.select_related("fonds", "category"), pk=pk)
    list_url = reverse("holdings:scheme_list")
    title = _("删除档号规则")
    return _confirm_delete(
        request,
        obj=scheme,
        delete=lambda: services.delete_scheme(request.user, scheme),
        title=title,
        done_url=list_url,
        cancel_url=list_url,
        crumbs=_crumbs((_("档号规则"), list_url), (title, None)),
        note=_("删除后，此范围内今后新编的档号按更通用的规则生成；已有档号不变。"),
    )
