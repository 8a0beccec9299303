"""A small world for the accession workflow tests: two units with a fonds each, an archivist,
a unit records officer per unit, and catalogs (good and bad) written as real CSV files.

Imported by the workflow, view, handover and statistics tests (``tests/`` is on sys.path).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from lantai.accounts.models import User
from lantai.holdings import refcode
from lantai.holdings import services as holdings
from lantai.holdings.models import Category, Fonds, Series, Unit

HEADERS = ["档号", "题名", "责任者", "文号", "日期", "页数", "保管期限", "年度", "机构问题", "件号"]
PASSWORD = "Lantai-accession-2026!"


def ref(fonds: str, year: int, number: int, retention: str = "Y", series: str = "BGS") -> str:
    return f"{fonds}-WS·{year}-{retention}-{series}-{number:04d}"


def good_rows(fonds: str = "Z109", year: int = 2011, count: int = 3, start: int = 1):
    rows = []
    for n in range(start, start + count):
        rows.append(
            [
                ref(fonds, year, n),
                f"关于{year}年第{n}项工作的通知",
                "兰台区人民政府办公室",
                f"兰政办发〔{year}〕{n}号",
                f"{year}-03-{n:02d}",
                "3",
                "永久",
                str(year),
                "BGS",
                str(n),
            ]
        )
    return rows


def bad_rows(fonds: str = "Z109", year: int = 2011):
    rows = good_rows(fonds, year, 3)
    rows[0][1] = ""  # 题名 missing
    rows[1][4] = f"{year}-02-31"  # impossible date
    rows.append(list(rows[2]))  # duplicate 档号 within the batch
    return rows


def csv_bytes(rows, *, headers=HEADERS, encoding: str = "utf-8-sig") -> bytes:
    lines = [",".join(headers)] + [",".join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def upload_file(rows, name: str = "归档文件目录.csv", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, csv_bytes(rows, **kwargs), content_type="text/csv")


@dataclass
class World:
    unit_a: Unit
    unit_b: Unit
    fonds_a: Fonds
    fonds_b: Fonds
    ws: Category
    users: dict[str, User] = field(default_factory=dict)

    def client(self, who: str) -> Client:
        client = Client()
        client.force_login(self.users[who])
        return client


def _user(username: str, role: str, unit: Unit | None = None) -> User:
    user = User.objects.create_user(
        username=username, password=PASSWORD, unit=unit, real_name=username.upper()
    )
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def wf(db, settings, tmp_path) -> World:
    settings.DATA_DIR = Path(tmp_path) / "data"
    refcode.clear_scheme_cache()
    unit_a = holdings.create_unit(None, {"code": "QZF", "name": "区政府办公室", "kind": "agency"})
    unit_b = holdings.create_unit(None, {"code": "SYZ", "name": "兰台实验中学", "kind": "school"})
    fonds_a = holdings.create_fonds(None, {"code": "Z109", "name": "区政府办公室", "unit": unit_a})
    fonds_b = holdings.create_fonds(None, {"code": "X013", "name": "兰台实验中学", "unit": unit_b})
    for fonds in (fonds_a, fonds_b):
        Series.objects.create(fonds=fonds, code="BGS", name="办公室")
    world = World(unit_a, unit_b, fonds_a, fonds_b, Category.objects.get(code="WS"))
    world.users = {
        "archivist": _user("wf_archivist", "archivist"),
        "officer_a": _user("wf_officer_a", "unit_officer", unit_a),
        "officer_b": _user("wf_officer_b", "unit_officer", unit_b),
        "keeper": _user("wf_keeper", "keeper"),
    }
    yield world
    refcode.clear_scheme_cache()


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """``with run_jobs(): ...`` runs the jobs queued inside the block (immediate queue)."""

    def runner():
        return django_capture_on_commit_callbacks(execute=True)

    return runner
