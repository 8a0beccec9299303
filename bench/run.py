"""Run every benchmark and print one table (``make bench``).

    .venv/bin/python bench/run.py                    # 1,000,000 items, SQLite and PostgreSQL
    .venv/bin/python bench/run.py --items 100000     # quicker
    .venv/bin/python bench/run.py --backend sqlite   # one backend
    .venv/bin/python bench/run.py --report           # print the last results, run nothing

Each backend: (a) ``lantai demo`` on a fresh database (time, peak RSS), then (b) list-page
latency against what it loaded. Loads and page runs are separate processes, so one's memory
and caches do not colour the other. Results stay in bench/out/*.json; copy the table into
docs/benchmarks.md with the machine facts printed above it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

HERE = Path(__file__).resolve().parent


def step(script: str, backend: str, items: int, *extra: str) -> None:
    cmd = [sys.executable, str(HERE / script), "--backend", backend, "--items", str(items), *extra]
    print("$", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True)


def backend_available(backend: str) -> bool:
    if backend == "sqlite":
        return True
    return common.machine().get("postgresql") != "unavailable"


def report(backends: list[str], items: int) -> None:
    facts = common.machine()
    print(f"\nMachine: {facts['nproc']} CPUs ({facts['cpu']}); memory: {facts['memory']}")
    print(
        f"Python {facts['python']}, SQLite {facts['sqlite']}, "
        f"PostgreSQL {facts['postgresql']}; load average now {facts['load_average']}"
    )
    print(f"\n| measure ({items:,} items) | " + " | ".join(backends) + " |")
    print("|---|" + "---|" * len(backends))
    loads = [common.load(f"load-{b}-{items}") or {} for b in backends]
    lists = [common.load(f"list-{b}-{items}") or {} for b in backends]

    def row(label: str, values: list) -> None:
        print(f"| {label} | " + " | ".join("—" if v is None else str(v) for v in values) + " |")

    row("demo load, wall s", [x.get("seconds") for x in loads])
    row("demo load, CPU s", [x.get("cpu_seconds") for x in loads])
    row("demo load, items/s", [x.get("items_per_second") for x in loads])
    row("demo load, peak RSS MiB", [x.get("peak_rss_mib") for x in loads])
    row("database size MiB", [x.get("database_mib") for x in loads])
    kinds: list[str] = []
    for result in lists:
        for group in ("archivist", "officer"):
            for kind in result.get(group, {}):
                if kind not in kinds:
                    kinds.append(kind)
    for kind in kinds:
        group = "officer" if kind.startswith("officer: ") else "archivist"
        values = []
        for result in lists:
            s = result.get(group, {}).get(kind)
            values.append(f"{s['p50_ms']} / {s['p95_ms']}" if s else None)
        row(f"list p50 / p95 ms: {kind}", values)
    row(
        "list p50 / p95 ms: all 馆员 pages",
        [
            f"{r['overall']['archivist_p50_ms']} / {r['overall']['archivist_p95_ms']}"
            if r
            else None
            for r in lists
        ],
    )
    row(
        "list p50 / p95 ms: all 单位档案员 pages",
        [
            f"{r['overall']['officer_p50_ms']} / {r['overall']['officer_p95_ms']}" if r else None
            for r in lists
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), action="append")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--report", action="store_true", help="print saved results only")
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded databases")
    args = parser.parse_args()
    backends = args.backend or ["sqlite", "postgres"]
    if not args.report:
        for backend in backends:
            if not backend_available(backend):
                print(f"{backend}: server unavailable, skipped", flush=True)
                continue
            if not args.skip_load:
                step("load.py", backend, args.items)
            step("list_pages.py", backend, args.items, "--rounds", str(args.rounds))
    report(backends, args.items)


if __name__ == "__main__":
    main()
