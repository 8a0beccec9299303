"""Scan checks 扫描质量检测 against DA/T 31-2017 (纸质档案数字化规范), page by page.

Plain functions over a file on disk: which format it really is, each page's pixel size,
resolution (dpi), colour mode (黑白二值/灰度/彩色) and whether it is readable or blank. PDFs
are read with pikepdf: a scanned page is an image, its resolution is the image's pixel size
against the page size.

Every finding is an *issue* ``{"code", "level", "params"}``; ``message(issue)`` renders it in
the reader's language, so a stored report reads in Chinese or English alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from PIL import Image, ImageSequence, UnidentifiedImageError

from lantai.digitisation.models import CheckResult, ColourMode

logger = logging.getLogger(__name__)

# Scans are large by nature (A3 at 600 dpi is 70 megapixels); Pillow's bomb guard stays on
# above this, far beyond any real page.
Image.MAX_IMAGE_PIXELS = 400_000_000

#: Archive-wide defaults; ``settings.LANTAI_DIGITISATION`` and check profiles override them.
DEFAULTS: dict[str, Any] = {
    "min_dpi": 200,  # DA/T 31-2017: ≥ 200 dpi (300 for small or faint text, 600 facsimile)
    "allowed_modes": [ColourMode.BITONAL, ColourMode.GREY, ColourMode.COLOUR],
    "allowed_formats": ["TIFF", "JPEG", "PNG", "PDF"],
    "blank_ink_ratio": 0.002,
    "blocking": True,
}
FORMATS = ("TIFF", "JPEG", "PNG", "PDF")
EXTENSIONS = {
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".png": "PNG",
    ".pdf": "PDF",
}
EXTENSIONS_BY_FORMAT = {"TIFF": "tif", "JPEG": "jpg", "PNG": "png", "PDF": "pdf"}
MIME = {"TIFF": "image/tiff", "JPEG": "image/jpeg", "PNG": "image/png", "PDF": "application/pdf"}

#: code → (level, message). Levels: fail blocks the batch (when the profile says so).
ISSUES: dict[str, tuple[str, str]] = {
    "empty_file": (CheckResult.FAIL, N_("文件为空")),
    "unreadable": (CheckResult.FAIL, N_("文件无法读取或已损坏：%(error)s")),
    "unknown_format": (CheckResult.FAIL, N_("无法识别的文件格式（须为 TIFF、JPEG、PNG 或 PDF）")),
    "format_not_allowed": (CheckResult.FAIL, N_("格式 %(format)s 不在允许范围内（%(allowed)s）")),
    "extension_mismatch": (CheckResult.WARNING, N_("扩展名与实际格式（%(format)s）不符")),
    "encrypted": (CheckResult.FAIL, N_("PDF 已加密，无法读取")),
    "no_image": (CheckResult.FAIL, N_("PDF 页面中没有扫描图像")),
    "undecodable": (CheckResult.FAIL, N_("页面图像无法解码：%(error)s")),
    "no_dpi": (CheckResult.FAIL, N_("未记录扫描分辨率，无法核验")),
    "low_dpi": (CheckResult.FAIL, N_("分辨率 %(dpi)d dpi 低于要求的 %(min)d dpi")),
    "uneven_dpi": (CheckResult.WARNING, N_("水平与垂直分辨率不一致（%(x)d × %(y)d dpi）")),
    "mode_not_allowed": (CheckResult.FAIL, N_("色彩模式“%(mode)s”不在允许范围内")),
    "bitonal_colour": (CheckResult.FAIL, N_("含红头或印章的文件不得以黑白二值扫描")),
    "blank": (CheckResult.WARNING, N_("疑似空白页")),
}


def issue(code: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "level": str(ISSUES[code][0]), "params": params}


def message(item: dict[str, Any]) -> str:
    """The issue in the current language."""
    level_text = ISSUES.get(item.get("code", ""), (None, item.get("code", "")))[1]
    params = dict(item.get("params") or {})
    if "mode" in params:
        params["mode"] = str(ColourMode(params["mode"]).label) if params["mode"] else "—"
    try:
        return _(level_text) % params if params else _(level_text)
    except (KeyError, TypeError, ValueError):
        return _(level_text)


def result_of(issues: list[dict[str, Any]]) -> str:
    levels = {i["level"] for i in issues}
    if CheckResult.FAIL in levels:
        return CheckResult.FAIL
    if CheckResult.WARNING in levels:
        return CheckResult.WARNING
    return CheckResult.PASS


def thresholds(profile=None) -> dict[str, Any]:
    """Effective thresholds: DEFAULTS ← settings.LANTAI_DIGITISATION ← the profile row."""
    values = dict(DEFAULTS)
    values.update(getattr(settings, "LANTAI_DIGITISATION", {}) or {})
    if profile is not None:
        values["min_dpi"] = profile.min_dpi
        if profile.allowed_modes:
            values["allowed_modes"] = list(profile.allowed_modes)
        if profile.allowed_formats:
            values["allowed_formats"] = [str(f).upper() for f in profile.allowed_formats]
        values["blank_ink_ratio"] = profile.blank_ink_ratio
        values["blocking"] = profile.blocking
        values["profile"] = profile.name
    values["allowed_modes"] = [str(m) for m in values["allowed_modes"]]
    values["allowed_formats"] = [str(f).upper() for f in values["allowed_formats"]]
    return values


# --- reading pages ------------------------------------------------------------------------------


@dataclass
class Page:
    """One page as read from the file: its image (None when it cannot be decoded) and facts."""

    page_in_file: int
    image: Image.Image | None = None
    width: int | None = None
    height: int | None = None
    dpi_x: float | None = None
    dpi_y: float | None = None
    mode: str = ""
    issues: list[dict[str, Any]] = field(default_factory=list)


class UnreadableFile(Exception):
    """The file as a whole cannot be read; ``issue`` says why."""

    def __init__(self, issue_: dict[str, Any]):
        super().__init__(issue_["code"])
        self.issue = issue_


def sniff_format(path: Path) -> str:
    """The real format: TIFF, JPEG, PNG, PDF, another Pillow format name, or ""."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if not head:
        raise UnreadableFile(issue("empty_file"))
    if b"%PDF-" in head:
        return "PDF"
    try:
        with Image.open(path) as img:
            return (img.format or "").upper()
    except UnidentifiedImageError:
        return ""
    except Exception as exc:
        raise UnreadableFile(issue("unreadable", error=str(exc)[:200])) from exc


