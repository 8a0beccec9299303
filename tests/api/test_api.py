"""JSON API /api/v1/: OpenAPI document, local docs, session auth + CSRF, scoping, cursor
paging, PATCH through the services with field errors in Chinese."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from openapi_spec_validator import validate

from lantai.accounts.roles import Role
from lantai.audit.models import AuditEntry
from lantai.holdings.models import Item

pytestmark = pytest.mark.django_db

API = "/api/v1"


def test_openapi_document_is_valid_and_lists_endpoints(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    paths = spec["paths"]
    for path in [
        "/api/v1/fonds",
        "/api/v1/items",
        "/api/v1/items/{item_id}",
        "/api/v1/holdings/counts",
    ]:
        assert path in paths, path
    assert "patch" in paths["/api/v1/items/{item_id}"]
    params = {p["name"] for p in paths["/api/v1/items"]["get"]["parameters"]}
    assert {"fonds", "category", "year", "code", "title", "date_from", "after", "sort"} <= params


def test_docs_page_uses_local_assets_only(client):
    response = client.get(f"{API}/docs")
    assert response.status_code == 200
    body = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in body
    assert "cdn" not in body.lower()
    assert "https://" not in body and "http://" not in body


def test_anonymous_gets_401_in_chinese(client, world):
    response = client.get(f"{API}/items")
    assert response.status_code == 401
    assert response.json()["detail"] == "请先登录。"


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.SYSADMIN, Role.PUBLIC])
def test_roles_without_view_holdings_get_403(world, role):
    client = world.client(role)
    for url in [
        f"{API}/items",
        f"{API}/fonds",
        f"{API}/holdings/counts",
        f"{API}/items/{world.items_a[0].pk}",
    ]:
        response = client.get(url)
        assert response.status_code == 403, (role, url)
        assert "权限" in response.json()["detail"]


def test_items_are_scoped_and_paged_by_cursor(world):
    client = world.client(Role.UNIT_OFFICER)
    ids: list[int] = []
    params = {"limit": 2}
    pages = 0
    while True:
        data = client.get(f"{API}/items", params).json()
        ids.extend(item["id"] for item in data["items"])
        pages += 1
        if not data["next_cursor"]:
            break
        params = {"limit": 2, "after": data["next_cursor"]}
    expected = list(
        Item.objects.filter(fonds=world.fonds_a)
        .order_by("reference_code")
        .values_list("pk", flat=True)
    )
    assert ids == expected
    assert pages == (len(expected) + 1) // 2
    assert not set(ids) & {i.pk for i in world.items_b}
    # Another unit's item: 404, like one that does not exist.
    assert client.get(f"{API}/items/{world.items_b[0].pk}").status_code == 404
    assert client.get(f"{API}/items/999999999").status_code == 404
    fonds = client.get(f"{API}/fonds").json()
    assert [f["code"] for f in fonds] == [world.fonds_a.code]
    assert [n["name"] for n in fonds[0]["names"]] == ["县人民政府办公室", "区政府办公室"]


def test_items_filters_match_the_web_list(world):
    client = world.client(Role.ARCHIVIST)
    data = client.get(f"{API}/items", {"fonds": world.fonds_a.pk, "year": 2011}).json()
    assert {i["id"] for i in data["items"]} == {i.pk for i in world.items_a if i.year == 2011}
    data = client.get(f"{API}/items", {"code": "Z102-", "sort": "-code"}).json()
    codes = [i["reference_code"] for i in data["items"]]
    assert codes == sorted((i.reference_code for i in world.items_b), reverse=True)


def test_items_bad_parameters_are_422_in_chinese(world):
    client = world.client(Role.ARCHIVIST)
    response = client.get(f"{API}/items", {"date_from": "2017-02-31"})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "请求参数不正确。"
    assert "date_from" in body["errors"]
    response = client.get(f"{API}/items", {"sort": "bogus"})
    assert response.status_code == 422 and "sort" in response.json()["errors"]
    response = client.get(f"{API}/items", {"fonds": world.fonds_b.pk + 1000})
    assert response.status_code == 422 and "fonds" in response.json()["errors"]
    response = client.get(f"{API}/items", {"after": "garbage"})
    assert response.status_code == 422 and "翻页" in response.json()["detail"]


def test_counts_in_volumes_and_items(world):
    client = world.client(Role.ARCHIVIST)
    data = client.get(f"{API}/holdings/counts").json()
    standalone = Item.objects.filter(volume__isnull=True).count()
    assert data == {
        "volumes": 1,
        "items_standalone": standalone,
        "items_in_volumes": Item.objects.filter(volume__isnull=False).count(),
        "total": standalone + 1,
    }
    officer = (
        world.client(Role.UNIT_OFFICER)
        .get(f"{API}/holdings/counts", {"fonds": world.fonds_b.pk})
        .json()
    )
    assert officer["total"] == 0


def patch(client, pk, payload, **extra):
    return client.patch(
        f"{API}/items/{pk}", data=json.dumps(payload), content_type="application/json", **extra
    )


def test_patch_updates_through_services_and_audits(world):
    client = world.client(Role.ARCHIVIST)
    item = world.items_a[0]
    response = patch(client, item.pk, {"title": "新的题名", "pages": 12})
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "新的题名"
    item.refresh_from_db()
    assert (item.title, item.pages) == ("新的题名", 12)
    entry = AuditEntry.objects.filter(object_type="holdings.item", object_id=str(item.pk)).first()
    assert entry.action == "update" and entry.actor_username == "archivist"
    assert entry.detail["title"] == ["关于召开全区档案工作会议的通知", "新的题名"]


def test_patch_field_errors_are_422_and_nothing_saved(world):
    client = world.client(Role.ARCHIVIST)
    item = world.items_a[0]
    before = (item.title, item.date, item.reference_code)
    response = patch(client, item.pk, {"title": "坏\x00题名", "date": "2017-02-31"})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert "title" in errors and "date" in errors
    assert all(
        any("\u4e00" <= ch <= "\u9fff" for ch in m) for msgs in errors.values() for m in msgs
    )
    # The parts of an assigned 档号 cannot change.
    response = patch(client, item.pk, {"year": 2015})
    assert response.status_code == 422 and "year" in response.json()["errors"]
    item.refresh_from_db()
    assert (item.title, item.date, item.reference_code) == before


def test_a_body_that_is_not_json_is_a_clear_400(world):
    client = world.client(Role.ARCHIVIST)
    item = world.items_a[0]
    response = client.patch(
        f"/api/v1/items/{item.pk}",
        data=b"{title: not json",
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "请求体不是有效的 JSON。"
    item.refresh_from_db()
    assert item.title == "关于召开全区档案工作会议的通知"


def test_patch_permissions_and_csrf(world):
    item = world.items_a[0]
    keeper = world.client(Role.KEEPER)
    assert patch(keeper, item.pk, {"title": "x"}).status_code == 403
    officer = world.client(Role.UNIT_OFFICER)
    assert patch(officer, world.items_b[0].pk, {"title": "x"}).status_code == 404

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.users[Role.ARCHIVIST])
    response = patch(strict, item.pk, {"title": "无令牌"})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    # With the token from the cookie the same request passes.
    strict.get(reverse("core:dashboard"))
    token = strict.cookies["csrftoken"].value
    response = patch(strict, item.pk, {"title": "有令牌"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    item.refresh_from_db()
    assert item.title == "有令牌"
