"""Accession services 接收进馆服务: transfer batches and their life, receipt plans, acquisitions
征集, column mappings and accession statistics.

Life of a transfer batch 移交批次::

    draft ─upload─▶ checking ─▶ checked ─submit─▶ submitted ─accept─▶ accepting ─▶ accepted
                        │            ▲                 │
                        ▼            │ upload again    └─return (reasons)─▶ returned
                      failed ────────┘  (also from returned, checked)

* ``upload_catalog`` stores the catalog (and the optional ZIP of files) in the batch's own
  folder and queues the check job (``accession.check``), which writes every finding and moves
  the batch to *checked* (no errors) or *failed* (errors: the unit fixes and uploads again).
* ``submit`` hands a checked batch to the archive (移交): only a catalog without errors can be
  submitted.
* ``accept`` (an archivist) queues ``accession.accept``, which brings the whole catalog into
  holdings in one transaction, together with the 档案交接文据; ``return_batch`` sends the batch
  back with reasons.

Who may do what: archivists (``accession.manage_accession``) see and act on every batch; a unit
records officer (``accession.submit_batch`` only) sees and acts only on his own unit's
batches, and never accepts or returns. Every change writes an audit entry in its transaction.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.accession.models import (
    Acquisition,
    AcquisitionCampaign,
    AcquisitionStatus,
    BatchIssue,
    BatchItem,
    BatchKind,
    BatchStatus,
    CatalogUpload,
    ColumnMapping,
    HandoverForm,
    IssueKind,
    ReceiptPlan,
    Severity,
    TransferBatch,
)
from lantai.audit.models import AuditAction
from lantai.audit.services import changes, record
from lantai.core.permissions import has, require
from lantai.holdings.models import Category, Fonds, Item, NumberSequence, Unit, Volume

MANAGE = "accession.manage_accession"
SUBMIT = "accession.submit_batch"

#: Catalog file types a unit may upload.
CATALOG_SUFFIXES = (".xlsx", ".xls", ".csv")
#: Largest catalog accepted (bytes); a year's intake of 260,000 rows is ~40 MB as .xlsx.
CATALOG_MAX_BYTES = int(getattr(settings, "LANTAI_CATALOG_MAX_BYTES", 512 * 1024 * 1024))
#: Statuses in which the unit may (re)upload a catalog.
UPLOADABLE = (BatchStatus.DRAFT, BatchStatus.CHECKED, BatchStatus.FAILED, BatchStatus.RETURNED)
#: Statuses an archivist may return a batch from.
RETURNABLE = (BatchStatus.SUBMITTED, BatchStatus.CHECKED, BatchStatus.FAILED)
_CHUNK = 1024 * 1024

Progress = Callable[..., None] | None


# --- who may see and act on a batch ----------------------------------------------------------


def is_archivist(user) -> bool:
    """Archive staff who manage accession (None, the system, counts as one)."""
    return has(user, MANAGE)


def visible_batches(user) -> QuerySet[TransferBatch]:
    """Batches ``user`` may see: all for archivists, his own unit's for a unit officer."""
    batches = TransferBatch.objects.select_related("unit", "fonds", "acquisition")
    if is_archivist(user):
        return batches
    if not has(user, SUBMIT) or not getattr(user, "unit_id", None):
        return batches.none()
    return batches.filter(unit_id=user.unit_id)


def get_batch(user, pk) -> TransferBatch:
    """The batch ``pk`` if ``user`` may see it; raises TransferBatch.DoesNotExist otherwise."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise TransferBatch.DoesNotExist from None
    return visible_batches(user).get(pk=pk)


def can_act(user, batch: TransferBatch) -> bool:
    """Whether ``user`` may upload to and submit ``batch``."""
    if is_archivist(user):
        return True
    return (
        has(user, SUBMIT)
        and batch.kind == BatchKind.TRANSFER
        and batch.unit_id is not None
        and batch.unit_id == getattr(user, "unit_id", None)
    )


def require_act(user, batch: TransferBatch) -> None:
    require(user, SUBMIT)
    if not can_act(user, batch):
        raise PermissionDenied(_("您只能办理本单位的移交批次。"))


# --- numbers ----------------------------------------------------------------------------------


def _next_number(prefix: str, year: int, existing: QuerySet, width: int = 4) -> str:
    """``PREFIX-YEAR-NNNN``, from a locked sequence row (distinct under concurrency)."""
    scope = f"accession:{prefix}:{year}"
    with transaction.atomic():
        NumberSequence.objects.bulk_create([NumberSequence(scope=scope)], ignore_conflicts=True)
        sequence = NumberSequence.objects.select_for_update().get(scope=scope)
        number = sequence.last + 1
        # Skip numbers already taken (rows imported or created before the sequence existed).
        while existing.filter(number=f"{prefix}-{year}-{number:0{width}d}").exists():
            number += 1
        sequence.last = number
        sequence.save(update_fields=["last"])
    return f"{prefix}-{year}-{number:0{width}d}"


def _this_year() -> int:
    return timezone.localdate().year


# --- batches ----------------------------------------------------------------------------------


def _resolve(model: type[models.Model], value, field: str, label: str):
    if value is None or value == "":
        return None
    if isinstance(value, model):
        return value
    lookup = {"pk": value} if str(value).isdigit() else {"code": value}
    try:
        return model.objects.get(**lookup)
    except (model.DoesNotExist, ValueError):
        raise ValidationError(
            {field: [_("%(label)s“%(value)s”不存在。") % {"label": label, "value": value}]}
        ) from None


def create_batch(
    actor,
    *,
    unit=None,
    fonds,
    title: str = "",
    kind: str = BatchKind.TRANSFER,
    acquisition=None,
) -> TransferBatch:
    """Open a transfer batch 移交批次 (kind "transfer") or an acquisition batch 征集进馆.

    A unit officer opens batches only for his own unit and its fonds; acquisition batches are
    the archivists'. ``unit`` and ``fonds`` may be objects, primary keys or codes.
    """
    require(actor, SUBMIT)
    errors: dict[str, list[str]] = defaultdict(list)
    if kind not in BatchKind.values:
        errors["kind"].append(_("未知的批次来源：%(kind)s") % {"kind": kind})
    try:
        unit = _resolve(Unit, unit, "unit", _("单位"))
    except ValidationError as exc:
        errors["unit"].extend(exc.message_dict["unit"])
        unit = None
    try:
        fonds = _resolve(Fonds, fonds, "fonds", _("全宗"))
    except ValidationError as exc:
        errors["fonds"].extend(exc.message_dict["fonds"])
        fonds = None
    try:
        acquisition = _resolve(Acquisition, acquisition, "acquisition", _("征集记录"))
    except ValidationError as exc:
        errors["acquisition"].extend(exc.message_dict["acquisition"])
        acquisition = None
    archivist = is_archivist(actor)
    if kind == BatchKind.ACQUISITION:
        if not archivist:
            raise PermissionDenied(_("只有馆员可以办理征集进馆。"))
        if acquisition is None and "acquisition" not in errors:
            errors["acquisition"].append(_("征集进馆须关联一条征集记录。"))
    elif kind == BatchKind.TRANSFER:
        if acquisition is not None:
            errors["acquisition"].append(_("移交进馆的批次不关联征集记录。"))
        if unit is None and not archivist and actor is not None:
            unit = actor.unit
        if unit is None and "unit" not in errors:
            errors["unit"].append(_("请选择移交单位。"))
    if fonds is None and "fonds" not in errors:
        errors["fonds"].append(_("请选择全宗。"))
    if not archivist:
        own = getattr(actor, "unit_id", None)
        if own is None:
            raise PermissionDenied(_("您的账户未关联单位，不能办理移交。"))
        if unit is not None and unit.pk != own:
            raise PermissionDenied(_("您只能办理本单位的移交批次。"))
        if fonds is not None and fonds.unit_id != own:
            errors["fonds"].append(_("只能移交本单位的全宗。"))
    title = (title or "").strip()
    if len(title) > 200:
        errors["title"].append(_("批次说明不能超过200个字。"))
    if errors:
        raise ValidationError(dict(errors))
    prefix = "ZJ" if kind == BatchKind.ACQUISITION else "YJ"
    with transaction.atomic():
        number = _next_number(prefix, _this_year(), TransferBatch.objects.all())
        batch = TransferBatch.objects.create(
            number=number,
            kind=kind,
            unit=unit,
            fonds=fonds,
            acquisition=acquisition,
            title=title,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        record(
            AuditAction.CREATE,
            actor=actor,
            obj=batch,
            detail={
                "number": number,
                "kind": kind,
                "unit": getattr(unit, "code", None),
                "fonds": fonds.code,
                "acquisition": getattr(acquisition, "number", None),
            },
        )
    return batch


def current_upload(batch: TransferBatch) -> CatalogUpload | None:
    """The batch's newest catalog upload (a corrected catalog is a new upload)."""
    return batch.uploads.order_by("-uploaded_at", "-pk").first()


