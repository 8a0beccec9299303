"""The ingest API: POST /api/v1/sips (token auth, unit scope, Idempotency-Key, size limit),
GET /api/v1/sips/{id}, GET /api/v1/ingest/rules and the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lantai.ingest import services
from lantai.ingest.models import Sip, SipStatus

from .conftest import bearer, make_bag, zip_dir


@pytest.fixture
def sip_zip(tmp_path) -> Path:
    return zip_dir(make_bag(tmp_path / "bag1"), tmp_path / "bag1.zip")


def _post(client, data: bytes, token: str | None, **extra):
    headers = bearer(token) if token else {}
    query = extra.pop("query", "")
    return client.post(
        f"/api/v1/sips{query}", data=data, content_type="application/zip", **headers, **extra
    )


def test_post_raw_body_gives_202_and_spools(client, world, sip_zip):
    data = sip_zip.read_bytes()
    response = _post(client, data, world.tokens["a"], query="?fonds=Z109")
    assert response.status_code == 202, response.content
    body = response.json()
    sip = Sip.objects.get(pk=body["id"])
    assert sip.unit == world.unit_a and sip.fonds == world.fonds_a
    assert sip.status == SipStatus.RECEIVED and sip.size == len(data)
    assert sip.token is not None and sip.source == "api"
    spooled = services.ingest_root() / sip.received_path
    assert spooled.read_bytes() == data
    assert not list(spooled.parent.glob(".*.part"))  # renamed into place
    assert body["url"] == f"/api/v1/sips/{sip.pk}"


def test_post_multipart(client, world, sip_zip):
    upload = SimpleUploadedFile("公文.zip", sip_zip.read_bytes(), content_type="application/zip")
    response = client.post("/api/v1/sips", {"file": upload}, **bearer(world.tokens["a"]))
    assert response.status_code == 202, response.content
    assert Sip.objects.get(pk=response.json()["id"]).original_name == "公文.zip"


def test_idempotency_key_returns_the_first_sip(client, world, sip_zip):
    data = sip_zip.read_bytes()
    first = _post(client, data, world.tokens["a"], HTTP_IDEMPOTENCY_KEY="oa-2024-0001")
    second = _post(client, data, world.tokens["a"], HTTP_IDEMPOTENCY_KEY="oa-2024-0001")
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["replayed"] is True
    assert Sip.objects.count() == 1
    assert len(list(services.ingest_root().iterdir())) == 1  # nothing spooled twice
    # The key is per unit: another unit may use the same key.
    other = _post(client, data, world.tokens["b"], HTTP_IDEMPOTENCY_KEY="oa-2024-0001")
    assert other.json()["id"] != first.json()["id"]


def test_wrong_or_missing_token_is_401_and_stores_nothing(client, world, sip_zip):
    data = sip_zip.read_bytes()
    assert _post(client, data, None).status_code == 401
    assert _post(client, data, "lts_wrongwrongwrongwrong").status_code == 401
    revoked = services.authenticate_token(world.tokens["a"])
    services.revoke_token(world.users["sysadmin"], revoked)
    assert _post(client, data, world.tokens["a"]).status_code == 401
    assert Sip.objects.count() == 0


def test_another_units_fonds_is_403(client, world, sip_zip):
    response = _post(client, sip_zip.read_bytes(), world.tokens["a"], query="?fonds=X013")
    assert response.status_code == 403
    assert "X013" in response.json()["detail"]
    assert Sip.objects.count() == 0
    assert not services.ingest_root().exists() or not list(services.ingest_root().iterdir())


def test_oversized_upload_is_413(client, world, sip_zip, settings):
    settings.LANTAI_INGEST_MAX_BYTES = 1000
    response = _post(client, sip_zip.read_bytes(), world.tokens["a"])
    assert response.status_code == 413
    assert "上限" in response.json()["detail"]
    assert Sip.objects.count() == 0


def test_oversized_stream_without_length_is_413(world, sip_zip, settings):
    settings.LANTAI_INGEST_MAX_BYTES = 1000
    token = services.authenticate_token(world.tokens["a"])
    chunks = iter([b"x" * 600, b"y" * 600])
    with pytest.raises(Exception) as exc:
        services.receive_sip(chunks, unit=world.unit_a, token=token)
    assert services.is_too_large(exc.value)
    assert Sip.objects.count() == 0
    assert not list(services.ingest_root().iterdir())


def test_get_sip_only_for_own_unit(client, world, sip_zip):
    posted = _post(client, sip_zip.read_bytes(), world.tokens["a"]).json()
    mine = client.get(f"/api/v1/sips/{posted['id']}", **bearer(world.tokens["a"]))
    assert mine.status_code == 200
    assert mine.json()["status"] == "received"
    assert "report" in mine.json()
    theirs = client.get(f"/api/v1/sips/{posted['id']}", **bearer(world.tokens["b"]))
    assert theirs.status_code == 404
    assert client.get("/api/v1/sips/not-a-uuid", **bearer(world.tokens["a"])).status_code == 404
    # Archivists (session) see every SIP; officers their own unit's only.
    client.force_login(world.users["archivist"])
    assert client.get(f"/api/v1/sips/{posted['id']}").status_code == 200
    client.force_login(world.users["officer_b"])
    assert client.get(f"/api/v1/sips/{posted['id']}").status_code == 404


def test_session_user_submits_for_own_unit_only(client, world, sip_zip):
    client.force_login(world.users["officer_a"])
    ok = client.post(
        "/api/v1/sips",
        {"file": SimpleUploadedFile("a.zip", sip_zip.read_bytes())},
    )
    assert ok.status_code == 202, ok.content
    refused = client.post(
        "/api/v1/sips?unit=SYZ", {"file": SimpleUploadedFile("a.zip", sip_zip.read_bytes())}
    )
    assert refused.status_code == 403


def test_openapi_documents_the_ingest_endpoints(client):
    doc = client.get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    assert "post" in paths["/api/v1/sips"]
    post = paths["/api/v1/sips"]["post"]
    assert "application/zip" in post["requestBody"]["content"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "202" in post["responses"]
    assert "/api/v1/sips/{sip_id}" in paths
    assert "/api/v1/ingest/rules" in paths
    assert "/api/v1/sips/{sip_id}/report.pdf" in paths
    schemes = doc["components"]["securitySchemes"]
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
