"""Digitisation services 数字化服务: upload and check scans, recognise them (OCR) and store
the results as the item's components.

* ``create_batch`` spools the uploaded files (temp name, fsync, rename), checks every page
  against DA/T 31-2017 and records the batch with its per-page results in one transaction;
  a batch with a failing page is *rejected* (检测未通过) when the check profile blocks.
* ``enqueue_ocr`` starts the ``digitisation.ocr`` job; ``process_batch`` (the job body, also
  run by ``lantai ocr``) recognises every page, builds the text and a searchable PDF, and
  stores everything in **one transaction**: the scans as master 原件 (or 利用件 when the item
  already has a master of another origin), the text as 全文, the PDF as 利用件. Components a
  previous run produced for the item are replaced in that same transaction; a failure leaves
  the item exactly as it was.

Permissions: reading needs holdings.view_holdings and the item visible to the user
(``holdings.services.visible_items``); uploading and recognising need
holdings.change_holdings as well. Writes are audited in their transaction.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.core.permissions import has, require
from lantai.digitisation import checks
from lantai.digitisation.models import (
    BatchStatus,
    CheckProfile,
    CheckResult,
    DigitisedComponent,
    ScanBatch,
    ScanFile,
    ScanPage,
)
from lantai.holdings.models import Item
from lantai.holdings.services import visible_items
from lantai.jobs.models import JobStatus
from lantai.storage import services as storage
from lantai.storage.models import Component, ComponentRole

logger = logging.getLogger(__name__)

VIEW = "holdings.view_holdings"
CHANGE = "holdings.change_holdings"
JOB_KIND = "digitisation.ocr"
#: Files in one upload at most (a batch is one item's scans).
MAX_FILES = 1000
CHUNK = 1024 * 1024

Progress = Callable[..., None]


# --- who sees what ------------------------------------------------------------------------------


def can_change(user) -> bool:
    return has(user, VIEW) and has(user, CHANGE)


def get_item(user, pk, *, change: bool = False) -> Item:
    """The item ``pk`` if ``user`` may see it (Item.DoesNotExist otherwise, never revealing
    it); PermissionDenied without the permission."""
    require(user, *((VIEW, CHANGE) if change else (VIEW,)))
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise Item.DoesNotExist from None
    return visible_items(user).select_related("fonds", "category").get(pk=key)


def get_batch(user, pk, *, change: bool = False) -> ScanBatch:
    """The batch ``pk`` if its item is visible to ``user`` (ScanBatch.DoesNotExist otherwise)."""
    require(user, *((VIEW, CHANGE) if change else (VIEW,)))
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise ScanBatch.DoesNotExist from None
    return (
        ScanBatch.objects.select_related("item", "job", "created_by")
        .filter(item__in=visible_items(user).values("pk"))
        .get(pk=key)
    )


def batches_of(item: Item) -> QuerySet[ScanBatch]:
    return item.scan_batches.select_related("job", "created_by").all()


def outputs_of(item: Item) -> QuerySet[DigitisedComponent]:
    """The components digitisation produced for ``item`` (scans, text, searchable PDF)."""
    return (
        DigitisedComponent.objects.filter(component__item=item)
        .select_related("component", "component__object", "batch")
        .order_by("component__role", "component__sequence")
    )


def get_output(user, pk) -> Component:
    """A component digitisation produced, if its item is visible to ``user``."""
    require(user, VIEW)
    try:
        key = int(pk)
    except (TypeError, ValueError):
        raise Component.DoesNotExist from None
    return (
        Component.objects.select_related("object", "item")
        .filter(digitised__isnull=False, item__in=visible_items(user).values("pk"))
        .get(pk=key)
    )


# --- thresholds ---------------------------------------------------------------------------------


def profile_for(item: Item) -> CheckProfile | None:
    """The most specific active check profile: 全宗+门类, 全宗, 门类, then archive-wide."""
    candidates = CheckProfile.objects.filter(active=True).filter(
        Q(fonds_id=item.fonds_id) | Q(fonds__isnull=True),
        Q(category_id=item.category_id) | Q(category__isnull=True),
    )
    best = None
    for profile in candidates:
        rank = (profile.fonds_id is not None) * 2 + (profile.category_id is not None)
        if best is None or rank > best[0]:
            best = (rank, profile)
    return best[1] if best else None


# --- spool --------------------------------------------------------------------------------------


def spool_root() -> Path:
    return Path(settings.DATA_DIR) / "digitisation" / "spool"


def _spool_dir(batch: ScanBatch) -> Path:
    return spool_root() / batch.spool


def _spooled(batch: ScanBatch, scan_file: ScanFile) -> Path:
    suffix = Path(scan_file.filename).suffix.lower()[:10]
    return spool_root() / batch.spool / f"{scan_file.sequence:04d}{suffix}"


def _write_spool(target: Path, source: BinaryIO) -> int:
    """Copy ``source`` to ``target``: temp name, fsync, rename (never a half-written file)."""
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=target.parent)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size


def _clean_name(name: str) -> str:
    # Browsers may send a path; only the last part names the file.
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f")
    return name[:200]


# --- upload and check ---------------------------------------------------------------------------


def create_batch(
    actor,
    item: Item,
    uploads: Iterable[tuple[str, BinaryIO]],
    *,
    colour_elements: bool = False,
    note: str = "",
    run_ocr: bool = True,
) -> ScanBatch:
    """Receive scans for ``item``, check every page, record the batch; start OCR if it passed.

    ``uploads`` are (file name, readable binary file). Raises ValidationError for an empty or
    oversized upload, PermissionDenied without holdings.change_holdings.
    """
    require(actor, VIEW, CHANGE)
    if actor is not None and not visible_items(actor).filter(pk=item.pk).exists():
        raise PermissionDenied(_("您无权处理该件档案。"))
    uploads = list(uploads)
    if not uploads:
        raise ValidationError({"files": [_("请选择要上传的扫描文件。")]})
    if len(uploads) > MAX_FILES:
        raise ValidationError({"files": [_("一次最多上传 %(n)d 个文件。") % {"n": MAX_FILES}]})
    names = [_clean_name(name) for name, _fh in uploads]
    if any(not name for name in names):
        raise ValidationError({"files": [_("文件名不能为空。")]})
    note = (note or "").strip()
    if len(note) > 300:
        raise ValidationError({"note": [_("备注最多 300 个字符。")]})

    profile = profile_for(item)
    limits = checks.thresholds(profile)
    token = uuid.uuid4().hex
    spool = spool_root() / token
    spool.mkdir(parents=True, exist_ok=True)
    try:
        files: list[dict[str, Any]] = []
        for n, ((_name, fh), name) in enumerate(zip(uploads, names, strict=True), 1):
            target = spool / f"{n:04d}{Path(name).suffix.lower()[:10]}"
            size = _write_spool(target, fh)
            files.append(
                {
                    "sequence": n,
                    "filename": name,
                    "size": size,
                    **_analyse(target, name, limits, colour_elements=colour_elements),
                }
            )
        with transaction.atomic():
            batch = _record_batch(actor, item, files, limits, token, colour_elements, note)
            if run_ocr and batch.status == BatchStatus.CHECKED:
                enqueue_ocr(actor, batch)
    except BaseException:
        shutil.rmtree(spool, ignore_errors=True)
        raise
    return batch


def _analyse(
    path: Path, filename: str, limits: dict[str, Any], *, colour_elements: bool
) -> dict[str, Any]:
    """Format and pages of one spooled file, each page with its issues (images dropped)."""
    try:
        fmt = checks.sniff_format(path)
    except checks.UnreadableFile as exc:
        return {
            "format": "",
            "readable": False,
            "pages": [{"page_in_file": 1, "issues": [exc.issue]}],
        }
    file_level = checks.file_issues(filename, fmt, limits)
    if not fmt:
        return {
            "format": "",
            "readable": False,
            "pages": [{"page_in_file": 1, "issues": file_level}],
        }
    pages: list[dict[str, Any]] = []
    try:
        for page in checks.read_pages(path, fmt):
            checks.check_page(page, limits, colour_elements=colour_elements)
            pages.append(
                {
                    "page_in_file": page.page_in_file,
                    "width": page.width,
                    "height": page.height,
                    "dpi_x": page.dpi_x,
                    "dpi_y": page.dpi_y,
                    "mode": page.mode,
                    "issues": file_level + page.issues,
                }
            )
            page.image = None  # one page image in memory at a time
    except checks.UnreadableFile as exc:
        return {
            "format": fmt,
            "readable": False,
            "pages": [{"page_in_file": 1, "issues": [exc.issue]}],
        }
    if not pages:
        pages.append({"page_in_file": 1, "issues": [*file_level, checks.issue("no_image")]})
    readable = any(
        not any(i["code"] in {"undecodable", "no_image"} for i in p["issues"]) for p in pages
    )
    return {"format": fmt, "readable": readable, "pages": pages}


def _record_batch(actor, item, files, limits, token, colour_elements, note) -> ScanBatch:
    batch = ScanBatch.objects.create(
        item=item,
        colour_elements=colour_elements,
        note=note,
        thresholds=limits,
        spool=token,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    counts = {CheckResult.PASS: 0, CheckResult.WARNING: 0, CheckResult.FAIL: 0}
    number = 0
    pages: list[ScanPage] = []
    for entry in files:
        scan_file = ScanFile.objects.create(
            batch=batch,
            sequence=entry["sequence"],
            filename=entry["filename"],
            format=entry["format"],
            size=entry["size"],
            readable=entry["readable"],
        )
        for page in entry["pages"]:
            number += 1
            result = checks.result_of(page["issues"])
            counts[result] += 1
            pages.append(
                ScanPage(
                    batch=batch,
                    file=scan_file,
                    number=number,
                    page_in_file=page["page_in_file"],
                    width=page.get("width"),
                    height=page.get("height"),
                    dpi_x=page.get("dpi_x"),
                    dpi_y=page.get("dpi_y"),
                    mode=page.get("mode") or "",
                    result=result,
                    issues=page["issues"],
                )
            )
    ScanPage.objects.bulk_create(pages)
    batch.page_count = number
    batch.passed = counts[CheckResult.PASS]
    batch.warnings = counts[CheckResult.WARNING]
    batch.failed = counts[CheckResult.FAIL]
    ocr_ready = any(f["readable"] for f in files)
    if (batch.failed and limits.get("blocking", True)) or not ocr_ready:
        batch.status = BatchStatus.REJECTED
        batch.message = _("%(n)d 页检测不通过，请重新扫描后上传。") % {"n": batch.failed}
    else:
        batch.status = BatchStatus.CHECKED
        batch.message = _("检测通过，共 %(n)d 页。") % {"n": number}
    batch.save()
    record(
        AuditAction.CREATE,
        actor=actor,
        obj=batch,
        detail={
            "event": "digitisation.upload",
            "item": item.pk,
            "files": [f["filename"] for f in files],
            "pages": number,
            "failed": batch.failed,
            "warnings": batch.warnings,
            "status": batch.status,
        },
    )
    return batch


# --- OCR ----------------------------------------------------------------------------------------


def _busy(batch: ScanBatch) -> bool:
    if batch.status not in (BatchStatus.QUEUED, BatchStatus.PROCESSING):
        return False
    return batch.job is None or batch.job.status in (JobStatus.QUEUED, JobStatus.RUNNING)


def enqueue_ocr(actor, batch: ScanBatch):
    """Start recognising ``batch`` in the background; returns the Job."""
    from lantai.jobs.services import enqueue

    require(actor, VIEW, CHANGE)
    if actor is not None and not visible_items(actor).filter(pk=batch.item_id).exists():
        raise PermissionDenied(_("您无权处理该件档案。"))
    with transaction.atomic():
        batch = (
            ScanBatch.objects.select_for_update(of=("self",)).select_related("job").get(pk=batch.pk)
        )
        if batch.status == BatchStatus.REJECTED:
            raise ValidationError({"batch": [_("检测未通过的批次不能识别，请重新扫描后上传。")]})
        if _busy(batch):
            raise ValidationError({"batch": [_("该批次已在识别中。")]})
        job = enqueue(JOB_KIND, {"batch": batch.pk}, user=actor)
        batch.job = job
        batch.status = BatchStatus.QUEUED
        batch.message = _("排队等待识别")
        batch.save(update_fields=["job", "status", "message"])
    return job


def pending_batches() -> QuerySet[ScanBatch]:
    """Batches that passed the checks and were never recognised (or whose job ended early)."""
    return ScanBatch.objects.filter(
        Q(status=BatchStatus.CHECKED)
        | Q(status=BatchStatus.QUEUED, job__isnull=True)
        | Q(status=BatchStatus.QUEUED, job__status__in=[JobStatus.FAILED, JobStatus.CANCELLED])
    ).order_by("created_at", "pk")


def _claim(batch_id: int, job_id=None, *, force: bool = False) -> ScanBatch:
    """Mark the batch 识别中, unless another run is at it (its job still running, or a run
    without a job — the CLI — unless ``force``)."""
    with transaction.atomic():
        batch = (
            ScanBatch.objects.select_for_update(of=("self",))
            .select_related("item", "job")
            .get(pk=batch_id)
        )
        if batch.status == BatchStatus.REJECTED:
            raise ValidationError({"batch": [_("检测未通过的批次不能识别，请重新扫描后上传。")]})
        mine = job_id is not None and str(batch.job_id) == str(job_id)
        if (
            batch.status == BatchStatus.PROCESSING
            and not mine
            and not force
            and (batch.job is None or not batch.job.finished)
        ):
            raise ValidationError({"batch": [_("该批次已在识别中。")]})
        if batch.status == BatchStatus.QUEUED and not mine and not force and _busy(batch):
            raise ValidationError({"batch": [_("该批次已在识别中。")]})
        batch.status = BatchStatus.PROCESSING
        batch.message = _("正在识别")
        batch.save(update_fields=["status", "message"])
    return batch


def _local_copy(batch: ScanBatch, scan_file: ScanFile, workdir: Path) -> Path:
    """The file on local disk: its spool copy, or read back from storage (a re-run)."""
    spooled = _spooled(batch, scan_file)
    if spooled.is_file():
        return spooled
    if scan_file.object is None:
        raise ValidationError(
            {"file": [_("扫描文件“%(name)s”已不存在，请重新上传。") % {"name": scan_file.filename}]}
        )
    target = workdir / f"{scan_file.sequence:04d}{Path(scan_file.filename).suffix.lower()[:10]}"
    with storage.open_object(scan_file.object) as src, open(target, "wb") as out:
        shutil.copyfileobj(src, out, CHUNK)
    return target


def _base_name(item: Item) -> str:
    return (item.reference_code or f"item-{item.pk}").replace("/", "-")


def process_batch(
    actor,
    batch_id: int,
    progress: Progress | None = None,
    *,
    job_id=None,
    force: bool = False,
) -> dict[str, Any]:
    """Recognise every readable page of a batch and store scans, text and searchable PDF.

    All or nothing: the new components and the removal of the previous run's components
    commit together; on any failure (or cancellation) the item keeps what it had and the
    batch reads 识别失败 with the reason.
    """
    from lantai.digitisation import ocr
    from lantai.digitisation.pdf import SearchablePdf
    from lantai.jobs.services import JobCancelled

    require(actor, VIEW, CHANGE)
    batch = ScanBatch.objects.select_related("item").get(pk=batch_id)
    if actor is not None and not visible_items(actor).filter(pk=batch.item_id).exists():
        raise PermissionDenied(_("您无权处理该件档案。"))
    batch = _claim(batch_id, job_id, force=force)
    item = batch.item
    report = progress or (lambda *args, **kwargs: None)
    workdir = Path(tempfile.mkdtemp(prefix="ocr-", dir=_tmp_root()))
    try:
        files = list(batch.files.select_related("object").filter(readable=True))
        page_rows = {(p.file_id, p.page_in_file): p for p in batch.pages.all()}
        total = len(page_rows) + 1
        report(0, total, _("正在识别第 %(n)d / %(total)d 页") % {"n": 1, "total": total - 1})
        pdf_path = workdir / "searchable.pdf"
        pdf = SearchablePdf(pdf_path, title=item.title)
        texts: list[str] = []
        done = 0
        local: dict[int, Path] = {}
        for scan_file in files:
            path = local[scan_file.pk] = _local_copy(batch, scan_file, workdir)
            for page in checks.read_pages(path, scan_file.format):
                row = page_rows.get((scan_file.pk, page.page_in_file))
                if row is None:
                    continue
                done += 1
                if page.image is not None:
                    lines = ocr.recognise(page.image)
                    pdf.add_page(page.image, *checks.page_dpi(page), lines)
                    row.ocr_text = ocr.page_text(lines)
                    row.ocr_chars = sum(len(line.text) for line in lines)
                    row.ocr_score = (
                        round(sum(line.score for line in lines) / len(lines), 4) if lines else None
                    )
                    texts.append(row.ocr_text)
                page.image = None
                report(
                    done,
                    total,
                    _("已识别 %(n)d / %(total)d 页") % {"n": done, "total": total - 1},
                )
        if not pdf.pages:
            raise ValidationError({"batch": [_("没有可识别的页面。")]})
        pdf.save()
        text_path = workdir / "text.txt"
        # Pages are separated by a form feed, as pdftotext does.
        text_path.write_text("\f".join(texts) + "\n", encoding="utf-8")
        report(total - 1, total, _("正在保存识别结果"))
        # The scans go to storage first, outside the transaction: same key and bytes on a
        # re-run return the same object, and an object without a component is no component.
        stored_scans: dict[int, Any] = {}
        for scan_file in files:
            if scan_file.object is not None:
                stored_scans[scan_file.pk] = scan_file.object
                continue
            ext = checks.EXTENSIONS_BY_FORMAT.get(scan_file.format, "bin")
            stored_scans[scan_file.pk] = storage.put_file(
                local[scan_file.pk],
                f"digitisation/item-{item.pk}/batch-{batch.pk}/{scan_file.sequence:04d}.{ext}",
                purpose="digitisation.scan",
            )
        outcome = _store(actor, batch, files, stored_scans, text_path, pdf_path, page_rows)
    except JobCancelled:
        _fail(batch, _("已取消"), status=BatchStatus.CHECKED)
        raise
    except Exception as exc:
        _fail(batch, _("识别失败：%(error)s") % {"error": _reason(exc)})
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(total, total, _("识别完成，共 %(n)d 字") % {"n": outcome["chars"]})
    return outcome


def _tmp_root() -> Path:
    path = Path(settings.DATA_DIR) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "；".join(exc.messages)
    return str(exc)[:200] or exc.__class__.__name__


def _fail(batch: ScanBatch, message: str, *, status: str = BatchStatus.FAILED) -> None:
    ScanBatch.objects.filter(pk=batch.pk).update(status=status, message=message[:300])


def _store(actor, batch, files, stored_scans, text_path, pdf_path, page_rows) -> dict[str, Any]:
    item = batch.item
    run = uuid.uuid4().hex[:12]
    base = _base_name(item)
    prefix = f"digitisation/item-{item.pk}/batch-{batch.pk}/run-{run}"
    with transaction.atomic():
        text_obj = storage.put_file(text_path, f"{prefix}/text.txt", purpose="digitisation.text")
        pdf_obj = storage.put_file(pdf_path, f"{prefix}/searchable.pdf", purpose="digitisation.pdf")
        # Replace what digitisation produced before for this item (any batch), nothing else.
        previous = Component.objects.filter(item=item, digitised__isnull=False)
        replaced = list(previous.values_list("pk", flat=True))
        previous.delete()
        # Scans of a paper record are its digitised copy: its master, unless the item already
        # holds a master of another origin (a born-digital file), which stays the master.
        has_master = Component.objects.filter(item=item, role=ComponentRole.MASTER).exists()
        scan_role = ComponentRole.ACCESS if has_master else ComponentRole.MASTER
        made: list[DigitisedComponent] = []
        for scan_file in files:
            ScanFile.objects.filter(pk=scan_file.pk).update(object=stored_scans[scan_file.pk])
            component = storage.attach(
                item,
                stored_scans[scan_file.pk],
                role=scan_role,
                filename=scan_file.filename,
                mime=checks.MIME.get(scan_file.format, ""),
            )
            made.append(DigitisedComponent(batch=batch, component=component, kind="scan"))
        text = storage.attach(
            item, text_obj, role=ComponentRole.TEXT, filename=f"{base}.txt", mime="text/plain"
        )
        made.append(DigitisedComponent(batch=batch, component=text, kind="text"))
        pdf = storage.attach(
            item,
            pdf_obj,
            role=ComponentRole.ACCESS,
            filename=f"{base}-ocr.pdf",
            mime="application/pdf",
        )
        made.append(DigitisedComponent(batch=batch, component=pdf, kind="pdf"))
        DigitisedComponent.objects.bulk_create(made)
        rows = list(page_rows.values())
        ScanPage.objects.bulk_update(rows, ["ocr_text", "ocr_chars", "ocr_score"])
        chars = sum(row.ocr_chars for row in rows)
        ScanBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.DONE,
            ocr_chars=chars,
            stored_as=scan_role,
            processed_at=timezone.now(),
            message=_("识别完成，共 %(n)d 字") % {"n": chars},
        )
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=batch,
            detail={
                "event": "digitisation.ocr",
                "item": item.pk,
                "components": [d.component.pk for d in made],
                "replaced": replaced,
                "scans_as": scan_role,
                "chars": chars,
            },
        )
        token = batch.spool
        transaction.on_commit(lambda: shutil.rmtree(spool_root() / token, ignore_errors=True))
        transaction.on_commit(lambda: _reindex(item.pk))
    return {
        "batch": batch.pk,
        "item": item.pk,
        "pages": len(page_rows),
        "chars": chars,
        "scans_as": str(scan_role),
        "components": [d.component.pk for d in made],
    }


def _reindex(item_id: int) -> None:
    # The search app indexes text components on save; a direct call also catches deletions.
    try:
        from lantai.search.services import index_item
    except ImportError:
        return
    try:
        index_item(item_id)
    except Exception:
        logger.exception("search index of item %s failed after OCR", item_id)


def discard_batch(actor, batch: ScanBatch) -> None:
    """Delete a batch that produced nothing (rejected, checked, failed) with its spool."""
    require(actor, VIEW, CHANGE)
    if actor is not None and not visible_items(actor).filter(pk=batch.item_id).exists():
        raise PermissionDenied(_("您无权处理该件档案。"))
    with transaction.atomic():
        batch = (
            ScanBatch.objects.select_for_update(of=("self",)).select_related("job").get(pk=batch.pk)
        )
        if batch.outputs.exists() or _busy(batch) or batch.status == BatchStatus.PROCESSING:
            raise ValidationError({"batch": [_("已识别入库或正在识别的批次不能删除。")]})
        record(
            AuditAction.DELETE,
            actor=actor,
            obj=batch,
            detail={"event": "digitisation.discard", "item": batch.item_id},
        )
        token = batch.spool
        batch.delete()
        transaction.on_commit(lambda: shutil.rmtree(spool_root() / token, ignore_errors=True))


# --- reports ------------------------------------------------------------------------------------


def batch_report(batch: ScanBatch) -> dict[str, Any]:
    """The per-page check (and OCR) report, as JSON-ready data in the current language."""
    files = list(batch.files.select_related("object"))
    by_id = {f.pk: f for f in files}
    pages = []
    for page in batch.pages.all():
        pages.append(
            {
                "number": page.number,
                "file": by_id[page.file_id].filename,
                "page_in_file": page.page_in_file,
                "width": page.width,
                "height": page.height,
                "dpi_x": round(page.dpi_x, 1) if page.dpi_x else None,
                "dpi_y": round(page.dpi_y, 1) if page.dpi_y else None,
                "mode": page.mode,
                "mode_label": str(page.get_mode_display()) if page.mode else "",
                "result": page.result,
                "result_label": str(page.get_result_display()),
                "issues": [
                    {"code": i["code"], "level": i["level"], "message": checks.message(i)}
                    for i in page.issues
                ],
                "ocr_chars": page.ocr_chars,
                "ocr_score": page.ocr_score,
                "ocr_text": page.ocr_text,
            }
        )
    return {
        "batch": batch.pk,
        "item": {
            "id": batch.item_id,
            "reference_code": batch.item.reference_code,
            "title": batch.item.title,
        },
        "status": batch.status,
        "status_label": str(batch.get_status_display()),
        "result": batch.result,
        "message": batch.message,
        "colour_elements": batch.colour_elements,
        "thresholds": batch.thresholds,
        "created_at": batch.created_at.isoformat(),
        "processed_at": batch.processed_at.isoformat() if batch.processed_at else None,
        "page_count": batch.page_count,
        "passed": batch.passed,
        "warnings": batch.warnings,
        "failed": batch.failed,
        "ocr_chars": batch.ocr_chars,
        "stored_as": batch.stored_as,
        "files": [
            {
                "sequence": f.sequence,
                "filename": f.filename,
                "format": f.format,
                "size": f.size,
                "readable": f.readable,
                "sha256": f.object.sha256 if f.object else None,
            }
            for f in files
        ],
        "pages": pages,
    }


def open_output(user, pk) -> tuple[Component, BinaryIO]:
    """A digitisation component's bytes for ``user`` (audited as a download)."""
    component = get_output(user, pk)
    record(
        AuditAction.DOWNLOAD,
        actor=user,
        obj=component.item,
        detail={"event": "digitisation.file", "component": component.pk, "role": component.role},
    )
    return component, storage.open_object(component.object)


