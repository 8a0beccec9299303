"""Shared helpers for the benchmarks: where things live, fresh databases, machine facts.

The benchmarks are plain scripts (``.venv/bin/python bench/run.py``), not tests. They write
their results as JSON under ``bench/out/`` (ignored by git).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
VENV_BIN = Path(sys.executable).parent
LANTAI = str(VENV_BIN / "lantai")
#: The PostgreSQL database the benchmarks (re)create; never an application database.
PG_URL = os.environ.get("LANTAI_BENCH_PG", "postgres://postgres@127.0.0.1:5432/lantai_bench")
SECRET = "bench-secret-key-not-for-production-" + "x" * 20


def sqlite_dir(items: int) -> Path:
    return OUT / f"sqlite-{items}"


def backend_env(backend: str, items: int) -> dict[str, str]:
    """Environment for a lantai process working on the benchmark database of ``backend``."""
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "lantai.settings",
            "LANTAI_SECRET_KEY": SECRET,
            "LANTAI_QUEUE": "immediate",
            "LANTAI_LOG_LEVEL": "WARNING",
        }
    )
    if backend == "sqlite":
        env["LANTAI_DATA_DIR"] = str(sqlite_dir(items))
    else:
        env["LANTAI_DATA_DIR"] = str(OUT / f"pg-data-{items}")
        env["DATABASE_URL"] = PG_URL
        # Persistent connections (the default since 2026-11-26; runs before that set it here
        # for PostgreSQL only: with 0 every request opened a connection).
        env.setdefault("LANTAI_DB_CONN_MAX_AGE", "60")
    return env


def fresh_database(backend: str, items: int) -> None:
    """An empty database: a new SQLite data dir, or the PostgreSQL bench database recreated."""
    if backend == "sqlite":
        path = sqlite_dir(items)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return
    import psycopg

    url = urlparse(PG_URL)
    name = url.path.lstrip("/")
    if not name.startswith("lantai_bench"):
        raise SystemExit(f"refusing to recreate {name!r}: the bench database must be lantai_bench*")
    admin = urlunparse(url._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    (OUT / f"pg-data-{items}").mkdir(parents=True, exist_ok=True)


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    facts = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": _run(["nproc"]),
        "cpu": cpu,
        "memory": _run(["free", "-h"]).splitlines()[1] if _run(["free", "-h"]) else "",
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    try:
        import psycopg

        with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres") as conn:
            facts["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
    except Exception:  # a missing server only leaves the fact out
        facts["postgresql"] = "unavailable"
    return facts


def save(name: str, data: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def load(name: str) -> dict | None:
    path = OUT / f"{name}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
