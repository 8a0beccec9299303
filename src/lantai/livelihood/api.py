"""Cross-archive API 跨馆出证接口 (mounted at /api/v1/): how one Lantai archive forwards a
request to another and gets the answer back.

* ``POST /api/v1/cross-requests`` — a receiving archive 受理馆 forwards a request (JSON:
  number, receiving_code, receiving_name, holding_code, applicant_name, applicant_id_number,
  category_code, records_sought, purpose). 201 with our status; the same number again → 200.
* ``POST /api/v1/cross-requests/{number}/answer`` — the holding archive 协办馆 answers a
  request we forwarded (JSON: result found|not_found, note, reference_codes, certificate_pdf
  as base64).

Authentication: ``Authorization: Bearer ltp_…``, the token we issued to that partner archive
(stored hashed, see ``PartnerArchive``). The sender is the partner the token belongs to.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Status
from ninja.security import HttpBearer

from lantai.livelihood import services
from lantai.livelihood.models import CrossRequest, PartnerArchive


class PartnerAuth(HttpBearer):
    """``Authorization: Bearer ltp_…``: a partner archive's token 协作馆令牌."""

    openapi_description = "协作馆令牌：Authorization: Bearer ltp_…"

    def authenticate(self, request: HttpRequest, token: str) -> PartnerArchive | None:
        return services.authenticate_partner(token)


router = Router(tags=["跨馆出证"])
AUTH = [PartnerAuth()]
ERRORS = {401: dict, 404: dict, 409: dict, 422: dict}


def _errors(exc: ValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        errors = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    else:
        errors = {"__all__": [str(m) for m in exc.messages]}
    return {"detail": "；".join(m for v in errors.values() for m in v), "errors": errors}


def _body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


_BAD_JSON = {"detail": "请求体不是有效的 JSON 对象。", "errors": {}}
_JSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _out(req: CrossRequest) -> dict[str, Any]:
    return {
        "number": req.number,
        "status": req.status,
        "due_on": req.due_on.isoformat() if req.due_on else None,
        "holding_code": req.holding_code,
        "receiving_code": req.receiving_code,
    }


@router.post(
    "/cross-requests",
    auth=AUTH,
    response={200: dict, 201: dict, **ERRORS},
    summary="接收协办申请",
    openapi_extra=_JSON_BODY,
)
def receive_request(request: HttpRequest):
    """A partner forwards a cross-archive request to us (we are the holding archive)."""
    payload = _body(request)
    if payload is None:
        return Status(422, _BAD_JSON)
    try:
        req, created = services.receive(request.auth, payload)
    except ValidationError as exc:
        return Status(422, _errors(exc))
    return Status(201 if created else 200, _out(req))


@router.post(
    "/cross-requests/{number}/answer",
    auth=AUTH,
    response={200: dict, **ERRORS},
    summary="接收协办答复",
    openapi_extra=_JSON_BODY,
)
def receive_answer(request: HttpRequest, number: str):
    """The holding archive answers a request we forwarded to it."""
    payload = _body(request)
    if payload is None:
        return Status(422, _BAD_JSON)
    try:
        req = services.receive_answer(request.auth, number, payload)
    except CrossRequest.DoesNotExist:
        return Status(404, {"detail": "申请不存在。", "errors": {}})
    except ValidationError as exc:
        status = 409 if "__all__" in getattr(exc, "error_dict", {}) else 422
        return Status(status, _errors(exc))
    return Status(200, _out(req))
