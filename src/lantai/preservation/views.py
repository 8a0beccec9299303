"""Preservation screens 长期保存: an AIP's page (files, copies, PREMIS events, DIP / EEP
downloads), the item's AIP link, and the fixity audit history with a button to start one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lantai.core.permissions import has
from lantai.holdings import services as holdings
from lantai.holdings.models import Item
from lantai.jobs.services import enqueue
from lantai.preservation import dip, eep, services
from lantai.preservation.dip import safe_name
from lantai.preservation.models import Aip, FixityAudit
from lantai.storage.backends import StorageError
from lantai.storage.models import ObjectCopy, StorageLocation


def _aip_or_404(request: HttpRequest, pk) -> Aip:
    try:
        return services.get_aip(request.user, pk)
    except Aip.DoesNotExist:
        raise Http404(_("档案信息包不存在或无权查看。")) from None


def _item_or_404(request: HttpRequest, pk) -> Item:
    try:
        return holdings.get_item(request.user, pk)
    except Item.DoesNotExist:
        raise Http404(_("条目不存在或无权查看。")) from None


@login_required
def aip_detail(request: HttpRequest, pk) -> HttpResponse:
    aip = _aip_or_404(request, pk)
    files = list(aip.files.select_related("object").order_by("path"))
    copies: dict[int, list[ObjectCopy]] = {}
    for copy in ObjectCopy.objects.filter(object__aip_files__aip=aip).select_related("location"):
        copies.setdefault(copy.object_id, []).append(copy)
    rows = [(f, copies.get(f.object_id, [])) for f in files]
    events = Paginator(services.aip_events(aip), 100).get_page(request.GET.get("page"))
    return render(
        request,
        "preservation/aip_detail.html",
        {
            "aip": aip,
            "item": aip.item,
            "rows": rows,
            "events": events,
            "can_download": has(request.user, services.DOWNLOAD),
        },
    )


@login_required
def item_aip(request: HttpRequest, pk: int) -> HttpResponse:
    """The item's current AIP page (the link from the item page)."""
    item = _item_or_404(request, pk)
    aip = dip.current_aip(item)
    if aip is None:
        raise Http404(_("该条目没有档案信息包。"))
    return redirect("preservation:aip_detail", pk=aip.pk)


def _send(path_writer, request: HttpRequest, item: Item, filename: str, content_type: str):
    tmp_dir = Path(settings.DATA_DIR) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-dl-", dir=tmp_dir)
    os.close(fd)
    path = Path(name)
    try:
        path_writer(request.user, item, path)
    except (FileNotFoundError, StorageError) as exc:
        # No file to give, or a stored copy failed its digest on the way out: say so.
        path.unlink(missing_ok=True)
        messages.error(request, str(exc))
        return redirect("holdings:item_detail", pk=item.pk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    handle = open(path, "rb")  # noqa: SIM115 — FileResponse closes it
    path.unlink()  # the open handle keeps the bytes until the response is sent
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)


@login_required
def item_dip(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_or_404(request, pk)
    name = safe_name(item.reference_code or "", f"item-{item.pk}")
    return _send(dip.write_dip, request, item, f"{name}-DIP.zip", "application/zip")


@login_required
def item_eep(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item_or_404(request, pk)
    name = safe_name(item.reference_code or "", f"item-{item.pk}")
    return _send(eep.export_eep, request, item, f"{name}-EEP.xml", "application/xml")


@login_required
def fixity_list(request: HttpRequest) -> HttpResponse:
    audits = services.audits(request.user)
    page = Paginator(audits, settings.LANTAI_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "preservation/fixity_list.html",
        {
            "page": page,
            "audits": page.object_list,
            "locations": StorageLocation.objects.filter(active=True),
        },
    )


@login_required
@require_POST
def fixity_start(request: HttpRequest) -> HttpResponse:
    params = {
        "location": request.POST.get("location", ""),
        "workers": request.POST.get("workers") or 2,
    }
    try:
        job = enqueue("preservation.fixity_audit", params, user=request.user)
    except (ValidationError, ValueError) as exc:
        messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
        return redirect("preservation:fixity_list")
    messages.success(request, _("固定性检查已开始。"))
    return redirect("jobs:detail", job.pk)


@login_required
def fixity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        audit = services.audits(request.user).get(pk=pk)
    except FixityAudit.DoesNotExist:
        raise Http404(_("固定性检查记录不存在。")) from None
    return render(request, "preservation/fixity_detail.html", {"audit": audit})
