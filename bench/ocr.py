"""Benchmark: OCR throughput 文字识别速度 on A4 pages scanned at 300 dpi.

    .venv/bin/python bench/ocr.py                    # 6 pages, 1 thread, then all cores
    .venv/bin/python bench/ocr.py --pages 20 --threads 1 2 4
    .venv/bin/python bench/ocr.py --report           # print the last results again

Real test pages: A4 (2480 × 3508 px at 300 dpi), a title in 二号 and body text in 五号
(10.5 pt) in wqy-zenhei, 1.5 line spacing, 2.5 cm margins, drawn with Pillow from a seeded
mix of common Chinese characters and punctuation (so the text is known). Each run loads the
engine with ``LANTAI_OCR_THREADS`` threads (the same code path as the job:
``lantai.digitisation.ocr.recognise``), warms it up on one page, then times every page, and
builds the searchable PDF of all pages (``lantai.digitisation.pdf``) separately. Reported:
pages per minute, pages per minute per core (÷ threads, and from CPU time: 60 ÷ CPU seconds
per page, which holds on a busy host), mean seconds per page, and the character-level
overlap of the recognised text with the drawn text. The load average before and after is
recorded: other work on the host slows OCR down directly. Results go to bench/out/ocr.json.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
DPI = 300
A4 = (2480, 3508)
COMMON = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子"
    "说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当"
    "使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你"
    "明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果"
    "料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农"
    "指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济"
    "阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示"
    "档案馆数字化扫描规范检测分辨率通知各单位请按照要求做好纸质工作"
)
PUNCT = "，。、；：“”"


def make_text(rng: random.Random, chars: int) -> str:
    out = []
    while len(out) < chars:
        run = rng.randint(6, 18)
        out.extend(rng.choice(COMMON) for _ in range(run))
        out.append(rng.choice(PUNCT[:4]))
    return "".join(out[:chars])


def render_a4(seed: int):
    """One A4 page at 300 dpi and the text drawn on it."""
    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(seed)
    img = Image.new("L", A4, 255)
    draw = ImageDraw.Draw(img)
    margin = round(2.5 / 2.54 * DPI)
    body_px = round(10.5 / 72 * DPI)  # 五号
    title_px = round(22 / 72 * DPI)  # 二号
    body = ImageFont.truetype(FONT, body_px)
    title_font = ImageFont.truetype(FONT, title_px)
    title = "关于" + make_text(rng, 12).rstrip("，。、；") + "的通知"
    tw = draw.textlength(title, font=title_font)
    draw.text(((A4[0] - tw) / 2, margin), title, font=title_font, fill=0)
    per_line = (A4[0] - 2 * margin) // body_px
    y = margin + round(title_px * 2)
    drawn = [title]
    while y + body_px < A4[1] - margin:
        line = make_text(rng, per_line)
        draw.text((margin, y), line, font=body, fill=0)
        drawn.append(line)
        y += round(body_px * 1.5)
    return img, "".join(drawn)


def overlap(expected: str, got: str) -> float:
    a = "".join(expected.split())
    b = "".join(got.split())
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / max(1, len(a))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lantai.settings")
    os.environ.setdefault("LANTAI_DATA_DIR", tempfile.mkdtemp(prefix="lantai-bench-ocr-"))
    os.environ.setdefault("LANTAI_SECRET_KEY", "bench-secret-key-not-for-production-" + "x" * 20)
    import django

    django.setup()


def run(pages: list, threads: int) -> dict:
    from lantai.digitisation import ocr
    from lantai.digitisation.pdf import SearchablePdf

    os.environ["LANTAI_OCR_THREADS"] = str(threads)
    ocr._engine = None
    started = time.perf_counter()
    ocr.engine()
    load_s = time.perf_counter() - started
    ocr.recognise(pages[0][0])  # warm-up, not counted
    load_before = os.getloadavg()
    results = []
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for img, text in pages:
        s = time.perf_counter()
        lines = ocr.recognise(img)
        results.append((time.perf_counter() - s, overlap(text, ocr.page_text(lines)), lines))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    with tempfile.TemporaryDirectory() as tmp:
        s = time.perf_counter()
        pdf = SearchablePdf(Path(tmp) / "out.pdf")
        for (img, _text), (_s, _o, lines) in zip(pages, results, strict=True):
            pdf.add_page(img, DPI, DPI, lines)
        pdf.save()
        pdf_s = time.perf_counter() - s
        pdf_mb = (Path(tmp) / "out.pdf").stat().st_size / 1e6
    per_min = len(pages) / wall * 60
    return {
        "threads": threads,
        "pages": len(pages),
        "engine_load_s": round(load_s, 2),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "s_per_page": round(wall / len(pages), 2),
        "pages_per_min": round(per_min, 1),
        "pages_per_min_per_core": round(per_min / threads, 1),
        "cpu_s_per_page": round(cpu / len(pages), 2),
        # CPU time counts every thread: on a busy host this is the fair per-core figure.
        "pages_per_min_per_core_cpu": round(60 / (cpu / len(pages)), 1),
        "overlap_min": round(min(r[1] for r in results), 4),
        "overlap_mean": round(sum(r[1] for r in results) / len(results), 4),
        "searchable_pdf_s_per_page": round(pdf_s / len(pages), 2),
        "searchable_pdf_mb_per_page": round(pdf_mb / len(pages), 2),
        "loadavg_before": [round(v, 2) for v in load_before],
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--threads", type=int, nargs="+", default=None)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    out = OUT / "ocr.json"
    if args.report:
        print(out.read_text(encoding="utf-8"))
        return
    sys.path.insert(0, str(ROOT / "src"))
    setup_django()
    cores = os.cpu_count() or 1
    threads = args.threads or sorted({1, cores})
    pages = [render_a4(seed) for seed in range(args.pages)]
    chars = sum(len(t) for _i, t in pages) // len(pages)
    runs = []
    for n in threads:
        result = run(pages, n)
        runs.append(result)
        print(json.dumps(result, ensure_ascii=False), flush=True)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu": platform.processor() or platform.machine(),
        "cores": cores,
        "page": {"size_px": A4, "dpi": DPI, "chars_per_page": chars},
        "runs": runs,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
