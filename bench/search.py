"""Benchmark: full-text search 全文检索 — reindex items/s, and p50/p95 of the search API with
8 concurrent clients, beside a naive LIKE scan.

    .venv/bin/python bench/load.py --backend sqlite --items 200000     # once
    .venv/bin/python bench/search.py --backend sqlite --items 200000
    .venv/bin/python bench/search.py --backend postgres --items 200000 --skip-reindex

Runs against the database ``bench/load.py`` filled. Steps: ``reindex_all`` over every item
(timed: items/s); then a query mix through Django's test client (the whole request:
middleware, the ninja API, ``search`` with count, facets and snippets; no network hop),
``--clients`` threads at once, each its own connection. Callers: anonymous (the public scope,
rate limit switched off for the run) and a 馆员 session. The mix, from words of random items'
titles (seeded): 1-character, 2-character, 4-character, a quoted phrase, two words (AND),
and 2 characters with a fonds+year facet filter. With ``--server W`` the same mix goes over
HTTP (keep-alive connections) to gunicorn with W worker processes, as deployed. The naive
scan is ``title LIKE '%q%'`` (count + first page) over ``visible_items`` for the same queries,
single client. Reported per kind: p50/p95 and the share of queries whose total was exact
(the rest matched more than ``LANTAI_SEARCH_EXACT_LIMIT`` items).
Results: ``bench/out/search-<backend>-<items>.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from list_pages import bench_user, ensure_loaded, percentile, setup

TARGETS = {"sqlite": (15.0, 50.0), "postgresql": (None, 100.0)}


def _words(n: int, seed: int) -> dict[str, list[str]]:
    """Query strings per kind, taken from random items' titles."""
    from django.db.models import Max

    from lantai.holdings.models import Item
    from lantai.search.text import normalize

    rng = random.Random(seed)
    high = Item.objects.aggregate(m=Max("pk"))["m"]
    titles: list[tuple[str, int, int]] = []
    while len(titles) < n * 3:
        row = (
            Item.objects.filter(pk__gte=rng.randint(1, high))
            .order_by("pk")
            .values_list("title", "fonds_id", "year")
            .first()
        )
        if row:
            titles.append((normalize(row[0]), row[1], row[2]))
    cjk = [("".join(ch for ch in t if "\u4e00" <= ch <= "\u9fff"), f, y) for t, f, y in titles]
    cjk = [(t, f, y) for t, f, y in cjk if len(t) >= 6]

    def piece(text: str, length: int) -> str:
        start = rng.randrange(0, len(text) - length + 1)
        return text[start : start + length]

    kinds: dict[str, list[str]] = {k: [] for k in ("1字", "2字", "4字", "短语", "两词", "2字+分面")}
    for text, fonds, year in cjk[:n]:
        kinds["1字"].append(f"q={piece(text, 1)}")
        kinds["2字"].append(f"q={piece(text, 2)}")
        kinds["4字"].append(f"q={piece(text, 4)}")
        kinds["短语"].append(f'q="{piece(text, 3)}"')
        kinds["两词"].append(f"q={piece(text, 2)} {piece(text, 2)}")
        kinds["2字+分面"].append(f"q={piece(text, 2)}&fonds={fonds}&year={year}")
    return kinds


def _reindex() -> dict:
    from lantai.core.progress import progress_line
    from lantai.search.services import reindex_all

    started = time.monotonic()
    with progress_line(desc="重建索引", unit="件") as bar:
        count = reindex_all(progress=bar)
    seconds = time.monotonic() - started
    return {"items": count, "seconds": round(seconds, 1), "items_per_s": round(count / seconds)}


def _run_clients(make_client, kinds: dict[str, list[str]], clients: int, rounds: int):
    from django.db import connection

    jobs = [(kind, q) for _ in range(rounds) for kind, qs in kinds.items() for q in qs]
    random.Random(7).shuffle(jobs)
    timings: dict[str, list[float]] = {k: [] for k in kinds}
    totals: dict[str, list[int]] = {k: [] for k in kinds}
    exact: dict[str, list[bool]] = {k: [] for k in kinds}
    lock = threading.Lock()
    cursor = iter(jobs)

    def worker() -> None:
        client = make_client()
        try:
            while True:
                with lock:
                    job = next(cursor, None)
                if job is None:
                    return
                kind, query = job
                started = time.perf_counter()
                response = client.get("/api/v1/search?" + query)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{kind} {query}: HTTP {response.status_code}")
                with lock:
                    timings[kind].append(elapsed)
                    body = response.json()
                    totals[kind].append(body["total"])
                    exact[kind].append(body.get("total_relation", "eq") == "eq")
        finally:
            connection.close()

    # Warm-up: one pass over the mix, single client, not counted.
    warm = make_client()
    for qs in kinds.values():
        for q in qs[:3]:
            warm.get("/api/v1/search?" + q)
    # The warm-up is for the page cache, not the result cache: every query starts unanswered.
    from django.core.cache import caches

    caches["search"].clear()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    out = {}
    every = []
    for kind, values in timings.items():
        every += values
        out[kind] = {
            "n": len(values),
            "p50": round(percentile(values, 0.5), 1),
            "p95": round(percentile(values, 0.95), 1),
            "median_total": int(statistics.median(totals[kind])) if totals[kind] else 0,
            "exact_share": round(sum(exact[kind]) / len(exact[kind]), 2) if exact[kind] else 0,
        }
    out["all"] = {
        "n": len(every),
        "p50": round(percentile(every, 0.5), 1),
        "p95": round(percentile(every, 0.95), 1),
        "queries_per_s": round(len(every) / wall, 1),
    }
    return out


