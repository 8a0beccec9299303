"""Benchmark (a): time and peak RSS of ``lantai demo --items N`` on a fresh database.

    .venv/bin/python bench/load.py --backend sqlite --items 1000000
    .venv/bin/python bench/load.py --backend postgres --items 1000000

``migrate`` runs first (timed apart); the figure that counts is the ``demo`` child process:
wall time and its own peak resident set size (``wait4`` rusage of that one child).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common


def timed_child(cmd: list[str], env: dict[str, str], log) -> dict:
    """Run ``cmd``; return wall seconds, CPU seconds and peak RSS (MiB) of that process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return {
        "returncode": proc.returncode,
        "seconds": round(wall, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
    }


def run(backend: str, items: int) -> dict:
    common.fresh_database(backend, items)
    env = common.backend_env(backend, items)
    common.OUT.mkdir(parents=True, exist_ok=True)
    log_path = common.OUT / f"load-{backend}-{items}.log"
    with log_path.open("w", encoding="utf-8") as log:
        migrate = timed_child(
            [common.LANTAI, "migrate", "--no-input", "--skip-checks", "-v", "0"], env, log
        )
        if migrate["returncode"] != 0:
            raise SystemExit(f"migrate failed, see {log_path}")
        demo = timed_child(
            [common.LANTAI, "demo", "--skip-checks", "--no-users", "--items", str(items)],
            env,
            log,
        )
    if demo["returncode"] != 0:
        raise SystemExit(f"lantai demo failed, see {log_path}")
    size = None
    if backend == "sqlite":
        files = list(common.sqlite_dir(items).glob("lantai.sqlite3*"))
        size = round(sum(f.stat().st_size for f in files) / 2**20, 1)
    result = {
        "backend": backend,
        "items": items,
        "migrate_seconds": migrate["seconds"],
        "seconds": demo["seconds"],
        "cpu_seconds": demo["cpu_seconds"],
        "peak_rss_mib": demo["peak_rss_mib"],
        "items_per_second": round(items / demo["seconds"]) if demo["seconds"] else None,
        "database_mib": size,
        "machine": common.machine(),
    }
    common.save(f"load-{backend}-{items}", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--items", type=int, default=1_000_000)
    args = parser.parse_args()
    result = run(args.backend, args.items)
    print(
        f"{result['backend']}: {result['items']:,} items in {result['seconds']} s "
        f"({result['items_per_second']:,}/s), CPU {result['cpu_seconds']} s, "
        f"peak RSS {result['peak_rss_mib']} MiB"
    )


if __name__ == "__main__":
    main()
