"""Staff search page 全文检索 (/search/): query box, facets as links with counts, snippets,
sort and paging; htmx swaps only the results. Permission 查看馆藏 (holdings.view_holdings);
what is found is scoped by ``visible_items`` inside ``services.search``."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from lantai.search import services

FACET_TITLES = {
    "fonds": gettext_noop("全宗"),
    "category": gettext_noop("门类"),
    "year": gettext_noop("年度"),
    "retention": gettext_noop("保管期限"),
    "openness": gettext_noop("开放状态"),
    "unit": gettext_noop("移交单位"),
}
SORT_LABELS = {
    "relevance": gettext_noop("相关度"),
    "date": gettext_noop("形成日期（早→晚）"),
    "-date": gettext_noop("形成日期（晚→早）"),
}


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )


def _query(params: dict, **changes) -> str:
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


@login_required
@permission_required(services.VIEW, raise_exception=True)
def search_page(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    sort = request.GET.get("sort", "relevance")
    filters = {name: request.GET.get(name, "") for name in services.FACETS}
    params = {"q": q, "sort": sort, **filters}
    context: dict = {
        "q": q,
        "sort": sort,
        "sorts": [(k, _(v)) for k, v in SORT_LABELS.items()],
        "error": "",
        "result": None,
        "facets": [],
        "active": [],
    }
    searched = bool(q) or any(filters.values())
    if searched:
        try:
            result = services.search(
                request.user, q, filters=filters, sort=sort, page=request.GET.get("page", 1)
            )
        except services.SearchQueryError as exc:
            context["error"] = str(exc)
        else:
            context["result"] = result
            for name in services.FACETS:
                entries = result.facets.get(name, [])
                links = [
                    {
                        "label": label,
                        "count": n,
                        "url": "?" + _query(params, **{name: value, "page": ""}),
                        "active": str(value) == str(filters.get(name)),
                    }
                    for value, label, n in entries
                ]
                context["facets"].append({"title": _(FACET_TITLES[name]), "links": links})
            context["active"] = [
                {
                    "title": _(FACET_TITLES[name]),
                    "value": value,
                    "url": "?" + _query(params, **{name: "", "page": ""}),
                }
                for name, value in filters.items()
                if value
            ]
            page = result.page
            context["start"] = (page - 1) * result.per_page + 1
            context["prev_url"] = "?" + _query(params, page=page - 1) if page > 1 else ""
            context["next_url"] = "?" + _query(params, page=page + 1) if page < result.pages else ""
    context["searched"] = searched
    template = "search/_results.html" if _is_htmx(request) else "search/search.html"
    return render(request, template, context)