class _HttpClient:
    """A keep-alive HTTP client with the interface ``_run_clients`` uses (``get`` returning
    something with ``status_code`` and ``json()``), for the ``--server`` mode."""

    def __init__(self, port: int, cookie: str = "") -> None:
        import http.client

        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Cookie": cookie} if cookie else {}

    def get(self, path: str):
        from urllib.parse import quote

        self.conn.request("GET", quote(path, safe='/?=&%"'), headers=self.headers)
        response = self.conn.getresponse()
        body = response.read()

        class _R:
            status_code = response.status

            @staticmethod
            def json():
                return json.loads(body)

        return _R()


def _start_server(backend: str, items: int, workers: int, port: int):
    """gunicorn over the bench database, as docs/deployment.md runs it (sync workers)."""
    import os
    import subprocess
    import urllib.request

    env = common.backend_env(backend, items)
    env["LANTAI_ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    env["LANTAI_SEARCH_RATE"] = "0"
    env["LANTAI_SEARCH_CACHE_SECONDS"] = os.environ["LANTAI_SEARCH_CACHE_SECONDS"]
    log = (common.OUT / f"search-server-{backend}-{items}.log").open("w")
    proc = subprocess.Popen(
        [
            str(common.VENV_BIN / "gunicorn"),
            "lantai.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "300",
        ],
        env=env,
        stdout=log,
        stderr=log,
        cwd=os.getcwd(),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("gunicorn did not start; see " + log.name)


def _session_cookie(user) -> str:
    """A session for ``user`` in the bench database, as the browser would send it."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _naive(kinds: dict[str, list[str]], per_kind: int) -> dict:
    from urllib.parse import parse_qs

    from django.contrib.auth.models import AnonymousUser

    from lantai.holdings.services import visible_items

    out = {}
    for kind in ("1字", "2字", "4字"):
        values = []
        for query in kinds[kind][:per_kind]:
            q = parse_qs(query)["q"][0]
            started = time.perf_counter()
            qs = visible_items(AnonymousUser()).filter(title__contains=q)
            qs.count()
            list(qs.order_by("pk").values_list("pk", "title")[:20])
            values.append((time.perf_counter() - started) * 1000)
        out[kind] = {
            "n": len(values),
            "p50": round(percentile(values, 0.5), 1),
            "p95": round(percentile(values, 0.95), 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=20, help="queries per kind")
    parser.add_argument("--skip-reindex", action="store_true")
    parser.add_argument(
        "--server",
        type=int,
        default=0,
        metavar="WORKERS",
        help="send the queries over HTTP to gunicorn with this many worker processes "
        "(as deployed) instead of Django's test client in this process",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--cache-seconds",
        type=int,
        default=300,
        help="LANTAI_SEARCH_CACHE_SECONDS for the run (0: every query is computed; with the "
        "default, a query repeated in a later round is answered from the result cache)",
    )
    args = parser.parse_args()
    import os

    os.environ["LANTAI_SEARCH_CACHE_SECONDS"] = str(args.cache_seconds)

    setup(args.backend, args.items)
    os.environ["LANTAI_SEARCH_RATE"] = "0"  # measure the search, not the courtesy limit
    from django.db import connection
    from django.test import Client

    ensure_loaded(args.backend, args.items)
    result: dict = {
        "backend": connection.vendor,
        "items": args.items,
        "clients": args.clients,
        "rounds": args.rounds,
        "result_cache_seconds": args.cache_seconds,
        "machine": common.machine() if hasattr(common, "machine") else {},
    }
    if not args.skip_reindex:
        result["reindex"] = _reindex()
        print("reindex:", result["reindex"], flush=True)
    kinds = _words(args.queries, seed=11)
    archivist = bench_user("bench_search_archivist", "archivist")

    server = None
    if args.server:
        connection.close()
        server = _start_server(args.backend, args.items, args.server, args.port)
        result["server"] = {"gunicorn_workers": args.server}
        cookie = _session_cookie(archivist)

        def anonymous():
            return _HttpClient(args.port)

        def staff():
            return _HttpClient(args.port, cookie)
    else:

        def anonymous() -> Client:
            return Client()

        def staff() -> Client:
            client = Client()
            client.force_login(archivist)
            return client

    try:
        result["public"] = _run_clients(anonymous, kinds, args.clients, args.rounds)
        print("public:", json.dumps(result["public"], ensure_ascii=False), flush=True)
        result["archivist"] = _run_clients(staff, kinds, args.clients, args.rounds)
        print("archivist:", json.dumps(result["archivist"], ensure_ascii=False), flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
    result["naive_like"] = _naive(kinds, per_kind=5)
    print("naive LIKE:", json.dumps(result["naive_like"], ensure_ascii=False), flush=True)
    common.OUT.mkdir(parents=True, exist_ok=True)
    mode = f"-server{args.server}" if args.server else ""
    mode += "" if args.cache_seconds else "-nocache"
    path = common.OUT / f"search-{args.backend}-{args.items}{mode}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print("written", path)


if __name__ == "__main__":
    main()
