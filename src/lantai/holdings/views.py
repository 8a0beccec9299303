"""Staff web UI for holdings 馆藏: browse, item and volume lists, item detail/edit, fonds.

Views are thin: what a user may see comes from ``services.visible_*`` / ``get_item``, every
change goes through ``forms.ItemForm`` (which calls the services). An item the user may not
see is a 404, never a 403, so its existence is not revealed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lantai.audit.models import AuditEntry
from lantai.core.permissions import has
from lantai.holdings import refcode, services
from lantai.holdings.filters import ItemFilter, VolumeFilter
from lantai.holdings.forms import ItemForm
from lantai.holdings.models import Category, Item, Series, Volume
from lantai.holdings.tables import (
    SORT_FIELDS,
    VOLUME_SORT_FIELDS,
    CursorError,
    KeysetPage,
    keyset_page,
    parse_sort,
    sort_choices,
)

VIEW_PERM = "holdings.view_holdings"
CHANGE_PERM = "holdings.change_holdings"


def staff_view(view):
    """Signed in and holding 查看馆藏; otherwise the login page or a 403."""
    return login_required(permission_required(VIEW_PERM, raise_exception=True)(view))


def _page_size(request: HttpRequest) -> int:
    from django.conf import settings

    return max(1, min(int(getattr(settings, "LANTAI_PAGE_SIZE", 50)), 500))


def _crumbs(*pairs: tuple[str, str | None]) -> list[dict[str, Any]]:
    return [{"label": label, "url": url} for label, url in pairs]


# --- browse -----------------------------------------------------------------------------------


def _int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 12 else None


@staff_view
def browse(request: HttpRequest) -> HttpResponse:
    """馆藏浏览: fonds → category → year, with 卷(件) counts at each level."""
    user = request.user
    fonds = category = None
    fonds_id, category_id = _int_param(request, "fonds"), _int_param(request, "category")
    if fonds_id is not None:
        fonds = services.visible_fonds(user).filter(pk=fonds_id).first()
        if fonds is None:
            raise Http404(_("全宗不存在。"))
    if fonds is not None and category_id is not None:
        category = Category.objects.filter(pk=category_id).first()
        if category is None:
            raise Http404(_("门类不存在。"))

    counts = services.browse_counts(user, fonds=fonds, category=category)
    list_url = reverse("holdings:item_list")
    browse_url = reverse("holdings:browse")
    rows = []
    for row in counts:
        if fonds is None:
            url = f"{browse_url}?{urlencode({'fonds': row['key']})}"
            label = f"{row['code']} {row['label']}"
        elif category is None:
            url = f"{browse_url}?{urlencode({'fonds': fonds.pk, 'category': row['key']})}"
            label = f"{row['code']} {row['label']}"
        else:
            query = urlencode({"fonds": fonds.pk, "category": category.pk, "year": row["key"]})
            url = f"{list_url}?{query}"
            label = row["label"]
        rows.append({**row, "label": label, "url": url})
    level_label = _("全宗") if fonds is None else (_("门类") if category is None else _("年度"))
    totals = {
        key: sum(r[key] for r in rows)
        for key in ("volumes", "items_standalone", "items_in_volumes", "total")
    }
    crumbs = [(_("馆藏浏览"), browse_url)]
    if fonds is not None:
        crumbs.append((str(fonds), f"{browse_url}?{urlencode({'fonds': fonds.pk})}"))
    if category is not None:
        crumbs.append((str(category), None))
    return render(
        request,
        "holdings/browse.html",
        {
            "fonds": fonds,
            "category": category,
            "rows": rows,
            "totals": totals,
            "level_label": level_label,
            "crumbs": _crumbs(*crumbs),
        },
    )


# --- lists ------------------------------------------------------------------------------------


def _listing(
    request: HttpRequest,
    filterset,
    *,
    sort_fields: dict,
    related: tuple[str, ...],
    deferred: tuple[str, ...],
) -> dict[str, Any]:
    """Filter, sort and page one list; never COUNT(*) and never OFFSET."""
    sort = parse_sort(request.GET.get("sort"), fields=sort_fields)
    context: dict[str, Any] = {
        "filter": filterset,
        "sort": sort,
        "sort_choices": sort_choices(sort_fields),
        "filter_errors": False,
        "cursor_error": "",
        "action": request.path,
    }
    params = request.GET.copy()
    for name in ("after", "before"):
        params.pop(name, None)
    context["base_query"] = params.urlencode()
    context["page_is_later"] = bool(request.GET.get("after") or request.GET.get("before"))
    if filterset.is_bound and not filterset.is_valid():
        context["filter_errors"] = True
        context["page"] = KeysetPage([], sort, None, None)
        return context
    qs: QuerySet = filterset.qs.select_related(*related).defer(*deferred)
    prefix = filterset.code_prefix_hint()
    try:
        page = keyset_page(
            qs,
            sort,
            after=request.GET.get("after") or None,
            before=request.GET.get("before") or None,
            size=_page_size(request),
            code_prefix=prefix,
        )
    except CursorError as exc:
        context["cursor_error"] = str(exc)
        page = keyset_page(qs, sort, size=_page_size(request), code_prefix=prefix)
    context["page"] = page
    return context


def _is_htmx(request: HttpRequest) -> bool:
    # A boosted or history-restore request wants the whole page.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
        and request.headers.get("HX-Target") == "results"
    )


@staff_view
def item_list(request: HttpRequest) -> HttpResponse:
    """条目列表 with filters, sorting and keyset paging; htmx swaps only the table."""
    filterset = ItemFilter(
        request.GET or None, queryset=services.visible_items(request.user), user=request.user
    )
    context = _listing(
        request,
        filterset,
        sort_fields=SORT_FIELDS,
        related=("fonds", "category"),
        deferred=("extra", "notes", "keywords"),
    )
    context["crumbs"] = _crumbs((_("条目"), None))
    if _is_htmx(request):
        return render(request, "holdings/_item_table.html", context)
    return render(request, "holdings/item_list.html", context)


@staff_view
def volume_list(request: HttpRequest) -> HttpResponse:
    """案卷列表."""
    filterset = VolumeFilter(
        request.GET or None, queryset=services.visible_volumes(request.user), user=request.user
    )
    context = _listing(
        request,
        filterset,
        sort_fields=VOLUME_SORT_FIELDS,
        related=("fonds", "category"),
        deferred=("notes", "keywords"),
    )
    context["crumbs"] = _crumbs((_("案卷"), None))
    if _is_htmx(request):
        return render(request, "holdings/_volume_table.html", context)
    return render(request, "holdings/volume_list.html", context)


# --- details ----------------------------------------------------------------------------------


def _display(obj, name: str) -> Any:
    field = obj._meta.get_field(name)
    if field.choices:
        return getattr(obj, f"get_{name}_display")()
    value = getattr(obj, name)
    if value is None or value == "":
        return ""
    return value


def _props(obj, names: list[str]) -> list[tuple[str, Any]]:
    return [(obj._meta.get_field(name).verbose_name, _display(obj, name)) for name in names]


ITEM_FIELDS = [
    "reference_code",
    "title",
    "fonds",
    "category",
    "series",
    "unit",
    "catalog_no",
    "year",
    "retention",
    "item_no",
    "volume",
    "doc_number",
    "responsible",
    "date",
    "date_start",
    "date_end",
    "pages",
    "classification",
    "openness",
    "carrier",
    "keywords",
    "notes",
    "created_at",
    "updated_at",
]
VOLUME_FIELDS = [
    "reference_code",
    "title",
    "fonds",
    "category",
    "series",
    "unit",
    "catalog_no",
    "year",
    "retention",
    "volume_no",
    "responsible",
    "date_start",
    "date_end",
    "pages",
    "classification",
    "openness",
    "carrier",
    "keywords",
    "notes",
    "created_at",
    "updated_at",
]


def _code_parts(obj) -> tuple[list[tuple[str, Any]], str]:
    if not obj.reference_code:
        return [], ""
    scheme = refcode.scheme_for(obj.fonds_id, obj.category_id)
    if isinstance(obj, Volume):
        template = scheme.volume_template
    else:
        template = refcode.template_for_item(obj, scheme)
    try:
        parts = refcode.parse(
            template,
            obj.reference_code,
            item_width=scheme.item_width,
            volume_width=scheme.volume_width,
        )
    except refcode.ReferenceCodeError as exc:
        return [], str(exc)
    names = [name for name in refcode.PLACEHOLDERS if name in refcode.placeholders(template)]
    rows = []
    for name in names:
        value = getattr(parts, name)
        if value not in (None, ""):
            rows.append((refcode.part_label(name), value))
    return rows, ""


def _history(model_label: str, pk: int) -> list[AuditEntry]:
    """Change history 修改历史: the audit entries about this object, newest first."""
    entries = list(
        AuditEntry.objects.filter(object_type=model_label, object_id=str(pk))
        .exclude(action="view")
        .order_by("-seq")[:200]
    )
    labels: dict[str, Any] = {}
    for f in Item._meta.concrete_fields:
        # Audit details name foreign keys by attname ("fonds_id").
        labels[f.name] = labels[f.attname] = f.verbose_name
    for entry in entries:
        detail = entry.detail if isinstance(entry.detail, dict) else {}
        changes = detail.get("changes", detail)
        entry.field_changes = (
            [
                {"label": labels.get(key, key), "old": value[0], "new": value[1]}
                for key, value in sorted(changes.items())
                if isinstance(value, list | tuple) and len(value) == 2
            ]
            if isinstance(changes, dict)
            else []
        )
        entry.summary = "" if entry.field_changes else detail.get("message", "")
    return entries


def _visible_item_or_404(request: HttpRequest, pk: int) -> Item:
    try:
        return services.get_item(request.user, pk)
    except Item.DoesNotExist as exc:
        raise Http404(_("条目不存在。")) from exc


@staff_view
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_item_or_404(request, pk)
    code_parts, code_error = _code_parts(item)
    extra = item.extra if isinstance(item.extra, dict) else {}
    return render(
        request,
        "holdings/item_detail.html",
        {
            "item": item,
            "props": _props(item, ITEM_FIELDS),
            "extra": sorted(extra.items()),
            "code_parts": code_parts,
            "code_error": code_error,
            "history": _history("holdings.item", item.pk),
            "can_change": has(request.user, CHANGE_PERM),
            "crumbs": _crumbs(
                (_("条目"), reverse("holdings:item_list")),
                (item.reference_code or item.title[:30], None),
            ),
        },
    )


#: Above this many volumes the 所属案卷 choice is typed as an id, not picked from a list.
VOLUME_SELECT_LIMIT = 500


def _tune_form(form: ItemForm, item: Item | None) -> ItemForm:
    """Keep the form's choice lists small: a district archive has thousands of volumes."""
    fields = form.fields
    if item is not None:
        # An item's series and volume belong to its own fonds (the service checks it too).
        if "series" in fields and not fields["series"].disabled:
            fields["series"].queryset = Series.objects.filter(fonds_id=item.fonds_id)
        if "volume" in fields and not fields["volume"].disabled:
            fields["volume"].queryset = Volume.objects.filter(
                fonds_id=item.fonds_id, category_id=item.category_id, year=item.year
            )
    elif "volume" in fields and Volume.objects.count() > VOLUME_SELECT_LIMIT:
        fields["volume"].widget = forms.NumberInput(attrs={"min": 1})
        fields["volume"].help_text = _("案卷数量较多，请填写案卷ID（可在案卷列表中查到）。")
    if "volume" in fields and item is not None and fields["volume"].disabled:
        fields["volume"].queryset = Volume.objects.filter(pk=item.volume_id)
    return form


