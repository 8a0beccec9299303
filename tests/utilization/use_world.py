"""A small archive for the use request tests: a fonds with an open item (access copies: a PDF
and a PNG), a restricted item, two citizens and two archivists. Rows are written with the
ORM; files go through the real storage app."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from lantai.accounts.models import User
from lantai.holdings import refcode
from lantai.holdings.models import Category, Fonds, Item, Openness, Series, Unit
from lantai.storage import services as storage
from lantai.utilization import services


def pdf_bytes(text: str = "Marriage record 1998", pages: int = 1) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    for n in range(pages):
        c.drawString(72, 720, f"{text} p{n + 1}")
        c.showPage()
    c.save()
    return buffer.getvalue()


def png_bytes(size=(240, 160)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (255, 255, 255)).save(out, "PNG")
    return out.getvalue()


def make_user(username: str, role: str | None, email: str = "", real_name: str = "") -> User:
    user = User.objects.create_user(
        username=username, password=None, email=email, real_name=real_name
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_item(fonds, category, series, n: int, title: str, openness=Openness.OPEN) -> Item:
    item = Item(
        fonds=fonds,
        category=category,
        year=1998,
        retention="Y",
        series=series,
        item_no=n,
        title=title,
        openness=openness,
        unit=fonds.unit,
    )
    item.reference_code = refcode.code_for_item(item)
    item.save()
    return item


def attach(item: Item, data: bytes, filename: str, role: str = "access") -> None:
    obj = storage.put_file(io.BytesIO(data), f"test/{item.pk}/{role}/{filename}", purpose="test")
    storage.attach(item, obj, role=role, filename=filename)


@dataclass
class World:
    open_item: Item
    restricted_item: Item
    users: dict[str, User] = field(default_factory=dict)

    def client(self, name: str) -> Client:
        client = Client()
        client.force_login(self.users[name])
        return client


@pytest.fixture
def world(db) -> World:
    services.ensure_purposes()  # normally the migration did it; harmless again
    unit = Unit.objects.create(code="U001", name="区民政局", kind="agency")
    fonds = Fonds.objects.create(code="Z109", name="区民政局", unit=unit, start_year=1980)
    series = Series.objects.create(fonds=fonds, code="HYDJ", name="婚姻登记")
    ws = Category.objects.get(code="WS")
    open_item = make_item(fonds, ws, series, 1, "张三与李四结婚登记档案")
    restricted = make_item(fonds, ws, series, 2, "控制使用的收养登记", openness=Openness.RESTRICTED)
    attach(open_item, pdf_bytes(), "登记表.pdf")
    attach(open_item, png_bytes(), "照片.png")
    attach(restricted, pdf_bytes("Adoption"), "收养.pdf")
    world = World(open_item, restricted)
    world.users = {
        "citizen_a": make_user("citizen_a", "public", "a@example.org", "张三"),
        "citizen_b": make_user("citizen_b", "public", "b@example.org", "王五"),
        "archivist": make_user("archivist", "archivist", "arc@example.org", "李馆员"),
        "archivist2": make_user("archivist2", "archivist", "arc2@example.org", "赵馆员"),
        "keeper": make_user("keeper", "keeper", "keeper@example.org"),
    }
    return world
