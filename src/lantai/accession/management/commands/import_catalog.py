"""``lantai import-catalog FILE --fonds CODE``: check a transfer catalog and import it.

The operator's way in for a unit's catalog on the server's disk: a transfer batch is opened,
the catalog (and ``--files``, a folder or ZIP named by 档号) is checked with the same engine as
the web upload, and when nothing is wrong the batch is accepted into holdings in one
transaction (with its handover form). When anything is wrong, the report is written
(``--report``, else ``<FILE>-检测报告.xlsx`` in the current folder), nothing is imported, and
the command exits with status 1. ``--dry-run`` checks and reports only, and leaves no batch.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from lantai.accession.models import IssueKind
from lantai.core.progress import progress_line


class _DryRun(Exception):
    """Rolls the dry run's transaction back."""


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "；".join(m for messages in exc.message_dict.values() for m in messages)
    return "；".join(exc.messages)


class Command(BaseCommand):
    help = _(
        "检测并导入移交目录（.xlsx/.xls/.csv）：有任何错误时写出检测报告、不导入任何条目，"
        "并以非零状态退出；无误时在一个事务中接收进馆。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=_("目录文件（.xlsx、.xls 或 .csv）"))
        parser.add_argument("--fonds", required=True, help=_("全宗号，如 Z109"))
        parser.add_argument("--unit", help=_("移交单位代码（缺省为全宗的立档单位）"))
        parser.add_argument("--files", help=_("电子文件所在的文件夹或 ZIP 包（以档号命名）"))
        parser.add_argument("--title", default="", help=_("批次说明"))
        parser.add_argument(
            "--dry-run", action="store_true", help=_("只检测、写报告，不建批次、不导入")
        )
        parser.add_argument("--report", help=_("检测报告（.xlsx）的保存路径"))

    def handle(self, *args, **options) -> None:
        from lantai.holdings.models import Fonds, Unit

        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("目录文件不存在：%(p)s") % {"p": path})
        if path.suffix.lower() not in (".xlsx", ".xls", ".csv", ".xlsm"):
            raise CommandError(_("目录文件须为 .xlsx、.xls 或 .csv：%(p)s") % {"p": path.name})
        fonds = Fonds.objects.filter(code=options["fonds"]).select_related("unit").first()
        if fonds is None:
            raise CommandError(_("全宗不存在：%(c)s") % {"c": options["fonds"]})
        unit = fonds.unit
        if options.get("unit"):
            unit = Unit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(_("单位不存在：%(c)s") % {"c": options["unit"]})
        files = Path(options["files"]) if options.get("files") else None
        if files is not None and not files.exists():
            raise CommandError(_("电子文件路径不存在：%(p)s") % {"p": files})
        report = Path(options["report"]) if options.get("report") else None
        quiet = options["verbosity"] == 0
        try:
            self._run(path, fonds, unit, files, report, options, quiet)
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc

    def _run(self, path, fonds, unit, files, report, options, quiet) -> None:
        from lantai.accession import services
        from lantai.accession.catalog import batch_dir
        from lantai.accession.models import BatchStatus, TransferBatch

        dry_run = options["dry_run"]
        title = options["title"] or _("命令行导入：%(n)s") % {"n": path.name}
        folder: Path | None = None
        try:
            with transaction.atomic():
                batch = services.create_batch(None, unit=unit, fonds=fonds, title=title[:200])
                folder = batch_dir(batch)
                upload = self._upload(batch, folder, path, files)
                if dry_run:
                    summary = self._check(services, batch, upload, quiet)
                    self._outcome(summary, upload, path, report, dry_run=True)
                    raise _DryRun
        except _DryRun:
            return
        finally:
            if dry_run and folder is not None:
                shutil.rmtree(folder, ignore_errors=True)

        # The acceptance checks every row again inside its transaction, so a catalog without
        # problems goes through in one pass; if it finds any, nothing is imported and the
        # full check runs to record every issue and write the report.
        TransferBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.ACCEPTING)
        try:
            with progress_line(
                desc=_("检测并接收"), unit=_("行"), quiet=quiet, file=self._stream()
            ) as bar:
                result = services.run_accept(None, batch.pk, upload.pk, progress=_feed(bar))
        except ValidationError as exc:
            failure = _messages(exc)
        else:
            TransferBatch.objects.filter(pk=batch.pk).update(
                row_count=result.get("rows", 0),
                volume_count=result.get("volumes", 0),
                item_count=result.get("items", 0),
                file_count=result.get("files", 0),
            )
            self.stdout.write(
                _("已接收批次 %(b)s：%(r)d 行，%(v)d 卷，%(i)d 件，%(f)d 个电子文件（%(s).1f 秒）")
                % {
                    "b": batch.number,
                    "r": result.get("rows", 0),
                    "v": result.get("volumes", 0),
                    "i": result.get("items", 0),
                    "f": result.get("files", 0),
                    "s": result.get("seconds", 0),
                }
            )
            return
        summary = self._check(services, batch, upload, quiet)
        if not summary["errors"]:
            raise CommandError(_("接收失败，未导入任何条目：%(e)s") % {"e": failure})
        self._outcome(summary, upload, path, report, dry_run=False)

    def _check(self, services, batch, upload, quiet) -> dict:
        from lantai.accession.models import BatchStatus, TransferBatch

        TransferBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.CHECKING)
        with progress_line(desc=_("检测"), unit=_("行"), quiet=quiet, file=self._stream()) as bar:
            return services.run_check(None, upload.pk, progress=_feed(bar))

    def _outcome(self, summary: dict, upload, path: Path, report: Path | None, *, dry_run):
        line = _("%(r)d 行，%(e)d 个错误，%(w)d 个警告") % {
            "r": summary["rows"],
            "e": summary["errors"],
            "w": summary["warnings"],
        }
        if not summary["errors"]:
            if report is not None:
                self._report(upload, report)
            self.stdout.write(_("检测通过（试运行，未导入）：%(l)s") % {"l": line})
            return
        target = report or Path.cwd() / f"{path.stem}-检测报告.xlsx"
        self._report(upload, target)
        self.stderr.write(_("检测未通过：%(l)s。") % {"l": line})
        labels = dict(IssueKind.choices)
        for kind, count in sorted(summary.get("by_kind", {}).items(), key=lambda kv: -kv[1]):
            self.stderr.write(f"  {labels.get(kind, kind)}：{count}")
        if dry_run:
            # The dry run's transaction is rolled back by the caller; say so, then fail.
            self.stderr.write(_("未导入任何条目。检测报告：%(p)s") % {"p": target})
            raise CommandError(_("检测未通过（试运行）"))
        raise CommandError(_("未导入任何条目。检测报告：%(p)s") % {"p": target})

    def _stream(self):
        # The progress line goes to the command's own stderr stream (not through
        # OutputWrapper, which would add a line ending to every write).
        return getattr(self.stderr, "_out", None)

    @staticmethod
    def _upload(batch, folder: Path, path: Path, files: Path | None):
        from lantai.accession.models import CatalogUpload

        target = folder / "upload-001" / f"catalog{path.suffix.lower()}"
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with path.open("rb") as src, target.open("wb") as out:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        files_path = ""
        if files is not None:
            # A folder is read where it is; a ZIP is unpacked into the batch's own folder.
            files_path = str(files.resolve())
        return CatalogUpload.objects.create(
            batch=batch,
            catalog_name=path.name[:255],
            catalog_path=str(target),
            catalog_sha256=digest.hexdigest(),
            files_name=files.name[:255] if files is not None else "",
            files_path=files_path,
        )

    def _report(self, upload, target: Path) -> None:
        from lantai.accession.report import write_report_xlsx

        target.parent.mkdir(parents=True, exist_ok=True)
        write_report_xlsx(upload, target)


def _feed(bar):
    def progress(done: int, total: int | None = None, message: str = "") -> None:
        bar.set(done, total)
        if message:
            bar.message(message)

    return progress
