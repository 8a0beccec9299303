"""Online archiving API 在线归档接口 (mounted at /api/v1/; see docs/ingest-api.md).

* ``POST /api/v1/sips`` — submit a SIP 归档信息包 (BagIt zip/tar, or DA/T 48 EEP XML) as the
  raw request body or as the ``file`` field of a multipart form; answers 202 with its id.
  ``?fonds=<全宗号>`` names the fonds (another unit's → 403); ``Idempotency-Key`` makes a
  re-sent SIP return the first one.
* ``GET /api/v1/sips/{id}`` — status and the four-property check report (JSON).
* ``GET /api/v1/sips/{id}/report.pdf`` — the printable 检测报告.
* ``GET /api/v1/ingest/rules`` — front-end control 前端控制: required metadata, codes, 档号
  template, accepted formats and the check rules, for a unit's system to check before sending.

Authentication: ``Authorization: Bearer <token>`` with a unit's API token (issued by the
system administrator), or a logged-in session (CSRF token on POST) of someone holding
ingest.submit_sip / ingest.view_sip.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Status
from ninja.security import HttpBearer, SessionAuth

from lantai.holdings.models import Unit
from lantai.ingest import services
from lantai.ingest.models import ApiToken, Sip


class ApiTokenAuth(HttpBearer):
    """``Authorization: Bearer lts_…``: a unit's API token 接口令牌."""

    openapi_description = "单位接口令牌（系统管理员签发）：Authorization: Bearer lts_…"

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return services.authenticate_token(token)


router = Router(tags=["在线归档"])

AUTH = [ApiTokenAuth(), SessionAuth(csrf=True)]
ERRORS = {401: dict, 403: dict, 404: dict, 413: dict, 422: dict}

_SIP_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            "归档信息包：BagIt 包（zip 或 tar）或 DA/T 48 封装包（XML），作为请求体直接发送，"
            "或作为 multipart/form-data 的 file 字段上传。"
        ),
        "content": {
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "application/x-tar": {"schema": {"type": "string", "format": "binary"}},
            "application/xml": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    },
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "幂等键：同一单位以相同的键重发时返回首次提交的结果，不会重复登记。",
            "schema": {"type": "string", "maxLength": 200},
        }
    ],
}


def _error(detail: str, errors: dict | None = None) -> dict:
    return {"detail": detail, "errors": errors or {}}


def _who(request: HttpRequest) -> tuple[ApiToken | None, object]:
    auth = request.auth
    if isinstance(auth, ApiToken):
        return auth, None
    return None, auth


def _content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _stream(request: HttpRequest):
    while True:
        chunk = request.read(services.CHUNK)
        if not chunk:
            return
        yield chunk


@router.post(
    "/sips",
    auth=AUTH,
    summary="提交归档信息包",
    response={202: dict, **ERRORS},
    openapi_extra=_SIP_BODY,
)
def submit_sip(
    request: HttpRequest,
    fonds: str | None = None,
    category: str | None = None,
    unit: str | None = None,
):
    """Receive a SIP and queue its checks; 202 with ``id`` (poll ``GET /sips/{id}``).

    ``fonds``: 全宗号 (must belong to the token's unit, else 403). ``category``: 门类代码 when
    the metadata does not name one. ``unit``: 单位代码, only for a session user (a token
    always submits for its own unit).
    """
    token, user = _who(request)
    limit = services.max_upload_bytes()
    length = _content_length(request)
    if length is not None and length > limit:
        return Status(413, _error(_("归档信息包超过 %(mb)d MB 的上限。") % {"mb": limit >> 20}))
    if token is not None:
        target = token.unit
    else:
        code = (unit or "").strip() or None
        unit_id = getattr(user, "unit_id", None)
        target = Unit.objects.filter(code=code).first() if code else None
        if target is None and code is None and unit_id:
            target = Unit.objects.filter(pk=unit_id).first()
        if target is None:
            return Status(422, _error(_("请指定单位。"), {"unit": [_("单位不存在或未指定。")]}))
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/form-data"):
        upload = request.FILES.get("file")
        if upload is None:
            return Status(422, _error(_("缺少归档信息包。"), {"file": [_("请上传 file 字段。")]}))
        source, name = upload, upload.name
    else:
        source, name = _stream(request), request.headers.get("X-Filename", "")
        if not name:
            name = {
                "application/zip": "sip.zip",
                "application/x-tar": "sip.tar",
                "application/gzip": "sip.tar.gz",
                "application/xml": "sip.xml",
                "text/xml": "sip.xml",
            }.get(content_type.split(";")[0].strip(), "sip.bin")
    try:
        sip, created = services.receive_sip(
            source,
            unit=target,
            fonds=fonds,
            category=category or "",
            token=token,
            user=user,
            idempotency_key=request.headers.get("Idempotency-Key"),
            original_name=name,
            request_id=getattr(request, "request_id", "") or "",
        )
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        status = 413 if services.is_too_large(exc) else 422
        return Status(status, _error(_("归档信息包未被接收。"), errors))
    body = services.sip_summary(sip)
    body["url"] = f"/api/v1/sips/{sip.pk}"
    body["replayed"] = not created
    return Status(202, body)


def _get(request: HttpRequest, sip_id: str) -> Sip:
    token, user = _who(request)
    if token is not None:
        return services.sip_for_token(token, sip_id)
    return services.get_sip(user, sip_id)


@router.get(
    "/sips/{sip_id}", auth=AUTH, summary="归档信息包状态与检测报告", response={200: dict, **ERRORS}
)
def get_sip(request: HttpRequest, sip_id: str):
    """Status (received, checking, storing, stored, failed, error) and the check report."""
    sip = _get(request, sip_id)
    body = services.sip_summary(sip)
    body["report_pdf"] = f"/api/v1/sips/{sip.pk}/report.pdf"
    return body


@router.get(
    "/sips/{sip_id}/report.pdf",
    auth=AUTH,
    summary="检测报告（PDF）",
    response={200: None, **ERRORS},
    openapi_extra={
        "responses": {
            "200": {
                "description": "四性检测报告",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def get_report_pdf(request: HttpRequest, sip_id: str):
    sip = _get(request, sip_id)
    if not sip.report:
        return Status(404, _error(_("该归档信息包尚无检测报告。")))
    handle = tempfile.NamedTemporaryFile(suffix=".pdf", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    try:
        services.report_pdf(sip, path)
        data = path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="report-{sip.pk}.pdf"'
    return response


@router.get("/ingest/rules", auth=AUTH, summary="前端控制规则", response={200: dict, **ERRORS})
def get_rules(request: HttpRequest):
    """Required metadata elements, codes, the 档号 template, accepted formats and the check
    rules (stage, property, code, mode), so a unit's system can check a SIP before sending."""
    from lantai.ingest import checks

    token, user = _who(request)
    if token is None:
        from lantai.core.permissions import has

        if not (has(user, services.SUBMIT) or has(user, services.VIEW)):
            raise PermissionDenied(_("您没有查看归档规则的权限。"))
    document = checks.rules_document()
    if token is not None:
        document = {
            **document,
            "unit": {"code": token.unit.code, "name": token.unit.name},
            "fonds": [{"code": f.code, "name": f.name} for f in token.unit.fonds.order_by("code")],
        }
    return document


__all__ = ["router"]