def batch_folder(batch: TransferBatch) -> Path:
    """The batch's own folder (created); everything of the batch is written below it."""
    from lantai.accession.catalog import batch_dir

    folder = Path(batch_dir(batch))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _source_name(source) -> str:
    name = getattr(source, "name", "") or ""
    return Path(str(name)).name


def _copy_into(source, dest: Path, *, limit: int | None = None) -> tuple[str, int]:
    """Stream ``source`` (an UploadedFile, a path or a binary file) to ``dest`` atomically;
    returns (sha256, size). Never reads the whole file into memory."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    digest = hashlib.sha256()
    size = 0
    opened: BinaryIO | None = None
    if isinstance(source, str | Path):
        opened = open(source, "rb")  # noqa: SIM115 (closed below)
        chunks: Iterable[bytes] = iter(lambda: opened.read(_CHUNK), b"")
    elif hasattr(source, "chunks"):
        chunks = source.chunks(_CHUNK)
    else:
        chunks = iter(lambda: source.read(_CHUNK), b"")
    try:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if limit is not None and size > limit:
                    raise ValidationError(
                        {
                            "catalog": [
                                _("目录文件超过 %(mb)d MB 的上限。") % {"mb": limit // 1024 // 1024}
                            ]
                        }
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        if opened is not None:
            opened.close()
    return digest.hexdigest(), size


def _clean_mapping(mapping: dict | None) -> dict[str, str]:
    """A column mapping {catalog header: Lantai field, or "" to ignore the column}, checked by
    the catalog reader's own rules (known fields, each field once)."""
    if not mapping:
        return {}
    from lantai.accession.catalog import clean_mapping

    cleaned = clean_mapping(mapping)
    return {str(header).strip()[:100]: field for header, field in cleaned.items() if header}


def _job_over(batch: TransferBatch) -> bool:
    """Whether the batch's job ended without moving the batch on (cancelled while queued, its
    worker died): then the batch must not stay *checking* or *accepting* for ever."""
    from lantai.jobs.models import Job, JobStatus

    if batch.status not in (BatchStatus.CHECKING, BatchStatus.ACCEPTING) or not batch.job_id:
        return False
    ended = (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.SUCCEEDED)
    return Job.objects.filter(pk=batch.job_id, status__in=ended).exists()


def settle(batch: TransferBatch) -> TransferBatch:
    """A batch whose job ended without moving it on goes back: *checking* → *failed* (upload
    again), *accepting* → *submitted* (accept again). Returns the fresh batch."""
    if not _job_over(batch):
        return batch
    with transaction.atomic():
        batch = TransferBatch.objects.select_for_update().get(pk=batch.pk)
        if not _job_over(batch):
            return batch
        previous = batch.status
        batch.status = (
            BatchStatus.FAILED if previous == BatchStatus.CHECKING else BatchStatus.SUBMITTED
        )
        batch.save(update_fields=["status"])
        record(
            AuditAction.UPDATE,
            obj=batch,
            username="system",
            detail={"event": "job_ended", "from": previous, "to": batch.status},
        )
    return batch