# --- check profiles 检测方案 -----------------------------------------------------------------

MANAGE_PROFILES = "holdings.manage_codes"
PROFILE_FIELDS = (
    "name",
    "fonds",
    "category",
    "min_dpi",
    "allowed_modes",
    "allowed_formats",
    "blank_ink_ratio",
    "blocking",
    "active",
)


def _profile_errors(values: dict[str, Any], profile: CheckProfile | None) -> dict[str, list[str]]:
    from lantai.digitisation.models import ColourMode

    errors: dict[str, list[str]] = {}
    if not str(values.get("name") or "").strip():
        errors["name"] = [_("请填写名称。")]
    dpi = values.get("min_dpi")
    if not isinstance(dpi, int) or not 50 <= dpi <= 2400:
        errors["min_dpi"] = [_("最低分辨率须在 50 到 2400 dpi 之间。")]
    if any(m not in ColourMode.values for m in values.get("allowed_modes") or []):
        errors["allowed_modes"] = [_("色彩模式不正确。")]
    if any(f not in checks.FORMATS for f in values.get("allowed_formats") or []):
        errors["allowed_formats"] = [_("格式不正确。")]
    ratio = values.get("blank_ink_ratio")
    if not isinstance(ratio, int | float) or not 0 <= ratio <= 0.5:
        errors["blank_ink_ratio"] = [_("空白页阈值须在 0 到 0.5 之间。")]
    same_scope = CheckProfile.objects.filter(
        fonds=values.get("fonds"), category=values.get("category")
    )
    if profile is not None:
        same_scope = same_scope.exclude(pk=profile.pk)
    if same_scope.exists():
        errors["__all__"] = [_("该全宗与门类已有检测方案。")]
    return errors