def _require_change(request: HttpRequest) -> None:
    if not has(request.user, CHANGE_PERM):
        raise PermissionDenied(_("您没有修改馆藏的权限。"))


@staff_view
@require_http_methods(["GET", "POST"])
def item_create(request: HttpRequest) -> HttpResponse:
    """著录新条目; 件号 is allocated when left blank."""
    _require_change(request)
    form = _tune_form(ItemForm(request.POST or None, actor=request.user), None)
    if request.method == "POST" and form.is_valid():
        item = form.save()
        if item is not None and item.pk:
            messages.success(request, _("条目已保存：%(code)s") % {"code": item.reference_code})
            return redirect("holdings:item_detail", pk=item.pk)
    return render(
        request,
        "holdings/item_form.html",
        {
            "form": form,
            "item": None,
            "crumbs": _crumbs((_("条目"), reverse("holdings:item_list")), (_("著录新条目"), None)),
        },
    )


@staff_view
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_item_or_404(request, pk)
    _require_change(request)
    form = _tune_form(ItemForm(request.POST or None, instance=item, actor=request.user), item)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        if saved is not None and not form.errors:
            messages.success(request, _("条目已修改。"))
            return redirect("holdings:item_detail", pk=item.pk)
    return render(
        request,
        "holdings/item_form.html",
        {
            "form": form,
            "item": item,
            "crumbs": _crumbs(
                (_("条目"), reverse("holdings:item_list")),
                (
                    item.reference_code or item.title[:30],
                    reverse("holdings:item_detail", args=[pk]),
                ),
                (_("修改"), None),
            ),
        },
    )


