"""The file cache 文件缓存 makes room once every CULL_EVERY writes, not on every write, and
still keeps to about MAX_ENTRIES."""

from __future__ import annotations

from pathlib import Path

from lantai.core.cache import FileBasedCache


def files(path: Path) -> int:
    return sum(1 for _ in path.rglob("*.djcache"))


def test_culls_once_every_n_writes_and_stays_near_the_limit(tmp_path, monkeypatch):
    cache = FileBasedCache(
        str(tmp_path),
        {"OPTIONS": {"MAX_ENTRIES": 20, "CULL_FREQUENCY": 2, "CULL_EVERY": 10}},
    )
    listings = []
    original = cache._list_cache_files

    def counted():
        listings.append(1)
        return original()

    monkeypatch.setattr(cache, "_list_cache_files", counted)
    for n in range(100):
        cache.set(f"k{n}", n)
        # Never more than MAX_ENTRIES plus the writes between two culls.
        assert files(tmp_path) <= 20 + 10
    assert len(listings) == 10  # one listing per 10 writes, not 100
    assert cache.get("k99") == 99  # the newest entry is kept
    assert files(tmp_path) < 30


def test_every_write_culls_with_cull_every_one(tmp_path):
    cache = FileBasedCache(
        str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 5, "CULL_FREQUENCY": 5, "CULL_EVERY": 1}}
    )
    for n in range(20):
        cache.set(f"k{n}", n)
        assert files(tmp_path) <= 5
