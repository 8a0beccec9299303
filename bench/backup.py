"""Backup and restore 备份与恢复: full backup with content, incremental backup after 1,000 new
items, verified restore into an empty instance — beside a plain ``cp -a`` of the same data
directory in the same run (the floor: copying bytes, nothing checked).

    .venv/bin/python bench/backup.py [--items 200000] [--content-mb 1024] [--files 1000]

Needs the SQLite benchmark database of ``--items`` (``bench/load.py`` builds it); it is copied,
never changed. Results: bench/out/backup-<items>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import LANTAI, OUT, backend_env, machine, sqlite_dir

ADD_CONTENT = """
import io, os
from lantai.storage.services import put_file
n, size = {files}, {size}
for i in range(n):
    put_file(io.BytesIO(os.urandom(size)), f"bench/content-{{i:06d}}.bin", purpose="bench")
"""

ADD_ITEMS = """
from lantai.holdings.models import Category, Fonds, Item
import io, os
from lantai.storage.services import put_file
fonds = Fonds.objects.order_by("pk").first()
ws = Category.objects.get(code="WS")
last = Item.objects.filter(fonds=fonds, category=ws, year=2026).order_by("-item_no").first()
start = (last.item_no if last else 0) + 1
Item.objects.bulk_create([
    Item(fonds=fonds, category=ws, year=2026, retention="Y", item_no=start + i,
         title=f"基准测试新增文件{i}")
    for i in range(1000)
])
for i in range(1000):
    put_file(io.BytesIO(os.urandom(4096)), f"bench/new-{i:06d}.bin", purpose="bench")
"""


def run(env: dict, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([LANTAI, *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--content-mb", type=int, default=1024)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()

    source = sqlite_dir(args.items)
    if not (source / "lantai.sqlite3").exists():
        sys.exit(f"no benchmark database at {source}: run bench/load.py --items {args.items}")
    work = OUT / "backup-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    instance = work / "instance"
    shutil.copytree(source, instance)
    env = backend_env("sqlite", args.items)
    env["LANTAI_DATA_DIR"] = str(instance)
    env.pop("LANTAI_STORAGE_DIR", None)

    size = args.content_mb * 1024 * 1024 // args.files
    print(f"adding {args.files} objects of {size >> 10} KiB …", flush=True)
    code = ADD_CONTENT.format(files=args.files, size=size)
    subprocess.run([LANTAI, "shell", "-c", code], env=env, check=True)

    # The floor: the same bytes copied with nothing checked.
    start = time.perf_counter()
    subprocess.run(["cp", "-a", str(instance), str(work / "cp-copy")], check=True)
    subprocess.run(["sync"], check=True)
    cp_seconds = time.perf_counter() - start
    shutil.rmtree(work / "cp-copy")

    dest = work / "backups"
    full = run(env, "backup", str(dest), "--with-content", "-v0")
    subprocess.run([LANTAI, "shell", "-c", ADD_ITEMS], env=env, check=True)
    incremental = run(env, "backup", str(dest), "--with-content", "-v0")

    empty = dict(env)
    empty["LANTAI_DATA_DIR"] = str(work / "restored")
    restore = run(empty, "restore", str(dest), "-v0")

    data_bytes = sum(p.stat().st_size for p in instance.rglob("*") if p.is_file())
    result = {
        "machine": machine(),
        "items": args.items,
        "content_mb": args.content_mb,
        "files": args.files,
        "data_dir_mb": round(data_bytes / 2**20),
        "cp_a_seconds": round(cp_seconds, 1),
        "backup_full_seconds": round(full, 1),
        "backup_incremental_seconds": round(incremental, 1),
        "restore_verified_seconds": round(restore, 1),
        "full_vs_cp": round(full / cp_seconds, 2),
        "restore_vs_cp": round(restore / cp_seconds, 2),
        "load_average": os.getloadavg(),
    }
    (OUT / f"backup-{args.items}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
