"""Benchmark (b): p50/p95 latency of the filtered holdings list (/holdings/items/).

    .venv/bin/python bench/list_pages.py --backend sqlite --items 1000000

Runs against the database ``bench/load.py`` filled, through Django's test client in this
process: the full request (middleware, session save, filter form, keyset page, template)
without a network hop. Signed in as a 馆员 (sees all) and as a 单位档案员 of 区民政局 (the
visibility filter limits the list to the unit's own fonds).

The mix: unfiltered, by fonds, fonds+category+year, openness, sort by date, next pages via the
cursor, 档号 prefix. For the slowest query of each kind the plan is recorded (EXPLAIN QUERY
PLAN on SQLite, EXPLAIN on PostgreSQL) so a miss can be traced to its cause.
"""

from __future__ import annotations

import argparse
import html
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

TARGET_P95_MS = 100.0
OFFICER_UNIT = "DW008"  # 区民政局, fonds Z008
NEXT = re.compile(r'href="\?([^"]*after=[^"]*)"[^>]*rel="next"')


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def setup(backend: str, items: int) -> None:
    os.environ.update(common.backend_env(backend, items))
    os.environ["LANTAI_ALLOWED_HOSTS"] = "testserver,localhost"
    import django

    django.setup()


def ensure_loaded(backend: str, items: int) -> None:
    from django.db.utils import OperationalError, ProgrammingError

    from lantai.holdings.models import Item

    try:
        count = Item.objects.count()
    except (OperationalError, ProgrammingError):
        count = 0
    if count < items * 0.99:
        raise SystemExit(
            f"the {backend} bench database holds {count} items, not {items}: "
            f"run bench/load.py --backend {backend} --items {items} first"
        )


def bench_user(username: str, role: str, unit_code: str | None = None):
    import secrets

    from lantai.accounts.models import User
    from lantai.accounts.services import create_user
    from lantai.holdings.models import Unit

    user = User.objects.filter(username=username).first()
    if user is None:
        unit = Unit.objects.get(code=unit_code) if unit_code else None
        password = "Bench-" + secrets.token_urlsafe(12)
        user = create_user(None, username=username, password=password, roles=[role], unit=unit)
    return user


def samples(n: int, seed: int = 1, fonds_code: str | None = None) -> list[dict]:
    """``n`` items picked by random id: their fonds, category, year and 档号 prefixes."""
    from django.db.models import Max, Min

    from lantai.holdings.models import Item

    rng = random.Random(seed)
    items = Item.objects.filter(fonds__code=fonds_code) if fonds_code else Item.objects.all()
    bounds = items.aggregate(low=Min("pk"), high=Max("pk"))
    found: list[dict] = []
    while len(found) < n:
        pk = rng.randint(bounds["low"], bounds["high"])
        row = (
            items.filter(pk__gte=pk)
            .order_by("pk")
            .values("fonds_id", "category_id", "year", "reference_code")
            .first()
        )
        if row:
            levels = row["reference_code"].split("-")
            row["prefix"] = "-".join(levels[:2])  # e.g. Z002-WS·2011
            found.append(row)
    return found


class Runner:
    def __init__(self, client, rounds: int) -> None:
        self.client = client
        self.rounds = rounds
        self.timings: dict[str, list[float]] = {}
        self.rows: dict[str, int] = {}

    def get(self, kind: str, query: str) -> str:
        started = time.perf_counter()
        response = self.client.get("/holdings/items/" + (f"?{query}" if query else ""))
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{kind}: HTTP {response.status_code} for ?{query}")
        body = response.content.decode()
        self.timings.setdefault(kind, []).append(elapsed)
        self.rows[kind] = self.rows.get(kind, 0) + body.count("<tr") - 1
        return body


def run_mix(runner: Runner, picks: list[dict], prefix_kind: str = "") -> None:
    rounds = runner.rounds
    for i in range(rounds):
        p = picks[i % len(picks)]
        runner.get(prefix_kind + "unfiltered", "")
        runner.get(prefix_kind + "fonds", urlencode({"fonds": p["fonds_id"]}))
        runner.get(
            prefix_kind + "fonds+category+year",
            urlencode({"fonds": p["fonds_id"], "category": p["category_id"], "year": p["year"]}),
        )
        runner.get(prefix_kind + "openness", urlencode({"openness": ("open", "restricted")[i % 2]}))
        runner.get(prefix_kind + "sort by date", urlencode({"sort": ("-date", "date")[i % 2]}))
        runner.get(prefix_kind + "档号 prefix", urlencode({"code": p["prefix"]}))
        # Next pages via the cursor, from the unfiltered list and from a fonds.
        for start in ("", urlencode({"fonds": p["fonds_id"], "sort": "-date"})):
            body = runner.get(prefix_kind + "first page (for next)", start)
            for _page in range(3):
                match = NEXT.search(body)
                if not match:
                    break
                body = runner.get(prefix_kind + "next page (cursor)", html.unescape(match.group(1)))