def save_profile(
    actor, values: dict[str, Any], profile: CheckProfile | None = None
) -> CheckProfile:
    """Create or update a check profile 检测方案 (holdings.manage_codes); audited."""
    require(actor, MANAGE_PROFILES)
    values = {k: values.get(k) for k in PROFILE_FIELDS}
    values["name"] = str(values["name"] or "").strip()[:100]
    values["allowed_modes"] = list(values["allowed_modes"] or [])
    values["allowed_formats"] = [str(f).upper() for f in values["allowed_formats"] or []]
    values["blocking"] = bool(values["blocking"])
    values["active"] = bool(values["active"])
    errors = _profile_errors(values, profile)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        creating = profile is None
        profile = profile or CheckProfile()
        before = {k: str(getattr(profile, k, "")) for k in PROFILE_FIELDS} if not creating else {}
        for key, value in values.items():
            setattr(profile, key, value)
        profile.save()
        after = {k: str(getattr(profile, k)) for k in PROFILE_FIELDS}
        record(
            AuditAction.CREATE if creating else AuditAction.UPDATE,
            actor=actor,
            obj=profile,
            detail=after
            if creating
            else {k: [before[k], after[k]] for k in after if before[k] != after[k]},
        )
    return profile


def delete_profile(actor, profile: CheckProfile) -> None:
    require(actor, MANAGE_PROFILES)
    with transaction.atomic():
        record(AuditAction.DELETE, actor=actor, obj=profile, detail={"name": profile.name})
        profile.delete()


