"""Check profiles 检测方案 through their page: only managers of codes edit them, bad values get
Chinese errors, one profile per 全宗/门类 scope, and a saved profile drives the next check."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from lantai.audit.models import AuditEntry
from lantai.digitisation import services
from lantai.digitisation.models import CheckProfile

from .conftest import encode, render_page

pytestmark = pytest.mark.django_db


def test_manager_saves_a_profile_that_drives_the_checks(login, archivist, item):
    client = login(archivist)
    assert client.get(reverse("digitisation:profiles")).status_code == 200
    data = {
        "name": "Z109 文书",
        "fonds": item.fonds_id,
        "category": item.category_id,
        "min_dpi": "300",
        "allowed_modes": ["grey", "colour"],
        "allowed_formats": ["TIFF", "PNG"],
        "blank_ink_ratio": "0.002",
        "blocking": "on",
        "active": "on",
    }
    response = client.post(reverse("digitisation:profiles"), data)
    assert response.status_code == 302
    profile = CheckProfile.objects.get()
    assert (profile.min_dpi, profile.allowed_formats) == (300, ["TIFF", "PNG"])
    assert AuditEntry.objects.filter(object_type="digitisation.checkprofile").exists()
    batch = services.create_batch(
        archivist,
        item,
        [("p.png", io.BytesIO(encode(render_page(dpi=240), "PNG", dpi=240)))],
        run_ocr=False,
    )
    assert {i["code"] for i in batch.pages.get().issues} == {"low_dpi"}

    # Same scope twice, and out-of-range values: Chinese errors, nothing saved.
    again = client.post(reverse("digitisation:profiles"), {**data, "min_dpi": "10"})
    body = again.content.decode()
    assert again.status_code == 400
    assert "该全宗与门类已有检测方案。" in body or "最低分辨率须在 50 到 2400 dpi 之间。" in body
    assert CheckProfile.objects.count() == 1
    edit = client.post(
        reverse("digitisation:profile_edit", args=[profile.pk]), {**data, "min_dpi": "250"}
    )
    assert edit.status_code == 302
    profile.refresh_from_db()
    assert profile.min_dpi == 250
    client.post(reverse("digitisation:profile_delete", args=[profile.pk]))
    assert not CheckProfile.objects.exists()


@pytest.mark.parametrize("who", ["keeper", "own_officer", "public_user"])
def test_others_cannot_manage_profiles(request, login, who):
    client = login(request.getfixturevalue(who))
    assert client.get(reverse("digitisation:profiles")).status_code == 403
    response = client.post(reverse("digitisation:profiles"), {"name": "x", "min_dpi": "100"})
    assert response.status_code == 403
    assert not CheckProfile.objects.exists()