@staff_view
@require_http_methods(["GET", "POST"])
def item_delete(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_item_or_404(request, pk)
    _require_change(request)
    errors: list[str] = []
    if request.method == "POST":
        try:
            services.delete_item(request.user, item)
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, _("条目已删除。"))
            return redirect("holdings:item_list")
    return render(
        request,
        "holdings/item_confirm_delete.html",
        {
            "item": item,
            "errors": errors,
            "crumbs": _crumbs(
                (_("条目"), reverse("holdings:item_list")),
                (
                    item.reference_code or item.title[:30],
                    reverse("holdings:item_detail", args=[pk]),
                ),
                (_("删除"), None),
            ),
        },
    )


@staff_view
def volume_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """案卷 and its 卷内文件."""
    try:
        volume = services.get_volume(request.user, pk)
    except Volume.DoesNotExist as exc:
        raise Http404(_("案卷不存在。")) from exc
    limit = 500
    items = list(
        services.visible_items(request.user)
        .filter(volume=volume)
        .defer("extra", "notes")
        .order_by("item_no", "pk")[: limit + 1]
    )
    return render(
        request,
        "holdings/volume_detail.html",
        {
            "volume": volume,
            "props": _props(volume, VOLUME_FIELDS),
            "items": items[:limit],
            "items_truncated": len(items) > limit,
            "crumbs": _crumbs(
                (_("案卷"), reverse("holdings:volume_list")),
                (volume.reference_code or volume.title[:30], None),
            ),
        },
    )


