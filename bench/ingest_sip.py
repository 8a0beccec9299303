"""Benchmark: ingest SIPs with ``lantai ingest --inline`` (every check, AIP built and stored).

    .venv/bin/python bench/ingest_sip.py big        # 100 PDFs, 1 GB; ratio to sha256sum
    .venv/bin/python bench/ingest_sip.py many       # 10,000 small PDFs
    .venv/bin/python bench/ingest_sip.py huge       # one 4 GB PDF; peak RSS
    .venv/bin/python bench/ingest_sip.py all

Each case runs in a fresh SQLite data dir (unit QZF, fonds Z109, series BGS), with a primary
and a replica storage location (every AIP replicated). The SIP is a BagIt directory of valid
PDFs (written here, streamed: a page plus an incompressible stream of the wanted size) and a
metadata.json naming every component; it is built under bench/out/ and reused. The ingest
runs as a child process whose wall time and peak RSS come from the kernel (wait4); for the
1 GB case ``sha256sum`` over the same payload files runs just before (page cache warm for
both), and the ratio is reported. Results go to bench/out/ingest-*.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
SECRET = "bench-secret-key-not-for-production-" + "x" * 20
BLOCK = os.urandom(1024 * 1024)


# --- a valid PDF of any size, written as a stream ------------------------------------------------


def write_pdf(path: Path, size: int, salt: bytes) -> None:
    """A one-page PDF of about ``size`` bytes: the padding is a stream object the catalog
    refers to, so parsers and format identification see a well-formed file."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R/LantaiPadding 4 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>",
    ]
    pad = max(0, size - 600)
    offsets = []
    with path.open("wb") as out:
        out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        for n, body in enumerate(objects, 1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
        offsets.append(out.tell())
        out.write(b"4 0 obj\n<</Length %d>>\nstream\n" % pad)
        remaining = pad
        first = hashlib.sha256(salt).digest()
        while remaining > 0:
            chunk = (first + BLOCK)[:remaining] if remaining == pad else BLOCK[:remaining]
            out.write(chunk)
            remaining -= len(chunk)
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 5\n0000000000 65535 f \n")
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
        out.write(b"trailer\n<</Size 5/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % xref)


def make_sip(name: str, files: int, size: int) -> Path:
    """A BagIt directory with ``files`` PDFs of ``size`` bytes each, cached in bench/out/."""
    folder = OUT / f"ingest-sip-{name}"
    done = folder / ".complete"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    data = folder / "data"
    data.mkdir(parents=True)
    components = []
    manifest = []
    for n in range(1, files + 1):
        rel = f"正文{n:05d}.pdf"
        path = data / rel
        write_pdf(path, size, f"{name}-{n}".encode())
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        real = path.stat().st_size
        components.append({"name": rel, "path": rel, "size": real, "format": "PDF", "sequence": n})
        manifest.append(f"{digest.hexdigest()}  data/{rel}")
    metadata = {
        "fonds": "Z109",
        "category": "WS",
        "year": 2024,
        "retention": "Y",
        "series": "BGS",
        "title": f"性能测试文件（{files}个组件）",
        "responsible": "兰台区人民政府办公室",
        "date": "2024-03-01",
        "pages": 1,
        "classification": "public",
        "component_count": files,
        "components": components,
    }
    meta = data / "metadata.json"
    meta.write_text(json.dumps(metadata, ensure_ascii=False), "utf-8")
    manifest.append(f"{hashlib.sha256(meta.read_bytes()).hexdigest()}  data/metadata.json")
    (folder / "manifest-sha256.txt").write_text("\n".join(sorted(manifest)) + "\n", "utf-8")
    (folder / "bagit.txt").write_text(
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", "utf-8"
    )
    total = sum(c["size"] for c in components) + meta.stat().st_size
    (folder / "bag-info.txt").write_text(
        f"Source-Organization: 兰台区人民政府办公室\nPayload-Oxum: {total}.{files + 1}\n", "utf-8"
    )
    done.touch()
    return folder


# --- running ----------------------------------------------------------------------------------


def environment(data: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "lantai.settings",
            "LANTAI_SECRET_KEY": SECRET,
            "LANTAI_QUEUE": "immediate",
            "LANTAI_LOG_LEVEL": "WARNING",
            "LANTAI_DATA_DIR": str(data),
            "LANTAI_STORAGE_REPLICA_DIR": str(data / "replica"),
        }
    )
    return env


SETUP = """
from lantai.holdings import services as h
from lantai.holdings.models import Series
u = h.create_unit(None, {"code": "QZF", "name": "区政府办公室", "kind": "agency"})
f = h.create_fonds(None, {"code": "Z109", "name": "区政府办公室", "unit": u})
Series.objects.create(fonds=f, code="BGS", name="办公室")
"""


def fresh(name: str) -> tuple[Path, dict[str, str]]:
    data = OUT / f"ingest-data-{name}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    env = environment(data)
    lantai = str(BIN / "lantai")
    subprocess.run([lantai, "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([lantai, "shell", "-c", SETUP], env=env, check=True)
    return data, env


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int, str]:
    """(seconds, peak RSS in MB, exit status, output) of a child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read().decode("utf-8", "replace")
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    return seconds, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status), output


def ingest(name: str, sip: Path) -> dict:
    data, env = fresh(name)
    cmd = [str(BIN / "lantai"), "ingest", str(sip), "--unit", "QZF", "--fonds", "Z109"]
    seconds, rss, code, output = timed([*cmd, "--inline", "--json"], env)
    try:
        summary = json.loads(output[output.index("{") :])
    except ValueError:
        summary = {"output": output[-3000:]}
    result = {
        "case": name,
        "seconds": round(seconds, 2),
        "peak_rss_mb": rss,
        "exit": code,
        "status": summary.get("status"),
        "reference_code": summary.get("reference_code"),
        "failing": [
            f"{i['id']} {i['name']}: {i['detail']}"[:300]
            for i in (summary.get("report") or {}).get("items", [])
            if i.get("result") == "fail"
        ],
    }
    shutil.rmtree(data, ignore_errors=True)
    return result


def case_big() -> dict:
    sip = make_sip("big", 100, 10 * 1024 * 1024 + 512 * 1024)  # ≈ 1.0 GiB in 100 files
    files = sorted(str(p) for p in (sip / "data").glob("*.pdf"))
    total = sum(Path(f).stat().st_size for f in files)
    baseline = min(timed(["sha256sum", *files])[0] for _ in range(2))
    result = ingest("big", sip)
    result.update(
        {
            "files": len(files),
            "bytes": total,
            "sha256sum_seconds": round(baseline, 2),
            "ratio": round(result["seconds"] / baseline, 2),
        }
    )
    return result


def case_many() -> dict:
    sip = make_sip("many", 10_000, 2048)
    result = ingest("many", sip)
    result["files"] = 10_000
    return result


def case_huge() -> dict:
    sip = make_sip("huge", 1, 4 * 1024**3)
    result = ingest("huge", sip)
    result["bytes"] = (sip / "data" / "正文00001.pdf").stat().st_size
    return result


CASES = {"big": case_big, "many": case_many, "huge": case_huge}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("case", choices=[*CASES, "all"])
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for name in CASES if args.case == "all" else [args.case]:
        result = CASES[name]()
        print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
        (OUT / f"ingest-{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
