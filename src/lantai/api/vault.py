"""库房环境 API: the HTTP batch endpoint for sensor readings.

``POST /api/v1/vault/readings`` with a JSON body ``{"readings": [{"sensor": "K01-T1",
"ts": "2026-05-01T08:00:00+08:00", "value": 21.4}, ...]}`` (or a bare list). Authentication,
either of:

* a device token 采集令牌 (``Authorization: Bearer lt_...``), issued by a keeper on the 采集令牌
  screen or with ``lantai vault token``; a token tied to a vault accepts only that vault's
  sensors. Gateways use this: no session, no CSRF.
* a logged-in session of someone with ``vault.manage_vault`` (CSRF token required), for
  keepers posting from a script in the browser or the UI.

The answer always counts every reading by outcome (``counts``) with a sample of refusals and
their reasons; bad readings never fail the batch. A body that is not JSON at all is 400, a
batch over the size limit 413.
"""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status
from ninja.security import HttpBearer, SessionAuth

from lantai.core.permissions import require
from lantai.vault import services_env
from lantai.vault.models import DeviceToken
from lantai.vault.services_env import IngestResult, Outcome


class DeviceTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> DeviceToken | None:
        return services_env.authenticate_token(token)


router = Router(tags=["库房环境"])


@router.post(
    "/readings",
    auth=[DeviceTokenAuth(), SessionAuth(csrf=True)],
    summary="批量提交传感器读数",
    response={200: dict, 400: dict, 401: dict, 403: dict, 413: dict, 422: dict},
)
def post_readings(request: HttpRequest):
    """Store a batch of readings; every reading gets an outcome (see docs/vault-sensors.md)."""
    device = request.auth if isinstance(request.auth, DeviceToken) else None
    actor = None if device else request.auth
    if actor is not None:
        require(actor, services_env.MANAGE)
    try:
        body = request.body
    except RequestDataTooBig:
        return Status(413, {"detail": _("请求体过大，请分批提交。"), "errors": {}})
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        refused = IngestResult(received=1)
        refused.refuse(
            None,
            Outcome.MALFORMED,
            detail=_("请求体不是有效的 JSON。"),
            raw=body[:200].decode("utf-8", "replace"),
        )
        services_env.record_refusals(refused, source="http")
        return Status(400, {"detail": _("请求体不是有效的 JSON。"), **refused.as_dict()})
    readings = services_env.parse_batch(payload)
    if readings is None:
        refused = IngestResult(received=1)
        refused.refuse(
            None, Outcome.MALFORMED, detail=_("请求体应包含 readings 列表。"), raw=payload
        )
        services_env.record_refusals(refused, source="http")
        return Status(400, {"detail": _("请求体应包含 readings 列表。"), **refused.as_dict()})
    if len(readings) > services_env.MAX_BATCH:
        return Status(
            413,
            {"detail": _("一批最多 %(n)d 条读数。") % {"n": services_env.MAX_BATCH}, "errors": {}},
        )
    result = services_env.ingest(
        readings, source="http", actor=actor, vault=device.vault if device else None
    )
    return result.as_dict()