@staff_view
def fonds_list(request: HttpRequest) -> HttpResponse:
    fonds = services.visible_fonds(request.user).select_related("unit").order_by("code")
    return render(
        request,
        "holdings/fonds_list.html",
        {
            "fonds_list": fonds,
            "crumbs": _crumbs((_("全宗"), None)),
        },
    )


@staff_view
def fonds_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """全宗 with its name history 全宗名称沿革 and 卷(件) counts."""
    fonds = services.visible_fonds(request.user).select_related("unit").filter(pk=pk).first()
    if fonds is None:
        raise Http404(_("全宗不存在。"))
    counts = services.holdings_count(
        services.visible_items(request.user).filter(fonds=fonds),
        services.visible_volumes(request.user).filter(fonds=fonds),
    )
    return render(
        request,
        "holdings/fonds_detail.html",
        {
            "fonds": fonds,
            "names": fonds.names.order_by("start_year", "pk"),
            "counts": counts,
            "crumbs": _crumbs((_("全宗"), reverse("holdings:fonds_list")), (str(fonds), None)),
        },
    )


__all__ = [
    "browse",
    "fonds_detail",
    "fonds_list",
    "item_create",
    "item_delete",
    "item_detail",
    "item_edit",
    "item_list",
    "volume_detail",
    "volume_list",
]
