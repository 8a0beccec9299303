"""在线归档 screens: the sysadmin's token screen, SIP list and detail scoped by unit."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from lantai.ingest import services
from lantai.ingest.models import ApiToken, Sip

from .conftest import make_bag, zip_dir


def test_sysadmin_issues_and_revokes_tokens_on_screen(client, world):
    client.force_login(world.users["sysadmin"])
    page = client.get("/ingest/tokens/")
    assert page.status_code == 200
    response = client.post("/ingest/tokens/", {"unit": world.unit_a.pk, "name": "档案系统"})
    assert response.status_code == 200
    html = response.content.decode()
    token = ApiToken.objects.get(name="档案系统")
    start = html.index('id="issued-token"')
    raw = html[start:].split("<code>")[1].split("</code>")[0]
    assert raw.startswith("lts_") and services.authenticate_token(raw).pk == token.pk
    # Shown once: the list afterwards has the prefix only.
    again = client.get("/ingest/tokens/").content.decode()
    assert raw not in again and token.key_prefix in again
    client.post("/ingest/tokens/", {"revoke": token.pk})
    assert services.authenticate_token(raw) is None
    bad = client.post("/ingest/tokens/", {"unit": world.unit_a.pk, "name": ""})
    assert bad.status_code == 422


def test_others_cannot_see_the_token_screen(client, world):
    for who in ("archivist", "officer_a", "keeper"):
        client.force_login(world.users[who])
        assert client.get("/ingest/tokens/").status_code == 403


def test_sip_list_and_detail_are_scoped(client, world, tmp_path):
    data = zip_dir(make_bag(tmp_path / "b"), tmp_path / "b.zip").read_bytes()
    client.force_login(world.users["officer_a"])
    response = client.post(
        "/ingest/sips/new/",
        {"unit": world.unit_a.pk, "file": SimpleUploadedFile("公文.zip", data)},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    sip = Sip.objects.get()
    assert sip.source == "web" and sip.submitted_by == world.users["officer_a"]
    listing = client.get("/ingest/sips/").content.decode()
    assert str(sip.pk) in listing and "公文.zip" in listing
    assert client.get(f"/ingest/sips/{sip.pk}/").status_code == 200
    client.force_login(world.users["officer_b"])
    assert "公文.zip" not in client.get("/ingest/sips/").content.decode()
    assert client.get(f"/ingest/sips/{sip.pk}/").status_code == 404
    # An officer cannot submit for another unit.
    refused = client.post(
        "/ingest/sips/new/",
        {"unit": world.unit_a.pk, "file": SimpleUploadedFile("x.zip", data)},
    )
    assert refused.status_code == 422
    client.force_login(world.users["archivist"])
    assert client.get(f"/ingest/sips/{sip.pk}/").status_code == 200
    client.force_login(world.users["keeper"])
    assert client.get("/ingest/sips/").status_code == 403
