"""Cache backends 缓存."""

from __future__ import annotations

import itertools

from django.core.cache.backends import filebased


class FileBasedCache(filebased.FileBasedCache):
    """Django's file cache (entries under the data directory, shared by every process of one
    machine), but making room at most once every ``CULL_EVERY`` writes of a process: Django's
    own lists every file of the cache on every write, which at its ``MAX_ENTRIES`` (20,000
    search results) costs more than the search being cached. The cache may hold up to
    ``CULL_EVERY`` entries per process more than ``MAX_ENTRIES`` in between; expired entries
    are removed as before, when read or culled."""

    def __init__(self, dir, params):
        super().__init__(dir, params)
        options = params.get("OPTIONS", {})
        self._cull_every = max(1, int(options.get("CULL_EVERY", 100)))
        self._writes = itertools.count(1)

    def _cull(self) -> None:
        if next(self._writes) % self._cull_every:
            return
        super()._cull()
