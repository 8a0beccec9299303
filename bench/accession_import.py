"""Benchmark: check and import a year's transfer catalog (260,000 rows) with the CLI.

    .venv/bin/python bench/accession_import.py                      # SQLite, 260,000 rows
    .venv/bin/python bench/accession_import.py --backend postgres   # PostgreSQL
    .venv/bin/python bench/accession_import.py --rows 1000000 --format csv
    .venv/bin/python bench/accession_import.py --errors 0.05        # 5% of rows wrong
    .venv/bin/python bench/accession_import.py --dry-run            # the check alone

Each run starts from an empty database (a new SQLite data dir, or the PostgreSQL database
``lantai_bench_accession`` recreated), creates the unit, fonds and series, generates the
catalog (cached under bench/out/), then times ``lantai import-catalog`` as a child process and
reads that child's peak RSS from the kernel (wait4). Results go to bench/out/*.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
PG_URL = os.environ.get(
    "LANTAI_BENCH_ACCESSION_PG", "postgres://postgres@127.0.0.1:5432/lantai_bench_accession"
)
HEADERS = ["档号", "件号", "责任者", "文号", "题名", "日期", "页数", "密级", "保管期限", "年度",
           "机构问题", "备注"]  # fmt: skip


def series_codes(rows: int) -> list[str]:
    """Series (机构) enough that no series passes the default 4-digit 件号 (30 for 260,000)."""
    return [f"K{n:03d}" for n in range(1, max(30, -(-rows // 9000)) + 1)]


TOPICS = ["档案工作检查", "年度预算编制", "安全生产检查", "干部培训", "防汛工作", "民生实事项目"]


def catalog_rows(rows: int, error_rate: float, seed: int = 7):
    """Rows of a 归档文件目录 for fonds Z109, year 2020, four series; a share of them wrong
    in the small ways real catalogs are (bad dates, a 档号 disagreeing with its row, missing
    titles, unknown codes)."""
    rng = random.Random(seed)
    series_list = series_codes(rows)
    per_series = rows // len(series_list) + 1
    n = 0
    for series in series_list:
        for number in range(1, per_series + 1):
            if n >= rows:
                return
            n += 1
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            row = [
                f"Z109-WS·2020-Y-{series}-{number:04d}",
                number,
                "兰台区人民政府办公室",
                f"兰政办〔2020〕{number}号",
                f"关于{TOPICS[number % len(TOPICS)]}的通知（第{number}号）",
                f"2020{month:02d}{day:02d}",
                rng.randint(1, 30),
                "公开",
                "永久",
                2020,
                series,
                "",
            ]
            if error_rate and rng.random() < error_rate:
                fault = rng.randrange(4)
                if fault == 0:
                    row[5] = f"2020{2:02d}30"  # 2 月 30 日
                elif fault == 1:
                    row[9] = 2019  # 年度 disagrees with the 档号
                elif fault == 2:
                    row[4] = ""  # 题名 missing
                else:
                    row[10] = "XXX"  # unknown series
            yield row


def make_catalog(rows: int, fmt: str, error_rate: float) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"catalog-v2-{rows}-{int(error_rate * 1000)}.{fmt}"
    if path.exists():
        return path
    started = time.monotonic()
    tmp = path.with_suffix(".part")
    if fmt == "csv":
        with tmp.open("w", encoding="gb18030", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADERS)
            writer.writerows(catalog_rows(rows, error_rate))
    else:
        import xlsxwriter

        workbook = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
        sheet = workbook.add_worksheet("归档文件目录")
        sheet.write_row(0, 0, HEADERS)
        for index, row in enumerate(catalog_rows(rows, error_rate), 1):
            sheet.write_row(index, 0, row)
        workbook.close()
    tmp.rename(path)
    print(f"generated {path.name} in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return path


def environment(backend: str, data: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "lantai.settings",
            "LANTAI_SECRET_KEY": "bench-secret-key-not-for-production-" + "x" * 20,
            "LANTAI_QUEUE": "immediate",
            "LANTAI_LOG_LEVEL": "WARNING",
            "LANTAI_DATA_DIR": str(data),
        }
    )
    if backend == "postgres":
        env["DATABASE_URL"] = PG_URL
    return env


def fresh(backend: str) -> Path:
    data = OUT / f"accession-{backend}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    if backend == "postgres":
        import psycopg

        url = urlparse(PG_URL)
        name = url.path.lstrip("/")
        if not name.startswith("lantai_bench"):
            raise SystemExit(f"refusing to recreate {name!r}: must start with lantai_bench")
        admin = urlunparse(url._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    return data


SETUP = """
from lantai.holdings import services
unit = services.create_unit(None, {"code": "DW001", "name": "兰台区人民政府办公室"})
fonds = services.create_fonds(None, {"code": "Z109", "name": "兰台区人民政府", "unit": unit})
for n, code in enumerate(CODES, 1):
    services.create_series(None, {"fonds": fonds, "code": code, "name": f"第{n}科"})
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int, str, float]:
    """(seconds, peak RSS in MB, exit status, output tail, CPU seconds) of one child."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # wait4 gives this child's own rusage (ru_maxrss in KB on Linux).
    out_err = []
    import threading

    def drain(stream):
        out_err.append(stream.read())

    threads = [threading.Thread(target=drain, args=(s,)) for s in (proc.stdout, proc.stderr)]
    for thread in threads:
        thread.start()
    _pid, status, usage = os.wait4(proc.pid, 0)
    for thread in threads:
        thread.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    text = b"".join(out_err).decode("utf-8", "replace")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss // 1024, proc.returncode, text[-1500:], cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=260_000)
    parser.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    parser.add_argument("--errors", type=float, default=0.0, help="share of rows with a fault")
    parser.add_argument(
        "--dry-run", action="store_true", help="check only (the web upload's check job)"
    )
    args = parser.parse_args()

    catalog = make_catalog(args.rows, args.format, args.errors)
    data = fresh(args.backend)
    env = environment(args.backend, data)
    lantai = str(BIN / "lantai")
    subprocess.run([lantai, "migrate", "-v", "0"], env=env, check=True)
    setup = f"CODES = {series_codes(args.rows)!r}\n{SETUP}"
    subprocess.run([lantai, "shell", "-c", setup], env=env, check=True)
    report = OUT / f"report-{args.rows}.xlsx"
    report.unlink(missing_ok=True)
    cmd = [lantai, "import-catalog", str(catalog), "--fonds", "Z109", "--report", str(report)]
    if args.dry_run:
        cmd.append("--dry-run")
    load_before = os.getloadavg()[0]
    seconds, rss, status, tail, cpu = timed(cmd, env)
    result = {
        "benchmark": "accession_import",
        "backend": args.backend,
        "rows": args.rows,
        "format": args.format,
        "error_rate": args.errors,
        "dry_run": args.dry_run,
        "catalog_mb": round(catalog.stat().st_size / 1e6, 1),
        "seconds": round(seconds, 1),
        # CPU time of the lantai process alone (PostgreSQL's server work not included):
        # the machine is shared, so wall time depends on what else runs.
        "cpu_seconds": round(cpu, 1),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "peak_rss_mb": rss,
        "exit_status": status,
        "report_written": report.exists(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "output": tail.strip().splitlines()[-6:],
    }
    mode = "-check" if args.dry_run else ""
    name = (
        f"accession-{args.backend}-{args.rows}-{args.format}-{int(args.errors * 1000)}{mode}.json"
    )
    (OUT / name).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