def upload_catalog(
    actor,
    batch: TransferBatch,
    catalog_file,
    *,
    files=None,
    mapping: dict | None = None,
) -> CatalogUpload:
    """Store a catalog (.xlsx/.xls/.csv) and, optionally, a ZIP (or, from the server's own
    disk, a folder) of files in the batch folder, then queue the check job.

    ``catalog_file`` and ``files`` are uploaded files, paths or binary files with a name.
    Returns the new upload; the batch is *checking* until the job ends.
    """
    require_act(actor, batch)
    name = _source_name(catalog_file)
    suffix = Path(name).suffix.lower()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["catalog"] = [_("请选择目录文件。")]
    elif suffix not in CATALOG_SUFFIXES:
        errors["catalog"] = [
            _("目录文件须为 .xlsx、.xls 或 .csv 格式，收到的是“%(name)s”。") % {"name": name}
        ]
    files_name = _source_name(files) if files is not None else ""
    files_is_dir = isinstance(files, str | Path) and Path(files).is_dir()
    if files is not None and not files_is_dir and Path(files_name).suffix.lower() != ".zip":
        errors["files"] = [_("电子文件须打包为 .zip 文件上传。")]
    try:
        mapping = _clean_mapping(mapping)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    def refuse(status_label) -> ValidationError:
        return ValidationError(
            {"catalog": [_("批次状态为“%(status)s”，不能上传目录。") % {"status": status_label}]}
        )

    batch = settle(batch)
    if batch.status not in UPLOADABLE:
        raise refuse(batch.get_status_display())
    # Copy first, outside the transaction: a large ZIP must not hold the database's write
    # lock while it streams to disk. The staging folder becomes the upload's folder below.
    staging = batch_folder(batch) / f".staging-{uuid.uuid4().hex}"
    try:
        sha256, size = _copy_into(
            catalog_file, staging / f"catalog{suffix}", limit=CATALOG_MAX_BYTES
        )
        if files is not None and not files_is_dir:
            _copy_into(files, staging / "files.zip")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    folder: Path | None = None
    try:
        with transaction.atomic():
            batch = TransferBatch.objects.select_for_update().get(pk=batch.pk)
            if batch.status not in UPLOADABLE and not _job_over(batch):
                raise refuse(batch.get_status_display())
            sequence = batch.uploads.count() + 1
            folder = batch_folder(batch) / f"upload-{sequence:03d}"
            if folder.exists():  # left by an upload whose transaction rolled back
                shutil.rmtree(folder)
            os.replace(staging, folder)
            catalog_path = folder / f"catalog{suffix}"
            files_path = ""
            if files is not None:
                if files_is_dir:
                    files_path = str(Path(files).resolve())
                    files_name = files_name or files_path
                else:
                    files_path = str(folder / "files.zip")
            upload = CatalogUpload.objects.create(
                batch=batch,
                catalog_name=name[:255],
                catalog_path=str(catalog_path),
                catalog_sha256=sha256,
                files_name=files_name[:255],
                files_path=files_path,
                mapping=mapping,
                uploaded_by=actor if getattr(actor, "pk", None) else None,
            )
            from lantai.jobs.services import enqueue

            job = enqueue("accession.check", {"upload": upload.pk}, user=actor)
            batch.status = BatchStatus.CHECKING
            batch.job = job
            batch.save(update_fields=["status", "job"])
            record(
                AuditAction.CREATE,
                actor=actor,
                obj=upload,
                detail={
                    "batch": batch.number,
                    "catalog": name,
                    "sha256": sha256,
                    "size": size,
                    "files": files_name,
                    "mapping": mapping,
                },
            )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if (
            folder is not None
            and folder.exists()
            and not CatalogUpload.objects.filter(
                catalog_path=str(folder / f"catalog{suffix}")
            ).exists()
        ):
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return upload


def _summary_counts(summary: dict) -> dict[str, int]:
    def n(key: str) -> int:
        try:
            return int(summary.get(key) or 0)
        except (TypeError, ValueError):
            return 0

    return {
        "row_count": n("rows"),
        "volume_count": n("volumes"),
        "item_count": n("items"),
        "file_count": n("files"),
        "error_count": n("errors"),
        "warning_count": n("warnings"),
    }


