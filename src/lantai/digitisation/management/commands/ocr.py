"""``lantai ocr ITEM_ID | --pending``: recognise (OCR) scans on the server, with a progress line.

``lantai ocr 42`` recognises item 42's latest scan batch that passed the checks (re-running a
finished batch replaces its results); ``--scan FILE ...`` first uploads and checks those files
as a new batch of the item; ``--pending`` recognises every batch that passed the checks and was
never recognised. Runs in this process as the system (the operator), not through the queue.
Exits non-zero when any batch fails.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from lantai.core.progress import progress_line


def _messages(exc: ValidationError) -> str:
    return "；".join(exc.messages)


class Command(BaseCommand):
    help = _("对扫描件进行文字识别（OCR），并将扫描件、全文和双层 PDF 存入该件档案。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("item", nargs="?", help=_("件的 ID"))
        parser.add_argument("--pending", action="store_true", help=_("识别所有待识别的批次"))
        parser.add_argument("--batch", type=int, help=_("指定扫描批次 ID"))
        parser.add_argument(
            "--scan", nargs="+", default=[], help=_("先上传并检测这些扫描文件（新批次）")
        )
        parser.add_argument(
            "--colour-elements", action="store_true", help=_("文件含红头或印章（不得黑白二值）")
        )
        parser.add_argument(
            "--force", action="store_true", help=_("批次停留在“识别中”（进程中断）时强制重新识别")
        )

    def handle(self, *args, **options) -> None:
        from lantai.digitisation import services
        from lantai.digitisation.models import BatchStatus, ScanBatch
        from lantai.holdings.models import Item

        if bool(options["item"]) == bool(options["pending"]):
            raise CommandError(_("请给出件的 ID，或使用 --pending。"))
        quiet = options["verbosity"] == 0
        if options["pending"]:
            batches = list(services.pending_batches())
            if not batches and not quiet:
                self.stdout.write(_("没有待识别的批次。"))
        else:
            try:
                item = Item.objects.get(pk=int(options["item"]))
            except (ValueError, Item.DoesNotExist):
                raise CommandError(_("件不存在：%(id)s") % {"id": options["item"]}) from None
            if options["scan"]:
                batches = [self._upload(item, options)]
            elif options["batch"]:
                batch = ScanBatch.objects.filter(item=item, pk=options["batch"]).first()
                if batch is None:
                    raise CommandError(_("该件没有此扫描批次：%(id)s") % {"id": options["batch"]})
                batches = [batch]
            else:
                batch = item.scan_batches.exclude(status=BatchStatus.REJECTED).first()
                if batch is None:
                    raise CommandError(_("该件没有检测通过的扫描批次。"))
                batches = [batch]
        failures = 0
        for batch in batches:
            with progress_line(
                total=batch.page_count + 1,
                desc=_("识别 批次 %(id)d") % {"id": batch.pk},
                unit=_("页"),
                quiet=quiet,
            ) as bar:

                def progress(done, total=None, message="", bar=bar, **_ignored):
                    bar.set(done, total)
                    if message:
                        bar.message(str(message))

                try:
                    result = services.process_batch(
                        None, batch.pk, progress=progress, force=options["force"]
                    )
                except ValidationError as exc:
                    failures += 1
                    bar.write(
                        _("批次 %(id)d 未识别：%(msg)s") % {"id": batch.pk, "msg": _messages(exc)}
                    )
                    continue
                except PermissionDenied as exc:  # pragma: no cover - the system may do all
                    raise CommandError(str(exc)) from exc
                except Exception as exc:
                    failures += 1
                    bar.write(_("批次 %(id)d 识别失败：%(msg)s") % {"id": batch.pk, "msg": exc})
                    continue
            if not quiet:
                self.stdout.write(
                    _("批次 %(id)d：%(pages)d 页，识别 %(chars)d 字，扫描件入库为%(role)s。")
                    % {
                        "id": batch.pk,
                        "pages": result["pages"],
                        "chars": result["chars"],
                        "role": _("原件") if result["scans_as"] == "master" else _("利用件"),
                    }
                )
        if failures:
            raise CommandError(_("%(n)d 个批次识别失败。") % {"n": failures})

    def _upload(self, item, options):
        from lantai.digitisation import checks, services
        from lantai.digitisation.models import BatchStatus

        paths = [Path(p) for p in options["scan"]]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise CommandError(_("文件不存在：%(p)s") % {"p": "、".join(missing)})
        handles = [open(p, "rb") for p in paths]  # noqa: SIM115 - closed below
        try:
            batch = services.create_batch(
                None,
                item,
                [(p.name, fh) for p, fh in zip(paths, handles, strict=True)],
                colour_elements=options["colour_elements"],
                run_ocr=False,
            )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        finally:
            for fh in handles:
                fh.close()
        if batch.status == BatchStatus.REJECTED:
            for page in batch.pages.exclude(result="pass"):
                for found in page.issues:
                    self.stderr.write(f"  {page.number}: {checks.message(found)}")
            raise CommandError(batch.message)
        return batch
