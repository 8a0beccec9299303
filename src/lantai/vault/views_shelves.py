"""Vault screens 库房: vaults, locations, boxes, label sheets, inventories, circulation and the
entry log. The views only route: ``services_shelves`` checks permissions, validates and audits.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from lantai.core.permissions import has
from lantai.vault.models import Vault

MANAGE = "vault.manage_vault"
VIEW_ENV = "vault.view_environment"


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """库房: every vault with its limits; keepers get their tools from here."""
    if not (has(request.user, MANAGE) or has(request.user, VIEW_ENV)):
        raise PermissionDenied(_("您没有查看库房的权限。"))
    vaults = Vault.objects.all()
    return render(request, "vault/shelves/home.html", {"vaults": vaults})
