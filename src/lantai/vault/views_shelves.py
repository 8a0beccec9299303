"""Vault screens 库房: vaults, locations, boxes, label sheets, placement, inventories,
circulation and the entry log. The views only route: ``services_shelves`` checks permissions,
validates and audits."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lantai.core.permissions import has
from lantai.holdings.services import visible_items, visible_volumes
from lantai.vault import services_shelves as shelves
from lantai.vault.forms import (
    BoxForm,
    CirculationFilterForm,
    CirculationForm,
    DecisionForm,
    EntryForm,
    LocationRangeForm,
    PlaceForm,
    ScanForm,
    VaultForm,
    apply_errors,
)
from lantai.vault.models import (
    Box,
    Circulation,
    CirculationStatus,
    Inventory,
    InventoryStatus,
    Location,
    Placement,
    Vault,
    VaultEntry,
)

MANAGE = "vault.manage_vault"
VIEW_ENV = "vault.view_environment"
PAGE_SIZE = 100


def _need(request: HttpRequest, *perms: str) -> None:
    if not any(has(request.user, perm) for perm in perms):
        raise PermissionDenied(_("您没有执行此操作的权限。"))


def _crumbs(*pairs: tuple[str, str | None]) -> list[dict[str, Any]]:
    home = (_("库房"), reverse("vault:home"))
    return [{"label": label, "url": url} for label, url in (home, *pairs)]


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# --- home and vaults -----------------------------------------------------------------------------


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """库房: every vault with its limits and what it holds; the keeper's tools."""
    _need(request, MANAGE, VIEW_ENV)
    context = {
        "rows": shelves.vault_overview(),
        "can_manage": has(request.user, MANAGE),
        "overdue": shelves.overdue_circulations().count(),
        "pending": Circulation.objects.filter(status=CirculationStatus.REQUESTED).count(),
        "crumbs": _crumbs()[:1],
        "env_panel": _optional_template(ENV_HOME_PANEL),
    }
    return render(request, "vault/shelves/home.html", context)


#: The environment side's part of the 库房 home page (live status, alarms, links), included
#: when that template exists; it receives the same context (``rows``: one per vault).
ENV_HOME_PANEL = "vault/env/_home_panel.html"


def _optional_template(name: str) -> str | None:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return None
    return name


@login_required
@require_http_methods(["GET", "POST"])
def vault_create(request: HttpRequest) -> HttpResponse:
    _need(request, MANAGE)
    form = VaultForm(request.POST or None, initial={"vault_type": "paper", "active": True})
    if request.method == "POST" and form.is_valid():
        try:
            vault = shelves.create_vault(request.user, form.data_for_service(creating=True))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已新建库房 %(v)s") % {"v": vault})
            return redirect("vault:vault_detail", vault.pk)
    return render(
        request,
        "vault/shelves/vault_form.html",
        {
            "form": form,
            "defaults": _defaults_table(),
            "crumbs": _crumbs((_("新建库房"), None)),
        },
    )


def _defaults_table() -> list[tuple[str, dict]]:
    from lantai.vault.models import VaultType

    return [(label, shelves.default_limits(value)) for value, label in VaultType.choices]