def _mode_of(image: Image.Image) -> str:
    if image.mode == "1":
        return ColourMode.BITONAL
    if image.mode in {"L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}:
        return ColourMode.GREY
    if image.mode == "P":
        colours = image.convert("RGB").getcolors(256) or []
        if all(r == g == b for _n, (r, g, b) in colours):
            neutral = {rgb for _n, rgb in colours}
            return ColourMode.BITONAL if len(neutral) <= 2 else ColourMode.GREY
        return ColourMode.COLOUR
    return ColourMode.COLOUR


def _image_dpi(image: Image.Image) -> tuple[float | None, float | None]:
    dpi = image.info.get("dpi")
    if not dpi:
        # TIFF with ResolutionUnit "none", JFIF aspect-only density: no physical resolution.
        return None, None
    try:
        x, y = (float(dpi[0]), float(dpi[1]))
    except (TypeError, ValueError, IndexError):
        return None, None
    # Pillow reports 1 (or 0) for "unit unknown"; 72 × 72 from some writers is a real claim.
    return (x if x > 1 else None), (y if y > 1 else None)


def _image_pages(path: Path) -> Iterator[Page]:
    try:
        img = Image.open(path)
    except Exception as exc:
        raise UnreadableFile(issue("unreadable", error=str(exc)[:200])) from exc
    with img:
        n = 0
        try:
            for n, frame in enumerate(ImageSequence.Iterator(img), 1):
                page = Page(page_in_file=n)
                page.dpi_x, page.dpi_y = _image_dpi(frame)
                try:
                    frame.load()
                    page.width, page.height = frame.size
                    page.mode = _mode_of(frame)
                    page.image = frame.copy()
                except Exception as exc:  # truncated or corrupt data
                    page.issues.append(issue("undecodable", error=str(exc)[:200]))
                yield page
        except Exception as exc:  # a damaged frame table (multi-page TIFF) ends the file here
            if n == 0:
                raise UnreadableFile(issue("unreadable", error=str(exc)[:200])) from exc
            yield Page(page_in_file=n + 1, issues=[issue("undecodable", error=str(exc)[:200])])


def _pdf_pages(path: Path) -> Iterator[Page]:
    import pikepdf
    from pikepdf import PdfImage

    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        raise UnreadableFile(issue("encrypted")) from exc
    except Exception as exc:
        raise UnreadableFile(issue("unreadable", error=str(exc)[:200])) from exc
    with pdf:
        for n, pdf_page in enumerate(pdf.pages, 1):
            page = Page(page_in_file=n)
            try:
                getter = getattr(pdf_page, "get_images", None)  # pikepdf ≥ 10: form XObjects too
                images = list((getter() if getter else pdf_page.images).values())
            except Exception as exc:
                page.issues.append(issue("undecodable", error=str(exc)[:200]))
                yield page
                continue
            best = None
            for raw in images:
                try:
                    candidate = PdfImage(raw)
                except Exception:  # an image pikepdf cannot describe is not the scan
                    logger.debug("page %d: unreadable image skipped", n, exc_info=True)
                    continue
                if best is None or candidate.width * candidate.height > best.width * best.height:
                    best = candidate
            if best is None:
                page.issues.append(issue("no_image"))
                yield page
                continue
            box = [float(v) for v in pdf_page.mediabox]
            page_w, page_h = abs(box[2] - box[0]) / 72, abs(box[3] - box[1]) / 72
            rotate = int(pdf_page.obj.get("/Rotate", 0)) % 180
            img_w, img_h = best.width, best.height
            if rotate or (img_w > img_h) != (page_w > page_h):
                page_w, page_h = page_h, page_w
            page.width, page.height = img_w, img_h
            if page_w > 0 and page_h > 0:
                page.dpi_x, page.dpi_y = img_w / page_w, img_h / page_h
            try:
                pil = best.as_pil_image()
                pil.load()
                page.mode = _mode_of(pil)
                # A page placed rotated (/Rotate or a landscape image on a portrait page) is
                # recognised upright as scanned; the dpi above already accounts for it.
                page.image = pil
            except Exception as exc:
                page.issues.append(issue("undecodable", error=str(exc)[:200]))
            yield page


def read_pages(path: Path, fmt: str) -> Iterator[Page]:
    """Pages of a file whose format ``sniff_format`` found; raises UnreadableFile."""
    if fmt == "PDF":
        yield from _pdf_pages(path)
    else:
        yield from _image_pages(path)


def page_dpi(page: Page) -> tuple[float, float]:
    """The dpi to lay the page out with (300 when the file records none)."""
    x = page.dpi_x or page.dpi_y or 300.0
    y = page.dpi_y or page.dpi_x or 300.0
    return x, y


# --- checking -----------------------------------------------------------------------------------


def ink_ratio(image: Image.Image) -> float:
    """Share of dark pixels on a small grey copy (a blank page has almost none)."""
    grey = image.convert("L")
    grey.thumbnail((800, 800))
    hist = grey.histogram()
    total = sum(hist) or 1
    return sum(hist[:160]) / total


def check_page(page: Page, limits: dict[str, Any], *, colour_elements: bool = False) -> None:
    """Add this page's DA/T 31 findings to ``page.issues``."""
    if page.image is None:
        return
    if page.dpi_x is None and page.dpi_y is None:
        page.issues.append(issue("no_dpi"))
    else:
        dpi = min(v for v in (page.dpi_x, page.dpi_y) if v)
        if dpi + 0.5 < limits["min_dpi"]:
            page.issues.append(issue("low_dpi", dpi=round(dpi), min=int(limits["min_dpi"])))
        if page.dpi_x and page.dpi_y and abs(page.dpi_x - page.dpi_y) > 0.02 * page.dpi_x:
            page.issues.append(issue("uneven_dpi", x=round(page.dpi_x), y=round(page.dpi_y)))
    if page.mode and page.mode not in limits["allowed_modes"]:
        page.issues.append(issue("mode_not_allowed", mode=page.mode))
    if colour_elements and page.mode == ColourMode.BITONAL:
        page.issues.append(issue("bitonal_colour"))
    if ink_ratio(page.image) < float(limits["blank_ink_ratio"]):
        page.issues.append(issue("blank"))


def file_issues(filename: str, fmt: str, limits: dict[str, Any]) -> list[dict[str, Any]]:
    """Findings about the file as a whole (format, extension)."""
    found: list[dict[str, Any]] = []
    allowed = [f.upper() for f in limits["allowed_formats"]]
    if not fmt:
        found.append(issue("unknown_format"))
        return found
    if fmt not in FORMATS or fmt not in allowed:
        found.append(issue("format_not_allowed", format=fmt, allowed="、".join(allowed)))
    declared = EXTENSIONS.get(Path(filename).suffix.lower())
    if declared is not None and declared != fmt:
        found.append(issue("extension_mismatch", format=fmt))
    return found
