"""Acceptance 接收: bringing a checked catalog into holdings in one transaction.

``accept_upload`` runs the check engine again inside the transaction (holdings may have
changed since the check) and inserts the cleaned rows chunk by chunk with ``bulk_create``:
volumes, items, their provenance (``BatchItem``) and their files (through the storage layer).
Any error — a row that no longer passes, a 档号 taken meanwhile, a file that cannot be
stored — rolls everything back: nothing of the batch stays in holdings.
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from operator import itemgetter
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from lantai.accession.catalog import CatalogError
from lantai.accession.checks import (
    CHUNK,
    Engine,
    IssueSink,
    Progress,
    Row,
    codes_in,
    open_upload,
)
from lantai.accession.checks import prepare_files as _prepare_files
from lantai.accession.models import BatchItem, CatalogUpload, TransferBatch
from lantai.audit.models import AuditAction
from lantai.audit.services import record
from lantai.core.permissions import require
from lantai.holdings.models import Item, Volume

MANAGE = "accession.manage_accession"

_VOLUME_FIELDS = (
    "fonds_id",
    "category_id",
    "series_id",
    "unit_id",
    "catalog_no",
    "year",
    "retention",
    "classification",
    "carrier",
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _FastInsert:
    """INSERTs of already-checked rows with ``executemany``, bypassing the per-value work of
    ``bulk_create`` (the engine has cleaned every value; the database's constraints still
    apply). Columns a row does not give take the field's default, prepared once; the row's
    values are picked in column order by one ``itemgetter``."""

    def __init__(self, model, constants: dict[str, Any] | None = None) -> None:
        constants = constants or {}
        quote = connection.ops.quote_name
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        varying = [f for f in fields if f.attname not in constants]
        fixed = [f for f in fields if f.attname in constants]
        columns = [*varying, *fixed]
        # Identifiers come from the model's own metadata, quoted; values are parameters.
        self.sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
            quote(model._meta.db_table),
            ", ".join(quote(f.column) for f in columns),
            ", ".join(["%s"] * len(columns)),
        )
        self.copy_sql = "COPY {} ({}) FROM STDIN".format(
            quote(model._meta.db_table), ", ".join(quote(f.column) for f in columns)
        )
        self.fixed = tuple(f.get_db_prep_save(constants[f.attname], connection) for f in fixed)
        self.defaults: dict[str, Any] = {}
        for f in varying:
            # "" for text columns without a default, None for nullable ones (Django's rule).
            default = f.get_default()
            if isinstance(f, models.JSONField) or not isinstance(
                default, str | int | float | type(None)
            ):
                default = f.get_db_prep_save(default, connection)
            self.defaults[f.attname] = default
        self.dates = [
            f.attname
            for f in varying
            if isinstance(f, models.DateField) and not isinstance(f, models.DateTimeField)
        ]
        self.adapt_date = connection.ops.adapt_datefield_value
        self.pick = itemgetter(*(f.attname for f in varying))

    def rows(self, records: list[dict[str, Any]]) -> list[tuple]:
        defaults, dates, adapt, pick, fixed = (
            self.defaults,
            self.dates,
            self.adapt_date,
            self.pick,
            self.fixed,
        )
        out = []
        for record_ in records:
            full = {**defaults, **record_}
            for key in dates:
                value = full[key]
                if value is not None:
                    full[key] = adapt(value)
            out.append(pick(full) + fixed)
        return out

    def insert(self, records: list[dict[str, Any]]) -> None:
        rows = self.rows(records)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # COPY is several times faster than INSERTs on PostgreSQL; same rows, same
                # constraints, same transaction.
                with cursor.cursor.copy(self.copy_sql) as copy:
                    for values in rows:
                        copy.write_row(values)
            else:
                cursor.executemany(self.sql, rows)


class _Importer:
    def __init__(self, actor, batch: TransferBatch, upload: CatalogUpload, engine: Engine):
        self.actor = actor
        self.batch = batch
        self.upload = upload
        self.engine = engine
        self.kind = engine.kind
        self.volumes: dict[str, int] = {}
        now = timezone.now()
        stamps = {"created_at": now, "updated_at": now}
        self.item_insert = _FastInsert(Item, {**stamps, "extra": {}})
        self.volume_insert = _FastInsert(Volume, stamps)
        self.provenance = _FastInsert(BatchItem)
        self.created_volumes: list[int] = []
        self.items = 0
        self.volume_count = 0
        self.files = 0

    def _ids(self, model, codes: list[str]) -> dict[str, int]:
        return codes_in(model, codes)

    def _provenance(self, pairs: list[tuple[int, int]], field: str) -> None:
        self.provenance.insert(
            [{"batch_id": self.batch.pk, field: pk, "row": number} for pk, number in pairs]
        )

    def insert(self, chunk: list[Row]) -> None:
        if self.kind == "volume":
            self.volume_insert.insert([row.values for row in chunk])
            ids = self._ids(Volume, [row.code for row in chunk])
            self._provenance([(ids[row.code], row.number) for row in chunk], "volume_id")
            self.volume_count += len(chunk)
            return
        if self.kind == "volume_items":
            self._create_volumes(chunk)
            for row in chunk:
                row.values["volume_id"] = self.volumes[row.volume_code]
        self.item_insert.insert([row.values for row in chunk])
        ids = self._ids(Item, [row.code for row in chunk])
        self._provenance([(ids[row.code], row.number) for row in chunk], "item_id")
        self.items += len(chunk)
        for row in chunk:
            if row.files:
                self._store_files(ids[row.code], row)

    def _create_volumes(self, chunk: list[Row]) -> None:
        new: dict[str, dict[str, Any]] = {}
        rows: dict[str, int] = {}
        for row in chunk:
            code = row.volume_code
            if code in self.volumes or code in new:
                continue
            existing = self.engine.existing_volumes.get(code)
            if existing is not None:
                self.volumes[code] = existing
                continue
            values = {name: row.values[name] for name in _VOLUME_FIELDS}
            values.update(volume_no=row.volume_no, reference_code=code, title=row.volume_title)
            new[code] = values
            rows[code] = row.number
        if not new:
            return
        self.volume_insert.insert(list(new.values()))
        ids = self._ids(Volume, list(new))
        self._provenance([(ids[code], rows[code]) for code in new], "volume_id")
        for code in new:
            self.volumes[code] = ids[code]
            self.created_volumes.append(ids[code])
        self.volume_count += len(new)

    def _store_files(self, item_id: int, row: Row) -> None:
        from lantai.storage.services import attach, put_file

        item = Item.objects.get(pk=item_id)
        for entry in row.files:
            key = unicodedata.normalize("NFC", f"accession/{self.batch.number}/{entry.rel}")
            stored = put_file(entry.path, key, purpose="accession")
            attach(item, stored, role="master", filename=Path(entry.rel).name)
            self.files += 1

    def finish_volumes(self) -> None:
        """Give volumes made from 卷内目录 rows their date span and page total."""
        for start in range(0, len(self.created_volumes), CHUNK):
            ids = self.created_volumes[start : start + CHUNK]
            spans = (
                Item.objects.filter(volume_id__in=ids)
                .order_by()
                .values_list("volume_id")
                .annotate(Min("date"), Max("date"), Sum("pages"))
            )
            updates = []
            for volume_id, first, last, pages in spans:
                updates.append(Volume(pk=volume_id, date_start=first, date_end=last, pages=pages))
            Volume.objects.bulk_update(
                updates, ["date_start", "date_end", "pages"], batch_size=1000
            )


def accept_upload(
    actor, batch: TransferBatch, upload: CatalogUpload, *, progress: Progress = None
) -> dict[str, Any]:
    """Import ``upload`` of ``batch`` into holdings in ONE transaction: volumes and items
    (bulk), a ``BatchItem`` per record, files through ``storage.put_file`` + ``attach``, and
    one audit entry for the batch. Every row is checked again first; if anything is wrong or
    fails, raises ValidationError and leaves nothing behind. Returns the counts.

    Runs inside the caller's transaction when there is one (the workflow also moves the
    batch to "accepted" and writes the handover form in it)."""
    require(actor, MANAGE)
    started = time.monotonic()
    upload = CatalogUpload.objects.select_related("batch", "batch__fonds", "batch__unit").get(
        pk=upload.pk
    )
    if upload.batch_id != batch.pk:
        raise ValidationError({"upload": [_("该目录不属于此批次")]})
    batch = upload.batch
    try:
        catalog = open_upload(upload)
    except CatalogError as exc:
        raise ValidationError({"catalog": [exc.message]}) from exc
    if upload.catalog_sha256 and _sha256(catalog.path) != upload.catalog_sha256:
        raise ValidationError({"catalog": [_("目录文件在检测后被改动过，请重新上传并检测")]})

    def report(done, total=None, message=""):
        if progress is not None:
            progress(done, total, _("接收中：已处理 %(n)d 行") % {"n": done})

    sink = IssueSink(None)
    try:
        with transaction.atomic():
            files = _prepare_files(upload, reuse=True)
            engine = Engine(batch, catalog, sink, files, progress=report)
            engine._load_holdings_max()
            importer = _Importer(actor, batch, upload, engine)
            for chunk in engine.rows():
                if sink.errors:
                    # Stop at the first chunk with a problem: the check lists them all.
                    break
                importer.insert(chunk)
            else:
                engine.finish()
            if sink.errors:
                raise ValidationError(
                    {
                        "catalog": [
                            _("目录有错误，未接收任何条目。请先修正后重新检测。"),
                            *sink.first,
                        ]
                    }
                )
            importer.finish_volumes()
            result = {
                "rows": engine.rows_seen,
                "volumes": importer.volume_count,
                "items": importer.items,
                "files": importer.files,
                "kind": engine.kind,
                "upload": upload.pk,
                "seconds": round(time.monotonic() - started, 2),
            }
            record(
                AuditAction.CREATE,
                actor=actor,
                obj=batch,
                detail={"event": "import", **result},
            )
            # 全文检索: the bulk insert sends no signals; index the batch's items on commit.
            from lantai.search.services import index_items_on_commit

            index_items_on_commit(
                lambda: BatchItem.objects.filter(batch=batch, item__isnull=False).values_list(
                    "item_id", flat=True
                )
            )
    except CatalogError as exc:
        raise ValidationError({"catalog": [exc.message]}) from exc
    except IntegrityError as exc:
        raise ValidationError(
            {
                "catalog": [
                    _(
                        "接收失败：档号或编号与馆藏冲突（可能有他人同时接收），未接收任何条目（%(e)s）"
                    )
                    % {"e": str(exc)[:120]}
                ]
            }
        ) from exc
    if progress is not None:
        progress(
            result["rows"],
            result["rows"],
            _("接收完成：%(v)d 卷，%(i)d 件，%(f)d 个文件")
            % {"v": result["volumes"], "i": result["items"], "f": result["files"]},
        )
    return result


__all__ = ["accept_upload"]
