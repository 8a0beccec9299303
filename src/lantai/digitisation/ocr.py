"""Text recognition 文字识别 (OCR) with RapidOCR and the ONNX models inside its wheel.

Nothing is downloaded, ever: every model is passed by path (``Det/Cls/Rec.model_path``), so
RapidOCR never reaches its download code; a missing model file is a clear error instead. The
recogniser model carries its own character list (no dictionary file to fetch).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image

#: The models shipped in the rapidocr wheel (PP-OCRv6 small detector and recogniser, the
#: mobile text-direction classifier).
MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
}

_lock = threading.Lock()
_engine: Any = None


class OcrUnavailable(RuntimeError):
    """The OCR engine or its bundled models are missing."""


@dataclass(frozen=True)
class Line:
    """One recognised line: its text, confidence and box (4 corner points, image pixels)."""

    text: str
    score: float
    box: tuple[tuple[float, float], ...]


def model_dir() -> Path:
    try:
        import rapidocr
    except ImportError as exc:  # pragma: no cover - a broken install
        raise OcrUnavailable(_("未安装 OCR 引擎 rapidocr")) from exc
    return Path(rapidocr.__file__).resolve().parent / "models"


def engine_params() -> dict[str, Any]:
    """RapidOCR parameters pointing at the bundled models; raises OcrUnavailable."""
    root = model_dir()
    params: dict[str, Any] = {"Global.log_level": "warning"}
    for task, name in MODEL_FILES.items():
        path = root / name
        if not path.is_file():
            raise OcrUnavailable(_("OCR 模型文件缺失：%(path)s") % {"path": path})
        params[f"{task}.model_path"] = str(path)
    # One job uses LANTAI_OCR_THREADS cores (default: all); several workers may share a host.
    threads = int(
        os.environ.get("LANTAI_OCR_THREADS") or getattr(settings, "LANTAI_OCR_THREADS", 0) or -1
    )
    params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
    params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
    return params


def engine():
    """The process-wide RapidOCR instance (loading the models takes a moment)."""
    global _engine
    with _lock:
        if _engine is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as exc:  # pragma: no cover
                raise OcrUnavailable(_("未安装 OCR 引擎 rapidocr")) from exc
            _engine = RapidOCR(params=engine_params())
        return _engine


def recognise(image: Image.Image) -> list[Line]:
    """Lines of text on ``image``, in RapidOCR's reading order."""
    import numpy as np

    rgb = image if image.mode == "RGB" else image.convert("RGB")
    # RapidOCR takes arrays in OpenCV's BGR order.
    array = np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
    out = engine()(array)
    if out is None or getattr(out, "boxes", None) is None or out.txts is None:
        return []
    lines: list[Line] = []
    for box, text, score in zip(out.boxes, out.txts, out.scores, strict=False):
        text = (text or "").strip()
        if not text:
            continue
        corners = tuple((float(x), float(y)) for x, y in box)
        lines.append(Line(text=text, score=float(score), box=corners))
    return lines


def page_text(lines: list[Line]) -> str:
    return "\n".join(line.text for line in lines)