def sweep_spool(*, orphan_age: timedelta = timedelta(days=1), rejected_age=None) -> dict[str, int]:
    """Remove spooled uploads nobody needs: folders no batch names (an upload killed before its
    transaction committed) after ``orphan_age``, and folders of rejected batches (检测未通过:
    never stored, the report stays) after ``LANTAI_DIGITISATION_SPOOL_DAYS`` (default 7)."""
    root = spool_root()
    if not root.is_dir():
        return {"orphans": 0, "rejected": 0}
    if rejected_age is None:
        rejected_age = timedelta(days=int(getattr(settings, "LANTAI_DIGITISATION_SPOOL_DAYS", 7)))
    now = timezone.now()
    known = dict(ScanBatch.objects.exclude(spool="").values_list("spool", "status"))
    rejected_cutoff = set(
        ScanBatch.objects.filter(
            status=BatchStatus.REJECTED, created_at__lt=now - rejected_age
        ).values_list("spool", flat=True)
    )
    counts = {"orphans": 0, "rejected": 0}
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        age = now.timestamp() - folder.stat().st_mtime
        if folder.name not in known:
            if age > orphan_age.total_seconds():
                shutil.rmtree(folder, ignore_errors=True)
                counts["orphans"] += 1
        elif folder.name in rejected_cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            counts["rejected"] += 1
    return counts