@login_required
@require_http_methods(["GET", "POST"])
def vault_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, MANAGE)
    vault = get_object_or_404(Vault, pk=pk)
    initial = {
        name: getattr(vault, name)
        for name in VaultForm.base_fields
        if name not in ("keepers", "use_defaults")
    }
    initial["keepers"] = " ".join(vault.keepers.values_list("username", flat=True))
    form = VaultForm(request.POST or None, initial=initial)
    form.fields["code"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.data_for_service(creating=False)
        data.pop("code", None)
        try:
            shelves.update_vault(request.user, vault, data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("vault:vault_detail", vault.pk)
    return render(
        request,
        "vault/shelves/vault_form.html",
        {
            "form": form,
            "vault": vault,
            "defaults": _defaults_table(),
            "crumbs": _crumbs(
                (str(vault), reverse("vault:vault_detail", args=[pk])), (_("修改"), None)
            ),
        },
    )


@login_required
@require_GET
def vault_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One vault: limits, shelving (locations with their boxes), inventories, recent entries."""
    _need(request, MANAGE, VIEW_ENV)
    vault = get_object_or_404(Vault, pk=pk)
    locations = vault.locations.annotate(
        box_count=Count("boxes", distinct=True), direct_count=Count("placements", distinct=True)
    ).order_by("row", "column", "section", "shelf")
    page = Paginator(locations, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "vault": vault,
        "page": page,
        "can_manage": has(request.user, MANAGE),
        "range_form": LocationRangeForm(),
        "box_form": BoxForm(),
        "inventories": vault.inventories.select_related("started_by")[:10],
        "entries": vault.entries.select_related("person")[:10],
        "keepers": vault.keepers.all(),
        "crumbs": _crumbs((str(vault), None)),
    }
    return render(request, "vault/shelves/vault_detail.html", context)


@login_required
@require_POST
def locations_create(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, MANAGE)
    vault = get_object_or_404(Vault, pk=pk)
    form = LocationRangeForm(request.POST)
    if form.is_valid():
        try:
            created = shelves.create_locations(request.user, vault, form.cleaned_data)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("已生成%(n)d个架位") % {"n": len(created)})
    else:
        messages.error(request, _("请填写排、列、节、层"))
    return redirect("vault:vault_detail", vault.pk)


@login_required
@require_GET
def labels(request: HttpRequest, pk: int) -> HttpResponse:
    """Label sheet PDF of a vault: ``what`` = locations (default), boxes or holdings."""
    _need(request, MANAGE)
    vault = get_object_or_404(Vault, pk=pk)
    what = request.GET.get("what", "locations")
    if what == "boxes":
        targets: list[Any] = list(Box.objects.filter(location__vault=vault).select_related("fonds"))
    elif what == "holdings":
        placements = Placement.objects.filter(location__vault=vault) | Placement.objects.filter(
            box__location__vault=vault
        )
        targets = [p.volume or p.item for p in placements.select_related("volume", "item")]
    else:
        what = "locations"
        targets = list(vault.locations.select_related("vault"))
        row = request.GET.get("row", "")
        if row.isdigit():
            targets = [loc for loc in targets if loc.row == int(row)]
    try:
        content = shelves.label_sheet(request.user, targets)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("vault:vault_detail", vault.pk)
    return _pdf(content, f"labels-{vault.code}-{what}.pdf")


# --- boxes and placement -----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def box_list(request: HttpRequest) -> HttpResponse:
    """档案盒: list (filter by code) and add one."""
    _need(request, MANAGE)
    form = BoxForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            box = shelves.save_box(request.user, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已新建档案盒 %(c)s") % {"c": box.code})
            return redirect(reverse("vault:box_list") + f"?q={box.code}")
    boxes = (
        Box.objects.select_related("location__vault", "fonds")
        .annotate(content=Count("placements"))
        .order_by("code")
    )
    query = request.GET.get("q", "").strip()
    if query:
        boxes = boxes.filter(code__icontains=query)
    page = Paginator(boxes, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "vault/shelves/box_list.html",
        {"form": form, "page": page, "q": query, "crumbs": _crumbs((_("档案盒"), None))},
    )


@login_required
@require_http_methods(["GET", "POST"])
def place(request: HttpRequest) -> HttpResponse:
    """上架: scan a volume or item, then a box or location."""
    _need(request, MANAGE)
    form = PlaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        target = shelves.resolve_code(form.cleaned_data["target"])
        destination = shelves.resolve_code(form.cleaned_data["destination"])
        if target.kind not in ("volume", "item"):
            form.add_error("target", _("未找到该档号的案卷或件"))
        if destination.kind not in ("box", "location"):
            form.add_error("destination", _("未找到该盒号或架位"))
        if form.is_valid():
            try:
                shelves.place(
                    request.user,
                    target.obj,
                    box=destination.obj if destination.kind == "box" else None,
                    location=destination.obj if destination.kind == "location" else None,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("%(t)s 已放入 %(d)s")
                    % {"t": shelves.display_code(target.obj), "d": destination.obj.code},
                )
                # Keep the destination for the next scan: shelving goes box by box.
                return redirect(
                    reverse("vault:place") + f"?destination={form.cleaned_data['destination']}"
                )
    elif request.method == "GET":
        form = PlaceForm(initial={"destination": request.GET.get("destination", "")})
    return render(
        request, "vault/shelves/place.html", {"form": form, "crumbs": _crumbs((_("上架"), None))}
    )


# --- inventories ----------------------------------------------------------------------------------


@login_required
@require_POST
def inventory_start(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, MANAGE)
    vault = get_object_or_404(Vault, pk=pk)
    codes = request.POST.get("locations", "").replace(",", " ").split()
    chosen = list(Location.objects.filter(vault=vault, code__in=codes)) if codes else []
    if codes and len(chosen) != len(set(codes)):
        messages.error(request, _("部分架位编码不属于本库房"))
        return redirect("vault:vault_detail", vault.pk)
    try:
        inventory = shelves.start_inventory(request.user, vault, chosen)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("vault:vault_detail", vault.pk)
    return redirect("vault:inventory_detail", inventory.pk)


def _inventory_context(inventory: Inventory) -> dict[str, Any]:
    report = (
        inventory.result
        if inventory.status == InventoryStatus.CLOSED
        else shelves.inventory_report(inventory)
    )
    return {
        "inventory": inventory,
        "report": report,
        "recent": inventory.scans.select_related("location").order_by("-pk")[:15],
    }


@login_required
@require_GET
def inventory_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, MANAGE)
    inventory = get_object_or_404(Inventory.objects.select_related("vault", "started_by"), pk=pk)
    context = _inventory_context(inventory)
    context.update(
        form=ScanForm(),
        crumbs=_crumbs(
            (str(inventory.vault), reverse("vault:vault_detail", args=[inventory.vault_id])),
            (_("盘点"), None),
        ),
    )
    return render(request, "vault/shelves/inventory_detail.html", context)


@login_required
@require_POST
def inventory_scan(request: HttpRequest, pk: int) -> HttpResponse:
    """One scan; with htmx the scan panel is swapped in place, ready for the next code."""
    _need(request, MANAGE)
    inventory = get_object_or_404(Inventory.objects.select_related("vault"), pk=pk)
    form = ScanForm(request.POST)
    outcome = None
    if form.is_valid():
        try:
            outcome = shelves.scan(request.user, inventory, form.cleaned_data["code"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            form = ScanForm()
    if not _is_htmx(request):
        if outcome is not None:
            messages.info(request, outcome.message)
        else:
            for error in form.errors.get("code", []) + form.non_field_errors():
                messages.error(request, error)
        return redirect("vault:inventory_detail", inventory.pk)
    context = _inventory_context(inventory)
    context.update(form=form, outcome=outcome)
    return render(request, "vault/shelves/_inventory_panel.html", context)


@login_required
@require_POST
def inventory_close(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, MANAGE)
    inventory = get_object_or_404(Inventory, pk=pk)
    try:
        shelves.close_inventory(request.user, inventory)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("盘点已完成"))
    return redirect("vault:inventory_detail", inventory.pk)


# --- circulation ----------------------------------------------------------------------------------


@login_required
@require_GET
def circulation_list(request: HttpRequest) -> HttpResponse:
    """出入库单: a keeper sees all, anyone else their own requests."""
    _need(request, MANAGE, "holdings.view_holdings")
    filters = CirculationFilterForm(request.GET or None)
    circulations = (
        shelves.visible_circulations(request.user)
        .annotate(line_count=Count("lines"))
        .order_by("-requested_at", "-pk")
    )
    if filters.is_valid():
        if filters.cleaned_data["status"]:
            circulations = circulations.filter(status=filters.cleaned_data["status"])
        if filters.cleaned_data["overdue"]:
            circulations = circulations.filter(pk__in=shelves.overdue_circulations().values("pk"))
    page = Paginator(circulations, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "vault/shelves/circulation_list.html",
        {
            "filters": filters,
            "page": page,
            "now": timezone.now(),
            "can_manage": has(request.user, MANAGE),
            "crumbs": _crumbs((_("出入库"), None)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def circulation_create(request: HttpRequest) -> HttpResponse:
    _need(request, "holdings.view_holdings")
    form = CirculationForm(request.POST or None, initial={"targets": request.GET.get("code", "")})
    if request.method == "POST" and form.is_valid():
        try:
            circ = shelves.request_circulation(request.user, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已提交出库申请 %(n)s") % {"n": circ.number})
            return redirect("vault:circulation_detail", circ.pk)
    return render(
        request,
        "vault/shelves/circulation_form.html",
        {
            "form": form,
            "crumbs": _crumbs(
                (_("出入库"), reverse("vault:circulation_list")), (_("出库申请"), None)
            ),
        },
    )


def _get_circulation(request: HttpRequest, pk: int) -> Circulation:
    return get_object_or_404(shelves.visible_circulations(request.user), pk=pk)


@login_required
@require_GET
def circulation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    circ = _get_circulation(request, pk)
    lines = circ.lines.select_related("volume", "item", "box")
    can_manage = has(request.user, MANAGE)
    return render(
        request,
        "vault/shelves/circulation_detail.html",
        {
            "circ": circ,
            "lines": [
                (line, shelves.whereabouts(line.volume or line.item or line.box)) for line in lines
            ],
            "can_manage": can_manage,
            "is_requester": circ.requested_by_id == request.user.pk,
            "decision": DecisionForm(),
            "overdue": circ.status == CirculationStatus.OUT
            and circ.due_at
            and circ.due_at < timezone.now(),
            "crumbs": _crumbs(
                (_("出入库"), reverse("vault:circulation_list")), (circ.number, None)
            ),
        },
    )


@login_required
@require_POST
def circulation_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """approve / reject / out / return / cancel."""
    circ = _get_circulation(request, pk)
    form = DecisionForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    try:
        if action == "approve":
            shelves.approve_circulation(request.user, circ, due_at=data.get("due_at"))
        elif action == "reject":
            shelves.reject_circulation(request.user, circ, data.get("reason", ""))
        elif action == "out":
            shelves.take_out(request.user, circ, due_at=data.get("due_at"))
        elif action == "return":
            line_ids = [int(v) for v in request.POST.getlist("line") if v.isdigit()]
            chosen = list(circ.lines.filter(pk__in=line_ids)) if line_ids else None
            shelves.return_lines(request.user, circ, chosen)
        elif action == "cancel":
            shelves.cancel_circulation(request.user, circ)
        else:
            raise PermissionDenied(_("未知操作"))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("已完成"))
    return redirect("vault:circulation_detail", circ.pk)


@login_required
@require_POST
def circulation_remind(request: HttpRequest) -> HttpResponse:
    """Send the overdue reminders now (the hourly job does it too)."""
    _need(request, MANAGE)
    sent = shelves.send_overdue_reminders()
    messages.success(request, _("已发送%(n)d封催还提醒") % {"n": sent})
    return redirect(reverse("vault:circulation_list") + "?overdue=on")


# --- entry log ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def entry_list(request: HttpRequest) -> HttpResponse:
    """库房出入登记: who went into which vault, when and why."""
    _need(request, MANAGE)
    form = EntryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
        try:
            shelves.log_entry(request.user, data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已登记进入库房"))
            return redirect("vault:entry_list")
    entries = VaultEntry.objects.select_related("vault", "person", "circulation")
    vault = request.GET.get("vault", "").strip()
    if vault:
        entries = entries.filter(vault__code=vault)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "vault/shelves/entry_list.html",
        {"form": form, "page": page, "crumbs": _crumbs((_("出入登记"), None))},
    )


@login_required
@require_POST
def entry_exit(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, MANAGE)
    entry = get_object_or_404(VaultEntry, pk=pk)
    try:
        shelves.log_exit(request.user, entry)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("已登记离开"))
    return redirect("vault:entry_list")


# --- whereabouts of a volume or item (used from holdings pages) -----------------------------------


@login_required
@require_GET
def holding_labels(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """A label sheet with one volume's or item's label."""
    _need(request, MANAGE)
    visible = visible_volumes if kind == "volume" else visible_items
    target = get_object_or_404(visible(request.user), pk=pk)
    return _pdf(shelves.label_sheet(request.user, [target]), f"label-{kind}-{pk}.pdf")
