"""档案门类 through the screens: the tree, create, edit, and refused input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lantai.holdings.models import Arrangement, Category

pytestmark = pytest.mark.django_db


def test_tree_lists_special_kinds_under_their_parent(archivist_client):
    html = archivist_client.get(reverse("holdings:category_list")).content.decode()
    # Seeded: 婚姻登记档案 (HY) sits under 专业档案 (ZY), indented.
    zy, hy, zp = html.index(">ZY<"), html.index("└ HY"), html.index(">ZP<")
    assert zy < hy < zp


def test_create_and_edit_category(archivist_client):
    zy = Category.objects.get(code="ZY")
    response = archivist_client.post(
        reverse("holdings:category_create"),
        {
            "code": "TD",
            "name": "土地档案",
            "parent": zy.pk,
            "arrangement": "volume",
            "livelihood": "on",
            "opening_years": "30",
            "sort_order": "205",
        },
    )
    assert response.status_code == 302
    land = Category.objects.get(code="TD")
    assert land.parent == zy and land.livelihood and land.opening_years == 30
    assert land.arrangement == Arrangement.VOLUME

    url = reverse("holdings:category_edit", args=[land.pk])
    response = archivist_client.post(
        url,
        {
            "code": "XX",
            "name": "土地登记档案",
            "parent": zy.pk,
            "arrangement": "volume",
            "opening_years": "25",
            "sort_order": "205",
        },
    )
    assert response.status_code == 302
    land.refresh_from_db()
    # The code stays (read-only on edit); an unticked box clears the flag.
    assert land.code == "TD" and land.name == "土地登记档案" and not land.livelihood


def test_category_errors_in_place(archivist_client):
    url = reverse("holdings:category_create")
    response = archivist_client.post(
        url, {"code": "ws1", "name": "", "opening_years": "二十五", "sort_order": "1"}
    )
    html = response.content.decode()
    assert "门类代码“ws1”应为2至3位大写字母" in html
    assert "门类名称不能为空" in html
    assert "开放期限（年）应为整数" in html
    response = archivist_client.post(url, {"code": "WS", "name": "文书"})
    assert "门类代码 WS 已存在" in response.content.decode()
    assert not Category.objects.filter(name="文书").exists()

    # A category cannot move under itself or its own descendant.
    zy, hy = Category.objects.get(code="ZY"), Category.objects.get(code="HY")
    response = archivist_client.post(
        reverse("holdings:category_edit", args=[zy.pk]),
        {
            "name": zy.name,
            "parent": hy.pk,
            "arrangement": "item",
            "opening_years": "25",
            "sort_order": "50",
        },
    )
    assert "上级门类不能是本门类或其下级门类" in response.content.decode()
    zy.refresh_from_db()
    assert zy.parent_id is None
