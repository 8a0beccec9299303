"""The search API (GET /api/v1/search) and the staff page (/search/): scoping per caller,
rate limit for the public, errors, permission on the page."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

URL = "/api/v1/search"


def ids(response) -> set[int]:
    return {hit["item_id"] for hit in response.json()["hits"]}


def test_anonymous_callers_see_only_open_public_items(world, client):
    response = client.get(URL, {"q": "国家", "per_page": 100})
    assert response.status_code == 200
    body = response.json()
    public = {world.items[n].pk for n in ("open", "open2", "latin", "other_open", "open_in_open")}
    assert ids(response) == public and body["total"] == len(public)
    assert sum(f["count"] for f in body["facets"]["openness"]) == len(public)
    assert {f["value"] for f in body["facets"]["openness"]} == {"open"}
    text = response.content.decode()
    for secret in ("控制使用", "秘密事项", "闭卷内", "内部国家"):
        assert secret not in text


def test_a_signed_in_archivist_sees_more(world, client):
    client.force_login(world.archivist)
    response = client.get(URL, {"q": "国家", "per_page": 100})
    assert response.json()["total"] == 9
    client.force_login(world.other_officer)
    response = client.get(URL, {"q": "国家"})
    assert ids(response) == {world.items["other_open"].pk}


def test_filters_sort_and_paging_parameters(world, client):
    client.force_login(world.archivist)
    response = client.get(URL, {"q": "国家", "fonds": "X013"})
    assert ids(response) == {world.items["other_open"].pk}
    response = client.get(URL, {"q": "国家", "year": "1990", "sort": "-date"})
    assert ids(response) == {world.items["open_in_closed"].pk, world.items["open_in_open"].pk}
    response = client.get(URL, {"q": "国家", "per_page": 2, "page": 2})
    body = response.json()
    assert body["page"] == 2 and len(body["hits"]) == 2 and body["pages"] == 5


@pytest.mark.parametrize(
    "params",
    [
        {"q": "-国家"},
        {"q": "国家", "sort": "name"},
        {"q": "国家", "year": "x"},
        {"q": "国家", "page": "x"},
    ],
)
def test_bad_parameters_are_422_with_chinese_messages(world, client, params):
    response = client.get(URL, params, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in detail)


# One token a minute: the bucket cannot refill while the test runs, however slow the machine.
@override_settings(LANTAI_SEARCH_RATE_LIMITS={"search": (1, 3)})
def test_public_search_is_rate_limited_per_address(world):
    one = Client(REMOTE_ADDR="203.0.113.7")
    other = Client(REMOTE_ADDR="203.0.113.8")
    codes = [one.get(URL, {"q": "国家"}).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    assert "频繁" in one.get(URL, {"q": "国家"}, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["detail"]
    assert other.get(URL, {"q": "国家"}).status_code == 200
    # Staff are not limited.
    staff = Client(REMOTE_ADDR="203.0.113.7")
    staff.force_login(world.archivist)
    assert all(staff.get(URL, {"q": "国家"}).status_code == 200 for _ in range(5))


def test_ratelimit_check_is_reusable(rf):
    from lantai.search import ratelimit

    with override_settings(LANTAI_SEARCH_RATE_LIMITS={"portal-search": (60, 2)}):
        request = rf.get("/", REMOTE_ADDR="198.51.100.1")
        assert [ratelimit.check(request, "portal-search") for _ in range(3)] == [True, True, False]
        assert ratelimit.retry_after("portal-search") >= 1


# --- the staff page ---------------------------------------------------------------------------


def test_page_needs_sign_in_and_view_holdings(world, client):
    response = client.get("/search/", {"q": "国家"})
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(world.citizen)
    assert client.get("/search/", {"q": "国家"}).status_code == 403


def test_page_shows_hits_facets_and_snippets(world, client):
    client.force_login(world.supervisor)
    response = client.get("/search/", {"q": "档案馆"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<mark>檔案館</mark>" in html
    assert "共 1 条结果" in html
    assert "Z109 兰台区人民政府" in html  # fonds facet link
    # Restricted items never appear for a user without view_restricted.
    response = client.get("/search/", {"q": "国家", "per_page": 100})
    html = response.content.decode()
    assert "控制使用的国家档案清单" not in html and "闭卷内的国家档案" not in html


def test_page_htmx_returns_only_the_results(world, client):
    client.force_login(world.archivist)
    response = client.get("/search/", {"q": "国家", "openness": "open"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results">')
    assert "<form" not in html


def test_page_bad_query_shows_error(world, client):
    client.force_login(world.archivist)
    response = client.get("/search/", {"q": "-国家"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "请至少输入一个" in response.content.decode()