def run_check(actor, upload_id: int, *, progress: Progress = None) -> dict:
    """The body of the check job: check the upload, then record the outcome on the batch.

    A check of an upload that is no longer the batch's newest changes nothing on the batch.
    """
    from lantai.accession import checks

    upload = CatalogUpload.objects.select_related("batch").get(pk=upload_id)
    require_act(actor, upload.batch)
    try:
        summary = checks.check_upload(upload, progress=progress)
    except BaseException as exc:
        _check_broke(actor, upload, exc)
        raise
    with transaction.atomic():
        batch = TransferBatch.objects.select_for_update().get(pk=upload.batch_id)
        if current_upload(batch).pk != upload.pk or batch.status != BatchStatus.CHECKING:
            return summary
        counts = _summary_counts(summary)
        for field, value in counts.items():
            setattr(batch, field, value)
        batch.status = BatchStatus.FAILED if counts["error_count"] else BatchStatus.CHECKED
        batch.checked_at = timezone.now()
        batch.save(update_fields=[*counts, "status", "checked_at"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=batch,
            detail={"event": "checked", "upload": upload.pk, "status": batch.status, **counts},
        )
    return summary


def _check_broke(actor, upload: CatalogUpload, exc: BaseException) -> None:
    """A check that stopped (cancelled, crashed) leaves the batch failed, never *checking*."""
    with transaction.atomic():
        batch = TransferBatch.objects.select_for_update().get(pk=upload.batch_id)
        if current_upload(batch).pk != upload.pk or batch.status != BatchStatus.CHECKING:
            return
        batch.status = BatchStatus.FAILED
        batch.checked_at = timezone.now()
        batch.save(update_fields=["status", "checked_at"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=batch,
            detail={"event": "check_stopped", "upload": upload.pk, "error": repr(exc)[:300]},
        )


def submit(actor, batch: TransferBatch, *, opening_opinion: str = "") -> TransferBatch:
    """The unit hands a checked batch to the archive (移交). A catalog with errors cannot be
    submitted. ``opening_opinion`` is the unit's opinion on opening (档案法第三十条)."""
    require_act(actor, batch)
    opinion = (opening_opinion or "").strip()
    with transaction.atomic():
        batch = TransferBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != BatchStatus.CHECKED:
            if batch.status == BatchStatus.FAILED:
                message = _("目录检测发现 %(n)d 个错误，请修改后重新上传再提交。") % {
                    "n": batch.error_count
                }
            else:
                message = _("只有检测通过的批次可以提交，当前状态为“%(status)s”。") % {
                    "status": batch.get_status_display()
                }
            raise ValidationError({"status": [message]})
        batch.status = BatchStatus.SUBMITTED
        batch.submitted_at = timezone.now()
        batch.opening_opinion = opinion
        batch.save(update_fields=["status", "submitted_at", "opening_opinion"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=batch,
            detail={"event": "submitted", "opening_opinion": opinion},
        )
    return batch


def accept(actor, batch: TransferBatch):
    """An archivist accepts a submitted batch: queues ``accession.accept`` (returns the Job)."""
    require(actor, MANAGE)
    from lantai.jobs.services import enqueue

    settle(batch)
    with transaction.atomic():
        batch = TransferBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != BatchStatus.SUBMITTED:
            raise ValidationError(
                {
                    "status": [
                        _("只有已提交的批次可以接收，当前状态为“%(status)s”。")
                        % {"status": batch.get_status_display()}
                    ]
                }
            )
        upload = current_upload(batch)
        job = enqueue("accession.accept", {"batch": batch.pk, "upload": upload.pk}, user=actor)
        batch.status = BatchStatus.ACCEPTING
        batch.job = job
        batch.save(update_fields=["status", "job"])
        record(AuditAction.UPDATE, actor=actor, obj=batch, detail={"event": "accepting"})
    return job


def run_accept(actor, batch_id: int, upload_id: int, *, progress: Progress = None) -> dict:
    """The body of the accept job: the import, the batch's new status, the acquisition's and
    the handover form with its PDF, all in one transaction (all or nothing)."""
    from lantai.accession import handover, importer

    require(actor, MANAGE)
    batch = TransferBatch.objects.select_related("unit", "fonds", "acquisition").get(pk=batch_id)
    upload = CatalogUpload.objects.get(pk=upload_id, batch=batch)
    if batch.status != BatchStatus.ACCEPTING:
        raise ValidationError(
            {"status": [_("批次状态为“%(s)s”，不能接收。") % {"s": batch.get_status_display()}]}
        )
    try:
        with transaction.atomic():
            result = importer.accept_upload(actor, batch, upload, progress=progress)
            batch = TransferBatch.objects.select_for_update().get(pk=batch.pk)
            batch.status = BatchStatus.ACCEPTED
            batch.accepted_by = actor if getattr(actor, "pk", None) else None
            batch.accepted_at = timezone.now()
            batch.save(update_fields=["status", "accepted_by", "accepted_at"])
            if batch.acquisition_id:
                Acquisition.objects.filter(pk=batch.acquisition_id).update(
                    status=AcquisitionStatus.ACCESSIONED, updated_at=timezone.now()
                )
            form = handover.create_handover(actor, batch)
            record(
                AuditAction.UPDATE,
                actor=actor,
                obj=batch,
                detail={
                    "event": "accepted",
                    "handover": form.number,
                    "acquisition": getattr(batch.acquisition, "number", None),
                    "result": result,
                },
            )
    except BaseException as exc:
        # Nothing was imported: the batch goes back to the archivist's queue.
        with transaction.atomic():
            updated = TransferBatch.objects.filter(
                pk=batch_id, status=BatchStatus.ACCEPTING
            ).update(status=BatchStatus.SUBMITTED)
            if updated:
                record(
                    AuditAction.UPDATE,
                    actor=actor,
                    object_type="accession.transferbatch",
                    object_id=str(batch_id),
                    object_repr=batch.number,
                    detail={"event": "accept_failed", "error": repr(exc)[:300]},
                )
        raise
    return {**(result or {}), "handover": form.number}


def return_batch(actor, batch: TransferBatch, reason: str) -> TransferBatch:
    """An archivist returns a batch to its unit with reasons 退回理由."""
    require(actor, MANAGE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("请填写退回理由。")]})
    if len(reason) > 2000:
        raise ValidationError({"reason": [_("退回理由不能超过2000个字。")]})
    with transaction.atomic():
        batch = TransferBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status not in RETURNABLE:
            raise ValidationError(
                {
                    "reason": [
                        _("批次状态为“%(status)s”，不能退回。")
                        % {"status": batch.get_status_display()}
                    ]
                }
            )
        previous = batch.status
        batch.status = BatchStatus.RETURNED
        batch.returned_reason = reason
        batch.save(update_fields=["status", "returned_reason"])
        record(
            AuditAction.UPDATE,
            actor=actor,
            obj=batch,
            detail={"event": "returned", "from": previous, "reason": reason},
        )
    return batch


# --- check results ----------------------------------------------------------------------------


def issue_counts(upload: CatalogUpload | None) -> list[dict[str, Any]]:
    """Findings of ``upload`` per kind (errors and warnings), counted in the database."""
    if upload is None:
        return []
    labels = dict(IssueKind.choices)
    rows = (
        BatchIssue.objects.filter(upload=upload)
        .order_by()
        .values("kind")
        .annotate(
            errors=Count("pk", filter=Q(severity=Severity.ERROR)),
            warnings=Count("pk", filter=Q(severity=Severity.WARNING)),
        )
    )
    result = [
        {
            "kind": row["kind"],
            "label": str(labels.get(row["kind"], row["kind"])),
            "errors": row["errors"],
            "warnings": row["warnings"],
            "total": row["errors"] + row["warnings"],
        }
        for row in rows
    ]
    return sorted(result, key=lambda r: (-r["errors"], -r["total"], r["kind"]))


def batch_issues(
    user, batch: TransferBatch, *, kind: str = "", severity: str = ""
) -> QuerySet[BatchIssue]:
    """The current upload's findings, in row order, optionally of one kind or severity."""
    if not visible_batches(user).filter(pk=batch.pk).exists():
        raise PermissionDenied(_("您无权查看该批次。"))
    upload = current_upload(batch)
    if upload is None:
        return BatchIssue.objects.none()
    issues = BatchIssue.objects.filter(upload=upload)
    if kind:
        issues = issues.filter(kind=kind)
    if severity:
        issues = issues.filter(severity=severity)
    return issues.order_by("row", "id")


def report_path(upload: CatalogUpload) -> Path:
    return batch_folder(upload.batch) / "reports" / f"report-{upload.pk}.xlsx"


def ensure_report(upload: CatalogUpload) -> Path:
    """The .xlsx check report of ``upload``, written once (atomically) and then reused. The
    check job writes it as soon as the check ends, so a download never waits on a large
    catalog being read again inside a web request."""
    from lantai.accession import report

    dest = report_path(upload)
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            report.write_report_xlsx(upload, tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
    return dest


def report_file(user, batch: TransferBatch) -> tuple[Path, str]:
    """The .xlsx check report of the batch's current upload (written once, then reused), and
    a download name. The download is audited."""
    if not visible_batches(user).filter(pk=batch.pk).exists():
        raise PermissionDenied(_("您无权查看该批次。"))
    upload = current_upload(batch)
    if upload is None or batch.status == BatchStatus.CHECKING:
        raise ValidationError({"report": [_("该批次尚无检测报告。")]})
    dest = ensure_report(upload)
    record(
        AuditAction.DOWNLOAD,
        actor=user,
        obj=batch,
        detail={"file": "check_report", "upload": upload.pk},
    )
    return dest, f"{batch.number}-检测报告.xlsx"


# --- column mappings (per unit) -------------------------------------------------------------


def _require_unit(actor, unit: Unit) -> None:
    require(actor, SUBMIT)
    if not is_archivist(actor) and getattr(actor, "unit_id", None) != unit.pk:
        raise PermissionDenied(_("您只能管理本单位的列对应关系。"))


def unit_mappings(actor, unit: Unit) -> QuerySet[ColumnMapping]:
    _require_unit(actor, unit)
    return ColumnMapping.objects.filter(unit=unit).order_by("name")


def save_mapping(actor, unit: Unit, name: str, mapping: dict) -> ColumnMapping:
    """Save (create or replace) a unit's named column mapping {catalog header: field}."""
    _require_unit(actor, unit)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("请填写名称。")]
    elif len(name) > 100:
        errors["name"] = [_("名称不能超过100个字。")]
    try:
        cleaned = _clean_mapping(mapping)
        if not any(cleaned.values()):
            errors.setdefault("mapping", []).append(_("至少对应一列。"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        existing = ColumnMapping.objects.select_for_update().filter(unit=unit, name=name).first()
        before = dict(existing.mapping) if existing else None
        if existing is None:
            saved = ColumnMapping.objects.create(unit=unit, name=name, mapping=cleaned)
        else:
            existing.mapping = cleaned
            existing.save(update_fields=["mapping", "updated_at"])
            saved = existing
        record(
            AuditAction.CREATE if existing is None else AuditAction.UPDATE,
            actor=actor,
            obj=saved,
            detail={"unit": unit.code, "mapping": cleaned, "before": before},
        )
    return saved


def delete_mapping(actor, mapping: ColumnMapping) -> None:
    _require_unit(actor, mapping.unit)
    with transaction.atomic():
        record(AuditAction.DELETE, actor=actor, obj=mapping, detail={"mapping": mapping.mapping})
        mapping.delete()


# --- plain model writes (plans, campaigns, acquisitions) --------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, obj._meta.get_field(name).attname)) for name in fields}


def _write(
    actor,
    obj: models.Model,
    data: dict,
    fields: tuple[str, ...],
    extra: Callable[[models.Model, dict[str, list[str]]], None] | None = None,
) -> models.Model:
    """Set ``fields`` from ``data``, validate (field messages), save and audit."""
    creating = obj.pk is None
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValidationError({"__all__": [_("未知字段：%(f)s") % {"f": "、".join(unknown)}]})
    before = {} if creating else _snapshot(obj, fields)
    for name in fields:
        if name in data:
            value = data[name]
            if isinstance(value, str):
                value = value.strip()
            field = obj._meta.get_field(name)
            if value == "" and field.null:
                value = None
            setattr(obj, field.name, value)
    errors: dict[str, list[str]] = {}
    try:
        obj.full_clean(validate_unique=True)
    except ValidationError as exc:
        errors = {k: list(v) for k, v in exc.message_dict.items()}
    if extra is not None and not errors:
        extra(obj, errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        obj.save()
        after = _snapshot(obj, fields)
        record(
            AuditAction.CREATE if creating else AuditAction.UPDATE,
            actor=actor,
            obj=obj,
            detail=after if creating else changes(before, after),
        )
    return obj


def _delete(actor, obj: models.Model, fields: tuple[str, ...]) -> None:
    with transaction.atomic():
        record(AuditAction.DELETE, actor=actor, obj=obj, detail=_snapshot(obj, fields))
        obj.delete()


# --- receipt plans 接收计划 -------------------------------------------------------------------

PLAN_FIELDS = (
    "unit",
    "category",
    "year_from",
    "year_to",
    "due_year",
    "expected_volumes",
    "expected_items",
    "programme",
    "note",
)


def _check_plan(plan: ReceiptPlan, errors: dict[str, list[str]]) -> None:
    if plan.year_to < plan.year_from:
        errors["year_to"] = [_("终止年度不能早于起始年度。")]
    low = int(getattr(settings, "LANTAI_MIN_YEAR", 1900))
    for name in ("year_from", "year_to", "due_year"):
        value = getattr(plan, name)
        if not low <= value <= 2200:
            errors.setdefault(name, []).append(_("年度须在 %(low)d 到 2200 之间。") % {"low": low})
    if plan.due_year < plan.year_to and "due_year" not in errors:
        errors["due_year"] = [_("应移交年度不能早于终止年度。")]
    if not plan.expected_volumes and not plan.expected_items:
        errors["expected_items"] = [_("请填写预计卷数或件数。")]


def save_plan(actor, data: dict, plan: ReceiptPlan | None = None) -> ReceiptPlan:
    """Create or update a receipt plan 接收计划 (unit × category × years, due year, 卷/件)."""
    require(actor, MANAGE)
    data = dict(data)
    for name, model, label in (("unit", Unit, _("单位")), ("category", Category, _("门类"))):
        if name in data:
            data[name] = _resolve(model, data[name], name, label)
    return _write(actor, plan or ReceiptPlan(), data, PLAN_FIELDS, _check_plan)


def delete_plan(actor, plan: ReceiptPlan) -> None:
    require(actor, MANAGE)
    _delete(actor, plan, PLAN_FIELDS)


def received_counts(
    *,
    accepted_from: datetime | None = None,
    accepted_before: datetime | None = None,
) -> dict[tuple[int | None, int, int], dict[str, int]]:
    """卷 and 件 received through accepted batches, keyed (unit id, category id, year).

    Volumes count once; items are split into standalone (件, counted in 卷(件)) and items inside
    a volume (卷内文件). Counted from the provenance rows, so every figure traces to records.
    """
    entries = BatchItem.objects.filter(batch__status=BatchStatus.ACCEPTED)
    if accepted_from is not None:
        entries = entries.filter(batch__accepted_at__gte=accepted_from)
    if accepted_before is not None:
        entries = entries.filter(batch__accepted_at__lt=accepted_before)
    counts: dict[tuple[int | None, int, int], dict[str, int]] = defaultdict(
        lambda: {"volumes": 0, "items": 0, "items_in_volumes": 0}
    )
    for row in (
        entries.filter(item__isnull=False)
        .order_by()
        .values("batch__unit_id", "item__category_id", "item__year")
        .annotate(
            standalone=Count("pk", filter=Q(item__volume__isnull=True)),
            inside=Count("pk", filter=Q(item__volume__isnull=False)),
        )
    ):
        key = (row["batch__unit_id"], row["item__category_id"], row["item__year"])
        counts[key]["items"] += row["standalone"]
        counts[key]["items_in_volumes"] += row["inside"]
    for row in (
        entries.filter(volume__isnull=False)
        .order_by()
        .values("batch__unit_id", "volume__category_id", "volume__year")
        .annotate(n=Count("pk"))
    ):
        key = (row["batch__unit_id"], row["volume__category_id"], row["volume__year"])
        counts[key]["volumes"] += row["n"]
    return dict(counts)


def plan_progress(
    actor,
    *,
    programme: str = "",
    due_year: int | None = None,
    unit=None,
    today: date | None = None,
) -> list[dict[str, Any]]:
    """Plan versus received 计划与实际: each plan with what accepted batches brought in for its
    unit, category and years; ``overdue`` when the due year has passed and less than planned
    arrived (those units stand out), ``due`` when it falls due this year."""
    require(actor, MANAGE)
    today = today or timezone.localdate()
    plans = ReceiptPlan.objects.select_related("unit", "category")
    if programme:
        plans = plans.filter(programme=programme)
    if due_year:
        plans = plans.filter(due_year=due_year)
    if unit is not None:
        plans = plans.filter(unit=unit)
    received = received_counts()
    by_unit_category: dict[tuple, list[tuple[int, dict[str, int]]]] = defaultdict(list)
    for (unit_id, category_id, year), figures in received.items():
        by_unit_category[(unit_id, category_id)].append((year, figures))
    rows = []
    for plan in plans:
        got = {"volumes": 0, "items": 0, "items_in_volumes": 0}
        for year, figures in by_unit_category.get((plan.unit_id, plan.category_id), []):
            if plan.year_from <= year <= plan.year_to:
                for key in got:
                    got[key] += figures[key]
        complete = got["volumes"] >= plan.expected_volumes and got["items"] >= plan.expected_items
        expected = plan.expected_volumes + plan.expected_items
        done = min(got["volumes"], plan.expected_volumes) + min(got["items"], plan.expected_items)
        rows.append(
            {
                "plan": plan,
                "received_volumes": got["volumes"],
                "received_items": got["items"],
                "received_items_in_volumes": got["items_in_volumes"],
                "percent": int(done * 100 / expected) if expected else 100,
                "complete": complete,
                "overdue": plan.due_year < today.year and not complete,
                "due": plan.due_year == today.year and not complete,
            }
        )
    rows.sort(key=lambda r: (not r["overdue"], r["plan"].due_year, r["plan"].unit.code))
    return rows


def _share(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def plan_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals of ``plan_progress`` rows, for judging a programme as a whole (e.g. a five-year
    plan meant to bring school and hospital records in and raise the share of livelihood 民生
    records): planned and received 卷(件), units planned and overdue, and the livelihood share
    — of what is planned, of what has arrived, and of holdings now (holdings_count over the
    livelihood categories, so the effect on holdings shows)."""
    from lantai.holdings.services import holdings_count

    planned = received = planned_livelihood = received_livelihood = 0
    units: set[int] = set()
    overdue: set[int] = set()
    for row in rows:
        plan = row["plan"]
        expected = plan.expected_volumes + plan.expected_items
        got = row["received_volumes"] + row["received_items"]
        planned += expected
        received += got
        if plan.category.livelihood:
            planned_livelihood += expected
            received_livelihood += got
        units.add(plan.unit_id)
        if row["overdue"]:
            overdue.add(plan.unit_id)
    holdings = holdings_count()["total"]
    livelihood_holdings = holdings_count(
        Item.objects.filter(category__livelihood=True),
        Volume.objects.filter(category__livelihood=True),
    )["total"]
    return {
        "plans": len(rows),
        "units": len(units),
        "overdue_units": len(overdue),
        "planned": planned,
        "received": received,
        "percent": int(min(received, planned) * 100 / planned) if planned else None,
        "livelihood_planned": planned_livelihood,
        "livelihood_received": received_livelihood,
        "livelihood_planned_share": _share(planned_livelihood, planned),
        "livelihood_received_share": _share(received_livelihood, received),
        "holdings": holdings,
        "livelihood_holdings": livelihood_holdings,
        "livelihood_holdings_share": _share(livelihood_holdings, holdings),
    }


def plan_programmes() -> list[str]:
    return list(
        ReceiptPlan.objects.exclude(programme="")
        .order_by("programme")
        .values_list("programme", flat=True)
        .distinct()
    )


# --- acquisitions 征集 -----------------------------------------------------------------------

CAMPAIGN_FIELDS = ("title", "description", "start_date", "end_date", "active")
ACQUISITION_FIELDS = (
    "campaign",
    "method",
    "donor_name",
    "donor_kind",
    "donor_contact",
    "agreement_no",
    "agreement_date",
    "price",
    "deposit_until",
    "rights",
    "description",
    "quantity",
    "received_at",
    "status",
)


def _check_campaign(campaign: AcquisitionCampaign, errors: dict[str, list[str]]) -> None:
    if campaign.start_date and campaign.end_date and campaign.end_date < campaign.start_date:
        errors["end_date"] = [_("截止日期不能早于开始日期。")]


def save_campaign(
    actor, data: dict, campaign: AcquisitionCampaign | None = None
) -> AcquisitionCampaign:
    """Create or update a themed call for material 征集活动."""
    require(actor, MANAGE)
    return _write(actor, campaign or AcquisitionCampaign(), data, CAMPAIGN_FIELDS, _check_campaign)


def _check_acquisition(acq: Acquisition, errors: dict[str, list[str]]) -> None:
    if acq.method == "purchase" and acq.price is None:
        errors["price"] = [_("购买须填写价格。")]
    if acq.price is not None and acq.price < 0:
        errors["price"] = [_("价格不能为负数。")]
    if acq.method == "deposit" and acq.deposit_until is None:
        errors["deposit_until"] = [_("寄存须填写寄存期限。")]
    if acq.status in (AcquisitionStatus.AGREED, AcquisitionStatus.RECEIVED) and not (
        acq.agreement_no
    ):
        errors["agreement_no"] = [_("已签协议的征集须填写协议编号。")]
    if acq.status == AcquisitionStatus.RECEIVED and acq.received_at is None:
        errors["received_at"] = [_("已接收实物须填写接收日期。")]
    if acq.status == AcquisitionStatus.ACCESSIONED and (
        acq.pk is None or not acq.batches.filter(status=BatchStatus.ACCEPTED).exists()
    ):
        errors["status"] = [_("征集材料须通过征集进馆批次接收后才算入藏。")]


def save_acquisition(actor, data: dict, acquisition: Acquisition | None = None) -> Acquisition:
    """Create or update an acquisition 征集 (donor, agreement, rights, what was received)."""
    require(actor, MANAGE)
    data = dict(data)
    if "campaign" in data:
        data["campaign"] = _resolve(
            AcquisitionCampaign, data["campaign"], "campaign", _("征集活动")
        )
    acquisition = acquisition or Acquisition()
    with transaction.atomic():
        if acquisition.pk is None:
            acquisition.number = _next_number(
                "ZJX", _this_year(), Acquisition.objects.all(), width=3
            )
        return _write(actor, acquisition, data, ACQUISITION_FIELDS, _check_acquisition)


def create_acquisition_batch(
    actor, acquisition: Acquisition, *, fonds, title: str = ""
) -> TransferBatch:
    """An acquisition batch 征集进馆: the material enters holdings through a catalog, checked
    and accepted exactly like a transfer."""
    return create_batch(
        actor,
        unit=None,
        fonds=fonds,
        title=title or str(acquisition),
        kind=BatchKind.ACQUISITION,
        acquisition=acquisition,
    )


# --- statistics 接收统计 ----------------------------------------------------------------------


def default_baseline_year() -> int:
    return int(getattr(settings, "LANTAI_BASELINE_YEAR", 2015))


def _year_start(year: int) -> datetime:
    return timezone.make_aware(datetime(year, 1, 1))


def accession_statistics(year: int, *, baseline_year: int | None = None) -> dict[str, Any]:
    """Figures of a year's accession and of holdings growth.

    * ``received``: what batches accepted in ``year`` brought in, per unit and category, in
      卷 (volumes), 件 (standalone items) and 卷(件); plus ``received_totals``.
    * ``holdings``: the holdings total now (holdings.services.holdings_count).
    * ``baseline``: holdings at the end of ``baseline_year`` (default
      settings.LANTAI_BASELINE_YEAR), taken as today's total minus what accepted batches
      brought in since; records without a batch (migrated or described by hand) count as held
      before. ``growth_percent`` compares today with it (None when the baseline is 0).
    * ``by_year``: 卷(件) received per year from the year after the baseline up to ``year``.
    """
    from lantai.holdings.services import holdings_count

    base = baseline_year if baseline_year is not None else default_baseline_year()
    if base >= year:
        raise ValidationError({"baseline_year": [_("基准年度须早于统计年度。")]})
    received = received_counts(
        accepted_from=_year_start(year), accepted_before=_year_start(year + 1)
    )
    units = Unit.objects.in_bulk({key[0] for key in received if key[0] is not None})
    categories = Category.objects.in_bulk({key[1] for key in received})
    grouped: dict[tuple, dict[str, int]] = defaultdict(
        lambda: {"volumes": 0, "items": 0, "items_in_volumes": 0}
    )
    for (unit_id, category_id, _year), figures in received.items():
        for key, value in figures.items():
            grouped[(unit_id, category_id)][key] += value
    rows = []
    for (unit_id, category_id), figures in grouped.items():
        unit, category = units.get(unit_id), categories[category_id]
        rows.append(
            {
                "unit_code": unit.code if unit else "",
                "unit_name": unit.name if unit else _("社会征集"),
                "category_code": category.code,
                "category_name": category.name,
                "volumes": figures["volumes"],
                "items": figures["items"],
                "items_in_volumes": figures["items_in_volumes"],
                "total": figures["volumes"] + figures["items"],
            }
        )
    rows.sort(key=lambda r: (r["unit_code"] or "~", r["category_code"]))
    totals = {
        key: sum(r[key] for r in rows) for key in ("volumes", "items", "items_in_volumes", "total")
    }
    by_category: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = by_category.setdefault(
            r["category_code"], {"code": r["category_code"], "name": r["category_name"], "total": 0}
        )
        entry["total"] += r["total"]

    holdings = holdings_count()
    since = received_counts(accepted_from=_year_start(base + 1))
    since_total = sum(f["volumes"] + f["items"] for f in since.values())
    baseline_total = max(0, holdings["total"] - since_total)
    growth = (
        round((holdings["total"] - baseline_total) * 100 / baseline_total, 1)
        if baseline_total
        else None
    )
    per_year: dict[int, int] = dict.fromkeys(range(base + 1, year + 1), 0)
    # 卷(件) per accepted batch (one GROUP BY), then summed by the local year of acceptance.
    for row in (
        BatchItem.objects.filter(
            batch__status=BatchStatus.ACCEPTED,
            batch__accepted_at__gte=_year_start(base + 1),
            batch__accepted_at__lt=_year_start(year + 1),
        )
        .filter(Q(volume__isnull=False) | Q(item__isnull=False, item__volume__isnull=True))
        .order_by()
        .values("batch_id", "batch__accepted_at")
        .annotate(n=Count("pk"))
    ):
        local_year = timezone.localtime(row["batch__accepted_at"]).year
        if local_year in per_year:
            per_year[local_year] += row["n"]
    batches = TransferBatch.objects.filter(
        status=BatchStatus.ACCEPTED,
        accepted_at__gte=_year_start(year),
        accepted_at__lt=_year_start(year + 1),
    )
    return {
        "year": year,
        "baseline_year": base,
        "received": rows,
        "received_totals": totals,
        "received_by_category": sorted(by_category.values(), key=lambda r: -r["total"]),
        "batches": batches.count(),
        "holdings": holdings,
        "baseline_total": baseline_total,
        "growth_percent": growth,
        "by_year": [{"year": y, "total": n} for y, n in per_year.items()],
    }


def statistics_for(actor, year: int, *, baseline_year: int | None = None) -> dict[str, Any]:
    """accession_statistics for a person allowed to read them (archivists)."""
    require(actor, MANAGE)
    return accession_statistics(year, baseline_year=baseline_year)


def safe_cell(value: Any) -> Any:
    """A value for an exported cell: numbers stay numbers, text goes through the report's
    neutralise (a leading = + - @ tab or CR is never read as a formula)."""
    from lantai.accession.report import neutralise

    return neutralise(value) if isinstance(value, str) else value


def export_statistics_xlsx(
    actor, year: int, dest: Path | BinaryIO, *, baseline_year: int | None = None
) -> dict[str, Any]:
    """Write the year's accession statistics as .xlsx to ``dest``; the export is audited."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    stats = statistics_for(actor, year, baseline_year=baseline_year)
    book = Workbook(write_only=True)
    bold = Font(bold=True)

    def header(sheet, titles):
        from openpyxl.cell import WriteOnlyCell

        cells = []
        for title in titles:
            cell = WriteOnlyCell(sheet, value=title)
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)

    sheet = book.create_sheet(_("接收明细"))
    header(sheet, [_("单位代码"), _("移交单位"), _("门类代码"), _("门类"), _("卷"), _("件"),
                   _("卷内文件（件）"), _("卷(件)")])  # fmt: skip
    for r in stats["received"]:
        sheet.append(
            [
                safe_cell(r["unit_code"]),
                safe_cell(r["unit_name"]),
                safe_cell(r["category_code"]),
                safe_cell(r["category_name"]),
                r["volumes"],
                r["items"],
                r["items_in_volumes"],
                r["total"],
            ]
        )
    t = stats["received_totals"]
    sheet.append(
        ["", _("合计"), "", "", t["volumes"], t["items"], t["items_in_volumes"], t["total"]]
    )

    summary = book.create_sheet(_("馆藏增长"))
    header(summary, [_("指标"), _("数值")])
    growth = stats["growth_percent"]
    for label, value in (
        (_("统计年度"), stats["year"]),
        (_("本年接收批次"), stats["batches"]),
        (_("本年接收 卷(件)"), t["total"]),
        (_("馆藏总量 卷(件)"), stats["holdings"]["total"]),
        (_("%(y)d年底馆藏 卷(件)") % {"y": stats["baseline_year"]}, stats["baseline_total"]),
        (_("较基准年增长（%）"), growth if growth is not None else "—"),
    ):
        summary.append([label, value])
    yearly = book.create_sheet(_("逐年接收"))
    header(yearly, [_("年度"), _("接收 卷(件)")])
    for row in stats["by_year"]:
        yearly.append([row["year"], row["total"]])
    book.save(dest)
    record(
        AuditAction.EXPORT,
        actor=actor,
        object_type="accession.statistics",
        object_id=str(year),
        object_repr=_("%(y)d年接收统计") % {"y": year},
        detail={"year": year, "baseline_year": stats["baseline_year"]},
    )
    return stats


# --- handover form access -------------------------------------------------------------------


def handover_file(user, batch: TransferBatch) -> tuple[Path, str]:
    """The handover form's PDF path (regenerated if its file went missing) and a download
    name; only people who may see the batch get it, and the download is audited."""
    from lantai.accession import handover

    if not visible_batches(user).filter(pk=batch.pk).exists():
        raise PermissionDenied(_("您无权查看该批次。"))
    form = HandoverForm.objects.filter(batch=batch).first()
    if form is None:
        raise ValidationError({"handover": [_("该批次尚未接收，没有交接文据。")]})
    path = handover.ensure_pdf(form)
    record(AuditAction.DOWNLOAD, actor=user, obj=form, detail={"batch": batch.number})
    return path, f"{form.number}-档案交接文据.pdf"


# --- demo data --------------------------------------------------------------------------------


def seed_demo_accession(*, today: date | None = None) -> dict[str, int]:
    """Demo accession data for ``lantai demo``: a five-year receipt plan (bringing school and
    hospital records in, raising the share of livelihood 民生 records), a few accepted batches
    whose provenance points at existing holdings (so plan-versus-received shows progress and
    some units are overdue), and a themed acquisition campaign with two acquisitions.

    Uses the units, fonds and categories already loaded; runs as the system (no actor).
    """
    today = today or timezone.localdate()
    first = today.year - 2
    programme = _("%(a)d—%(b)d年档案接收五年规划") % {"a": first, "b": first + 4}
    categories = list(Category.objects.filter(parent__isnull=True).order_by("sort_order"))
    livelihood = list(Category.objects.filter(livelihood=True).order_by("sort_order"))
    if not categories:
        return {"plans": 0, "batches": 0, "acquisitions": 0}
    ws = next((c for c in categories if c.code == "WS"), categories[0])
    units = list(Unit.objects.filter(fonds__isnull=False).distinct().order_by("code"))
    chosen = [u for u in units if u.kind in ("school", "hospital")][:8] or units[:8]
    chosen += [u for u in units if u not in chosen][:4]
    created = {"plans": 0, "batches": 0, "acquisitions": 0}
    with transaction.atomic():
        for n, unit in enumerate(chosen):
            unit_categories = [ws]
            if livelihood:
                unit_categories.append(livelihood[n % len(livelihood)])
            for m, category in enumerate(unit_categories):
                span = 5 if m == 0 else 10
                due = first + (n % 5)
                save_plan(
                    None,
                    {
                        "unit": unit,
                        "category": category,
                        "year_from": due - span - 10,
                        "year_to": due - 10,
                        "due_year": due,
                        "expected_volumes": 0 if category.arrangement == "item" else 40 + n * 5,
                        "expected_items": 300 + n * 40 if category.arrangement == "item" else 0,
                        "programme": programme,
                        "note": _("学校、医院档案进馆；提高民生档案比重")
                        if unit.kind in ("school", "hospital")
                        else "",
                    },
                )
                created["plans"] += 1
        # Accepted batches for about half the planned units, from holdings already there.
        for unit in chosen[::2]:
            fonds = unit.fonds.order_by("code").first()
            items = list(
                Item.objects.filter(fonds=fonds, volume__isnull=True, accession__isnull=True)
                .order_by("id")
                .values_list("pk", "year")[:200]
            )
            volumes = list(
                Volume.objects.filter(fonds=fonds, accession__isnull=True)
                .order_by("id")
                .values_list("pk", flat=True)[:30]
            )
            if not items and not volumes:
                continue
            batch = create_batch(None, unit=unit, fonds=fonds, title=_("演示：年度移交"))
            BatchItem.objects.bulk_create(
                [BatchItem(batch=batch, item_id=pk) for pk, _year in items]
                + [BatchItem(batch=batch, volume_id=pk) for pk in volumes]
            )
            now = timezone.now()
            TransferBatch.objects.filter(pk=batch.pk).update(
                status=BatchStatus.ACCEPTED,
                item_count=len(items),
                volume_count=len(volumes),
                row_count=len(items) + len(volumes),
                submitted_at=now,
                checked_at=now,
                accepted_at=now,
            )
            record(
                AuditAction.UPDATE,
                obj=batch,
                username="system",
                detail={"event": "demo_accepted", "items": len(items), "volumes": len(volumes)},
            )
            created["batches"] += 1
        campaign = save_campaign(
            None,
            {
                "title": _("“老城花园街区”历史记忆档案征集"),
                "description": _("面向社会征集反映花园街区历史风貌的照片、信件、契约、票证等。"),
                "start_date": date(today.year, 1, 1),
                "end_date": date(today.year, 12, 31),
                "active": True,
            },
        )
        save_acquisition(
            None,
            {
                "campaign": campaign,
                "method": "donation",
                "donor_name": _("李秀英"),
                "donor_kind": "person",
                "agreement_no": f"ZJXY-{today.year}-001",
                "agreement_date": date(today.year, 3, 12),
                "rights": _("捐赠人同意档案馆保存、展览和公布，著作权归档案馆。"),
                "description": _("1950—1980年代花园街区老照片42张、家书11封"),
                "quantity": _("53件"),
                "received_at": date(today.year, 3, 12),
                "status": AcquisitionStatus.RECEIVED,
            },
        )
        save_acquisition(
            None,
            {
                "campaign": campaign,
                "method": "deposit",
                "donor_name": _("花园街区居民委员会"),
                "donor_kind": "organisation",
                "deposit_until": date(today.year + 10, 12, 31),
                "rights": _("寄存期间仅限馆内阅览，公布须经寄存方同意。"),
                "description": _("街区改造会议记录及图纸"),
                "status": AcquisitionStatus.NEGOTIATING,
            },
        )
        created["acquisitions"] = 2
    return created