def explain(client, queries: dict[str, str]) -> dict[str, dict]:
    """For one request of each kind: its slowest query and that query's plan."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    plans = {}
    for kind, query in queries.items():
        with CaptureQueriesContext(connection) as captured:
            client.get("/holdings/items/" + (f"?{query}" if query else ""))
        listed = [q for q in captured.captured_queries if "holdings_item" in q["sql"]]
        if not listed:
            continue
        slowest = max(listed, key=lambda q: float(q["time"]))
        sql = slowest["sql"]
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        try:
            with connection.cursor() as cursor:
                cursor.execute(prefix + sql)
                plan = [" ".join(str(c) for c in row) for row in cursor.fetchall()]
        except Exception as exc:  # an unexplainable query is reported as such
            plan = [f"(EXPLAIN failed: {exc})"]
        plans[kind] = {
            "queries": len(captured.captured_queries),
            "slowest_ms": round(float(slowest["time"]) * 1000, 1),
            "sql": sql,
            "plan": plan,
        }
    return plans


def run(backend: str, items: int, rounds: int) -> dict:
    setup(backend, items)
    ensure_loaded(backend, items)
    from django.db import connection
    from django.test import Client

    picks = samples(max(rounds, 10))
    officer_picks = samples(max(rounds, 10), fonds_code="Z008")
    archivist = Client()
    archivist.force_login(bench_user("bench_archivist", "archivist"))
    officer = Client()
    officer.force_login(bench_user("bench_officer", "unit_officer", OFFICER_UNIT))

    # Warm the caches (page cache, template loader, scheme cache) before measuring.
    warm = Runner(archivist, 2)
    run_mix(warm, picks)

    staff = Runner(archivist, rounds)
    run_mix(staff, picks)
    outsider = Runner(officer, max(rounds // 2, 5))
    run_mix(outsider, officer_picks, prefix_kind="officer: ")

    def summary(runner: Runner) -> dict[str, dict]:
        out = {}
        for kind, values in runner.timings.items():
            out[kind] = {
                "n": len(values),
                "p50_ms": round(statistics.median(values), 1),
                "p95_ms": round(percentile(values, 0.95), 1),
                "max_ms": round(max(values), 1),
                "rows_per_page": round(runner.rows[kind] / len(values)),
            }
        return out

    all_staff = [v for values in staff.timings.values() for v in values]
    all_officer = [v for values in outsider.timings.values() for v in values]
    p = picks[0]
    plans = explain(
        archivist,
        {
            "unfiltered": "",
            "fonds": urlencode({"fonds": p["fonds_id"]}),
            "fonds+category+year": urlencode(
                {"fonds": p["fonds_id"], "category": p["category_id"], "year": p["year"]}
            ),
            "openness": urlencode({"openness": "open"}),
            "sort by date": urlencode({"sort": "-date"}),
            "档号 prefix": urlencode({"code": p["prefix"]}),
        },
    )
    officer_plans = explain(
        officer, {"officer: unfiltered": "", "officer: sort by date": "sort=-date"}
    )
    result = {
        "backend": backend,
        "vendor": connection.vendor,
        "items": items,
        "rounds": rounds,
        "target_p95_ms": TARGET_P95_MS,
        "archivist": summary(staff),
        "officer": summary(outsider),
        "overall": {
            "archivist_p50_ms": round(statistics.median(all_staff), 1),
            "archivist_p95_ms": round(percentile(all_staff, 0.95), 1),
            "officer_p50_ms": round(statistics.median(all_officer), 1),
            "officer_p95_ms": round(percentile(all_officer, 0.95), 1),
        },
        "plans": {**plans, **officer_plans},
        "machine": common.machine(),
    }
    common.save(f"list-{backend}-{items}", result)
    return result


def _pad(text: str, width: int) -> str:
    # CJK characters take two columns in a terminal.
    return text + " " * max(width - sum(2 if ord(ch) > 0x2E7F else 1 for ch in text), 0)


def print_result(result: dict) -> None:
    print(f"\n{result['backend']} — {result['items']:,} items, list page latency (ms)")
    print(f"{_pad('page', 34)} {'n':>4} {'p50':>8} {'p95':>8} {'max':>8}  rows")
    for group in ("archivist", "officer"):
        for kind, s in result[group].items():
            print(
                f"{_pad(kind, 34)} {s['n']:>4} {s['p50_ms']:>8} {s['p95_ms']:>8} {s['max_ms']:>8}  "
                f"{s['rows_per_page']}"
            )
    o = result["overall"]
    verdict = "meets" if o["archivist_p95_ms"] <= result["target_p95_ms"] else "MISSES"
    print(
        f"overall archivist p50 {o['archivist_p50_ms']} / p95 {o['archivist_p95_ms']} ms "
        f"({verdict} the {result['target_p95_ms']:.0f} ms target); "
        f"unit officer p50 {o['officer_p50_ms']} / p95 {o['officer_p95_ms']} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print_result(run(args.backend, args.items, args.rounds))


if __name__ == "__main__":
    main()
