"""A large rebuild 重建索引 builds the entries in worker processes: the index it writes is
the one a single process writes, and a failure leaves the old index whole. Real forked
workers and committed data (the workers cannot read a test's open transaction)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from lantai.holdings.models import Category, Fonds, Item, Unit
from lantai.search import services
from lantai.search.models import SearchDocument

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = ["档案", "会议", "通知", "人民政府", "工作", "兰台", "報告", "统计"]


@pytest.fixture
def items(db):
    unit = Unit.objects.create(code="PR", name="兰台区统计局", kind="agency")
    fonds = Fonds.objects.create(code="Z310", name="兰台区统计局", unit=unit)
    ws = Category.objects.get(code="WS")
    rows = [
        Item(
            fonds=fonds,
            category=ws,
            year=2000 + n % 20,
            retention="Y",
            item_no=n,
            title=f"关于{WORDS[n % len(WORDS)]}{WORDS[(n * 7) % len(WORDS)]}的第{n}号文件",
            openness="open" if n % 3 else "restricted",
            classification="public",
        )
        for n in range(1, 1201)
    ]
    Item.objects.bulk_create(rows)
    return fonds


def _snapshot() -> dict:
    """What the index answers: the matching ids of each query, for the public and in all."""
    out = {}
    for word in [*WORDS, "人民", "政府工", "档案 会议", "通知 -兰台"]:
        for who in (AnonymousUser(), None):
            result = services.search(who, word, per_page=100)
            ids = set()
            for page in range(1, result.pages + 1):
                ids |= {h.item_id for h in services.search(who, word, page=page, per_page=100).hits}
            out[(word, who is None)] = (result.total, ids)
    return out


def _index_rows() -> dict:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT item_id, vector::text FROM search_searchdocument")
            return dict(cursor.fetchall())
    with connection.cursor() as cursor:
        cursor.execute("SELECT rowid, title, meta, body FROM search_fts")
        return {row[0]: row[1:] for row in cursor.fetchall()}


def test_worker_processes_build_the_same_index_as_one_process(items, monkeypatch):
    monkeypatch.setattr(services, "BATCH", 100)  # twelve batches over the workers
    monkeypatch.setattr(services, "PARALLEL_MIN_ITEMS", 10**9)
    assert services.reindex_all() == 1200
    serial_rows, serial = _index_rows(), _snapshot()
    assert len(serial_rows) == 1200

    monkeypatch.setattr(services, "PARALLEL_MIN_ITEMS", 100)
    monkeypatch.setenv("LANTAI_SEARCH_REINDEX_WORKERS", "2")
    # Other tests of this process may have left threads behind (servers, consumers); the
    # pool itself does not care, the guard is for locks held by real application threads.
    monkeypatch.setattr(services, "_may_fork", lambda: True)
    started = []
    real = services._parallel_batches

    def spy(workers, has_texts):
        started.append(workers)
        return real(workers, has_texts)

    monkeypatch.setattr(services, "_parallel_batches", spy)
    assert services.reindex_all() == 1200
    assert started == [2]
    assert _index_rows() == serial_rows
    assert _snapshot() == serial
    assert SearchDocument.objects.count() == 1200


def test_a_threaded_process_rebuilds_in_one_process(items, monkeypatch):
    import threading

    monkeypatch.setattr(services, "PARALLEL_MIN_ITEMS", 100)
    monkeypatch.setenv("LANTAI_SEARCH_REINDEX_WORKERS", "2")
    started = []
    monkeypatch.setattr(services, "_parallel_batches", lambda *a: started.append(a))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert services.reindex_all() == 1200
    finally:
        stop.set()
        other.join()
    assert started == []
    assert SearchDocument.objects.count() == 1200


def test_a_failing_parallel_rebuild_leaves_the_old_index(items, monkeypatch):
    monkeypatch.setattr(services, "BATCH", 100)
    services.reindex_all()
    before = _snapshot()
    monkeypatch.setattr(services, "PARALLEL_MIN_ITEMS", 100)
    monkeypatch.setenv("LANTAI_SEARCH_REINDEX_WORKERS", "2")
    monkeypatch.setattr(services, "_may_fork", lambda: True)
    forked = []
    real = services._parallel_batches
    monkeypatch.setattr(services, "_parallel_batches", lambda *a: forked.append(a) or real(*a))
    backend = services.get_backend()
    calls = []
    real_write = type(backend).write

    def failing(self, rows, *, fresh=False):
        calls.append(len(rows))
        if len(calls) == 5:
            raise RuntimeError("disk full")
        return real_write(self, rows, fresh=fresh)

    monkeypatch.setattr(type(backend), "write", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        services.reindex_all()
    assert forked  # the worker processes built the batches
    monkeypatch.setattr(type(backend), "write", real_write)
    assert _snapshot() == before
    assert SearchDocument.objects.count() == 1200
