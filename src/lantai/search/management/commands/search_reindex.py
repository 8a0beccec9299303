"""``lantai search-reindex``: rebuild the full-text index 重建全文索引 of every item, or
(``--items``) reindex a few."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from lantai.core.progress import progress_line
from lantai.search import services


class Command(BaseCommand):
    help = "重建全文检索索引（全部条目，或 --items 指定的条目）。"

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--items", nargs="+", type=int, metavar="ID", help="只重建这些条目的索引"
        )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        quiet = options["verbosity"] == 0
        if options["items"]:
            count = services.index_items(options["items"])
        else:
            try:
                with progress_line(desc="重建索引", unit="件", quiet=quiet) as bar:
                    count = services.reindex_all(progress=bar)
            except Exception as exc:  # one transaction: nothing half-built stays
                raise CommandError(f"重建索引失败，原索引未改动：{exc}") from exc
        seconds = time.monotonic() - started
        if not quiet:
            rate = count / seconds if seconds > 0 else 0
            self.stdout.write(f"已索引 {count} 件，用时 {seconds:.1f} 秒（{rate:.0f} 件/秒）。")
