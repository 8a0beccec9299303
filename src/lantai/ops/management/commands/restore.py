"""``lantai restore SRC``: restore a verified backup into an empty instance and verify it."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lantai.ops.backup import BackupError, restore, verify_backup
from lantai.ops.management.commands._stages import StageProgress


class Command(BaseCommand):
    help = "恢复：校验备份后恢复到空实例，执行迁移，并核对行数、审计链与全部存储对象的固定性。"

    def add_arguments(self, parser):
        parser.add_argument("src", help="备份集目录，或备份目录（取最新的备份集）")
        parser.add_argument("--verify-only", action="store_true", help="只校验备份是否完好，不恢复")

    def handle(self, *args, src: str, verify_only: bool, **options):
        progress = StageProgress(quiet=options["verbosity"] == 0)
        try:
            if verify_only:
                manifest = verify_backup(src, progress)
                progress.close()
                self.stdout.write(
                    self.style.SUCCESS(
                        f"备份完好：{manifest['_path']}（{manifest['created_at']}，"
                        f"Lantai {manifest['lantai_version']}）"
                    )
                )
                return
            report = restore(src, progress=progress)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            progress.close()
        lines = [f"已从 {report.source} 恢复，并已执行数据库迁移。"]
        lines.append(
            "行数核对：一致"
            if report.counts_equal
            else "行数核对：不一致 "
            + "；".join(
                f"{k} 备份 {a} / 现有 {b}" for k, (a, b) in report.count_differences.items()
            )
        )
        lines.append(
            f"审计链：完好（{report.audit_checked} 条）"
            if report.audit_ok
            else f"审计链：断裂（{report.audit_reason}）"
        )
        lines.append(
            f"存储对象：{report.objects_ok}/{report.objects} 完好"
            + (f"，恢复内容 {report.content_restored} 个" if report.content_restored else "")
        )
        if report.objects_bad:
            lines.append("缺失或损坏：" + "、".join(report.objects_bad[:10]))
        text = "\n".join(lines)
        if not report.ok:
            raise CommandError(text)
        self.stdout.write(self.style.SUCCESS(text))
