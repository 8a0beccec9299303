"""Concurrent archivists get distinct, contiguous 件号 / 案卷号 (PostgreSQL, real threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from lantai.holdings import services
from lantai.holdings.models import Category, Fonds, Item, Series, Unit, Volume

THREADS = 8
EACH = 3


def run_concurrently(work) -> list[BaseException]:
    barrier = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            for round_no in range(EACH):
                work(index, round_no)
        except BaseException as exc:  # report every failure, not just the first
            failures.append(exc)
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return failures


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_item_numbers_are_distinct_and_contiguous(postgres_only):
    unit = Unit.objects.create(code="U1", name="单位", kind="agency")
    fonds = Fonds.objects.create(code="Z109", name="区政府", unit=unit)
    series = Series.objects.create(fonds=fonds, code="BGS", name="办公室")
    ws = Category.objects.get(code="WS")

    def work(index: int, round_no: int) -> None:
        services.create_item(
            None,
            {
                "fonds": fonds.pk,
                "category": ws.pk,
                "series": series.pk,
                "year": 2011,
                "retention": "Y",
                "title": f"线程{index}第{round_no}件",
            },
        )

    assert run_concurrently(work) == []
    numbers = sorted(Item.objects.filter(fonds=fonds).values_list("item_no", flat=True))
    assert numbers == list(range(1, THREADS * EACH + 1))
    codes = set(Item.objects.values_list("reference_code", flat=True))
    assert len(codes) == THREADS * EACH


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_volume_numbers_are_distinct_and_contiguous(postgres_only):
    unit = Unit.objects.create(code="U1", name="单位", kind="agency")
    fonds = Fonds.objects.create(code="Z109", name="区政府", unit=unit)
    kj = Category.objects.get(code="KJ")

    def work(index: int, round_no: int) -> None:
        services.create_volume(
            None,
            {
                "fonds": fonds.pk,
                "category": kj.pk,
                "year": 1990,
                "retention": "Y",
                "title": f"线程{index}第{round_no}卷",
            },
        )

    assert run_concurrently(work) == []
    numbers = sorted(Volume.objects.values_list("volume_no", flat=True))
    assert numbers == list(range(1, THREADS * EACH + 1))
