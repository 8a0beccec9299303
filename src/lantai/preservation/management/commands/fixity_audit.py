"""``lantai fixity-audit [--location L] [--workers N]``: a fixity audit 固定性检查 now.

Re-reads every copy (of one location, or all), repairs what is missing or corrupt from a good
replica, records PREMIS events and prints a summary. Exits with status 1 when a problem could
not be repaired, so cron or a monitoring system notices.
"""

from __future__ import annotations

import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from lantai.core.progress import progress_line


class Command(BaseCommand):
    help = _("固定性检查：重新校验各存储位置上的全部副本，从完好副本修复缺失或损坏的副本。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--location", help=_("只检查这个存储位置（代码），缺省为全部"))
        parser.add_argument("--workers", type=int, default=1, help=_("并行校验的线程数"))

    def handle(self, *args, **options) -> None:
        from lantai.preservation import fixity

        quiet = options["verbosity"] == 0
        try:
            with progress_line(
                total=None, desc=_("固定性检查"), unit=_("副本"), quiet=quiet, file=sys.stderr
            ) as bar:

                def progress(done: int, total: int | None = None, message: str = "") -> None:
                    bar.set(done, total)

                audit = fixity.run_audit(
                    location=options.get("location") or None,
                    workers=options["workers"],
                    progress=progress,
                )
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc
        unrepaired = audit.failures - audit.repaired
        self.stdout.write(
            _(
                "检查 %(copies)d 个副本（%(mb).1f MB）：异常 %(failures)d，已修复 %(repaired)d，"
                "未修复 %(left)d。"
            )
            % {
                "copies": audit.copies_checked,
                "mb": audit.bytes_checked / 1e6,
                "failures": audit.failures,
                "repaired": audit.repaired,
                "left": unrepaired,
            }
        )
        for problem in audit.report.get("problems", []):
            state = _("已修复") if problem["repaired"] else _("未修复")
            self.stdout.write(
                f"  {problem['location']}  {problem['status']}  {state}  {problem['key']}"
                + (f"  {problem['error']}" if problem.get("error") else "")
            )
        if unrepaired:
            sys.exit(1)
