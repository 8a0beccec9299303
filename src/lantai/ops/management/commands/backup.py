"""``lantai backup DEST [--with-content]``: a consistent, checksummed backup while serving."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lantai.ops.backup import BackupError, backup
from lantai.ops.management.commands._stages import StageProgress


class Command(BaseCommand):
    help = "备份：数据库、配置与全部存储对象的清单（--with-content 同时备份内容，增量）。"

    def add_arguments(self, parser):
        parser.add_argument("dest", help="备份目录（每次运行在其中新建一个备份集）")
        parser.add_argument(
            "--with-content",
            action="store_true",
            help="同时备份存储对象的内容（按 SHA-256 存放，已有的不再复制）",
        )

    def handle(self, *args, dest: str, with_content: bool, **options):
        progress = StageProgress(quiet=options["verbosity"] == 0)
        try:
            result = backup(dest, with_content=with_content, progress=progress)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            progress.close()
        m = result.manifest
        self.stdout.write(
            self.style.SUCCESS(
                f"备份完成：{result.path}\n"
                f"  数据库 {m['database']['vendor']}，{sum(m['counts'].values())} 行，"
                f"{result.objects} 个存储对象"
                + (
                    f"；内容新复制 {result.content_copied} 个，已有 {result.content_skipped} 个"
                    if with_content
                    else ""
                )
            )
        )
