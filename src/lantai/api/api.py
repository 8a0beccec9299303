"""The JSON API 接口 v1: holdings read and update over the same services as the web UI.

Authentication is the Django session (CSRF token required on unsafe methods). Scoping is
``holdings.services.visible_*``; changes go through ``holdings.services``; errors come back
as JSON ``{"detail": ..., "errors": {field: [...]}}`` with Chinese messages under zh-hans.
The docs page uses the Swagger UI files shipped inside django-ninja (``ninja`` is in
INSTALLED_APPS), never a CDN.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import NinjaAPI, Query, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import SessionAuth

from lantai import __version__
from lantai.api.schemas import (
    CountsOut,
    CountsQuery,
    ErrorOut,
    FondsOut,
    ItemOut,
    ItemPage,
    ItemPatch,
    ItemQuery,
)
from lantai.core.permissions import require
from lantai.holdings import services
from lantai.holdings.filters import ItemFilter
from lantai.holdings.models import Item
from lantai.holdings.tables import CursorError, keyset_page, parse_sort

VIEW_PERM = "holdings.view_holdings"

api = NinjaAPI(
    title="Lantai 兰台 API",
    version=f"1 ({__version__})",
    description=(
        "兰台数字档案平台接口。使用登录会话认证；修改类请求须携带 CSRF 令牌（X-CSRFToken）。"
    ),
    urls_namespace="api",
    auth=SessionAuth(csrf=True),
)

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


# --- errors -----------------------------------------------------------------------------------


def _error(request: HttpRequest, status: int, detail: str, errors: dict | None = None):
    return api.create_response(request, {"detail": detail, "errors": errors or {}}, status=status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, _("请先登录。"))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 403 and "CSRF" in exc.message:
        return _error(request, 403, _("CSRF 校验失败：请携带有效的 CSRF 令牌。"))
    if exc.status_code == 400 and exc.message.startswith("Cannot parse request body"):
        # ninja's own English text for a body that is not JSON.
        return _error(request, 400, _("请求体不是有效的 JSON。"))
    return _error(request, exc.status_code, exc.message)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, str(exc) or _("您没有执行此操作的权限。"))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, _("请求的对象不存在。"))


@api.exception_handler(ObjectDoesNotExist)
def _does_not_exist(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
    return _error(request, 404, _("请求的对象不存在。"))


@api.exception_handler(DjangoValidationError)
def _invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        errors = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    else:
        errors = {"__all__": [str(m) for m in exc.messages]}
    return _error(request, 422, _("数据校验未通过。"), errors)


# Marked for makemessages here, translated where used (in the request's language).
_PYDANTIC_MESSAGES = {
    "missing": gettext_noop("必须填写。"),
    "int_parsing": gettext_noop("应为整数。"),
    "int_type": gettext_noop("应为整数。"),
    "greater_than_equal": gettext_noop("数值过小。"),
    "less_than_equal": gettext_noop("数值过大。"),
    "date_parsing": gettext_noop("日期格式不正确，应为 YYYY-MM-DD。"),
    "date_from_datetime_parsing": gettext_noop("日期格式不正确，应为 YYYY-MM-DD。"),
    "date_type": gettext_noop("日期格式不正确，应为 YYYY-MM-DD。"),
    "literal_error": gettext_noop("取值不在允许范围内。"),
    "string_too_long": gettext_noop("内容过长。"),
    "string_type": gettext_noop("应为文本。"),
    "dict_type": gettext_noop("应为对象。"),
    "json_invalid": gettext_noop("请求体不是有效的 JSON。"),
}


@api.exception_handler(NinjaValidationError)
def _bad_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("query", "body")]
        # ninja nests a schema's fields under the parameter name ("filters", "payload").
        field = loc[-1] if loc else "__all__"
        message = _PYDANTIC_MESSAGES.get(error.get("type", ""), gettext_noop("格式不正确。"))
        errors.setdefault(field, []).append(_(message))
    return _error(request, 422, _("请求参数不正确。"), errors)


# --- serialisation ------------------------------------------------------------------------------


ITEM_RELATED = ("fonds", "category")


def item_out(item: Item) -> dict[str, Any]:
    return {
        "id": item.pk,
        "reference_code": item.reference_code,
        "title": item.title,
        "fonds_id": item.fonds_id,
        "fonds_code": item.fonds.code,
        "category_id": item.category_id,
        "category_code": item.category.code,
        "series_id": item.series_id,
        "unit_id": item.unit_id,
        "volume_id": item.volume_id,
        "catalog_no": item.catalog_no,
        "year": item.year,
        "retention": item.retention,
        "item_no": item.item_no,
        "doc_number": item.doc_number,
        "responsible": item.responsible,
        "date": item.date,
        "date_start": item.date_start,
        "date_end": item.date_end,
        "pages": item.pages,
        "classification": item.classification,
        "openness": item.openness,
        "carrier": item.carrier,
        "keywords": item.keywords,
        "notes": item.notes,
        "extra": item.extra if isinstance(item.extra, dict) else {},
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _user(request: HttpRequest):
    user = request.auth
    require(user, VIEW_PERM)
    return user


# --- endpoints --------------------------------------------------------------------------------


@api.get("/fonds", response={200: list[FondsOut], **ERRORS}, tags=["全宗"], summary="全宗列表")
def list_fonds(request: HttpRequest):
    """The fonds the user may see, with their name history (全宗名称沿革)."""
    user = _user(request)
    fonds = (
        services.visible_fonds(user)
        .select_related("unit")
        .prefetch_related("names")
        .order_by("code")
    )
    return [
        {
            "id": f.pk,
            "code": f.code,
            "name": f.name,
            "unit_id": f.unit_id,
            "unit_name": f.unit.name,
            "start_year": f.start_year,
            "end_year": f.end_year,
            "names": [
                {"name": n.name, "start_year": n.start_year, "end_year": n.end_year, "note": n.note}
                for n in f.names.all()
            ],
        }
        for f in fonds
    ]


@api.get("/items", response={200: ItemPage, **ERRORS}, tags=["条目"], summary="条目列表")
def list_items(request: HttpRequest, filters: Query[ItemQuery]):
    """Items the user may see, filtered like the web list, paged by cursor (no total count).

    Pass ``next_cursor`` back as ``after`` for the next page, ``prev_cursor`` as ``before``.
    """
    user = _user(request)
    params = filters.dict(exclude_none=True)
    data = {
        key: str(value)
        for key, value in params.items()
        if key not in {"sort", "after", "before", "limit"}
    }
    filterset = ItemFilter(data, queryset=services.visible_items(user), user=user)
    if not filterset.is_valid():
        errors = {f: [str(m) for m in msgs] for f, msgs in filterset.form.errors.items()}
        return Status(422, {"detail": _("筛选条件不正确。"), "errors": errors})
    sort = parse_sort(params["sort"])
    qs = filterset.qs.select_related(*ITEM_RELATED)
    try:
        page = keyset_page(
            qs,
            sort,
            after=params.get("after"),
            before=params.get("before"),
            size=params["limit"],
            code_prefix=filterset.code_prefix_hint(),
        )
    except CursorError as exc:
        return Status(422, {"detail": str(exc), "errors": {"after": [str(exc)]}})
    return {
        "items": [item_out(item) for item in page.rows],
        "sort": sort.value,
        "next_cursor": page.next_cursor,
        "prev_cursor": page.prev_cursor,
    }


@api.get("/items/{item_id}", response={200: ItemOut, **ERRORS}, tags=["条目"], summary="条目详情")
def get_item(request: HttpRequest, item_id: int):
    """One item; 404 when it does not exist or the user may not see it."""
    user = _user(request)
    return item_out(services.get_item(user, item_id))


@api.patch("/items/{item_id}", response={200: ItemOut, **ERRORS}, tags=["条目"], summary="修改条目")
def patch_item(request: HttpRequest, item_id: int, payload: ItemPatch):
    """Change the given fields through the holdings services (422 with field errors).

    The parts of an assigned 档号 (全宗, 门类, 年度, 保管期限, 机构(问题), 件号, 案卷) are refused.
    """
    user = _user(request)
    item = services.get_item(user, item_id)
    data = payload.dict(exclude_unset=True)
    item = services.update_item(user, item, data)
    item = Item.objects.select_related(*ITEM_RELATED).get(pk=item.pk)
    return item_out(item)


@api.get(
    "/holdings/counts",
    response={200: CountsOut, **ERRORS},
    tags=["统计"],
    summary="馆藏数量 卷(件)",
)
def holdings_counts(request: HttpRequest, filters: Query[CountsQuery]):
    """馆藏数量 in 卷(件) over what the user may see: a volume counts once, an item outside a
    volume once."""
    user = _user(request)
    items = services.visible_items(user)
    volumes = services.visible_volumes(user)
    for key, value in filters.dict(exclude_none=True).items():
        items = items.filter(**{key: value})
        volumes = volumes.filter(**{key: value})
    return services.holdings_count(items, volumes)


# 库房环境: the sensor readings batch endpoint (/api/v1/vault/readings), with its own auth.
from lantai.api.vault import router as vault_router  # noqa: E402

api.add_router("/vault", vault_router)

# 在线归档: SIP submission, status, check reports and front-end rules (/api/v1/sips, /ingest/...).
from lantai.ingest.api import router as ingest_router  # noqa: E402

api.add_router("", ingest_router)

# 全文检索: GET /api/v1/search (anonymous callers are scoped as the public, rate limited).
from lantai.search.api import router as search_router  # noqa: E402

api.add_router("", search_router)

# 跨馆出证: POST /api/v1/cross-requests and .../{number}/answer (partner archive tokens).
from lantai.livelihood.api import router as livelihood_router  # noqa: E402

api.add_router("", livelihood_router)

# 数字化: scan check and OCR reports, starting OCR (/api/v1/digitisation/...).
from lantai.digitisation.api import router as digitisation_router  # noqa: E402

api.add_router("/digitisation", digitisation_router)

# 业务指导: evaluations, inspections and rectifications, training records (/api/v1/supervision/...).
from lantai.supervision.api import router as supervision_router  # noqa: E402

api.add_router("/supervision", supervision_router)

# 宣传与编研: visit slots, bookings and check-in, online exhibitions (/api/v1/outreach/...).
from lantai.outreach.api import router as outreach_router  # noqa: E402

api.add_router("/outreach", outreach_router)

__all__ = ["api", "item_out"]
