"""``lantai audit verify``: walk the audit chain and name the first broken link.

Exit code 0 when the chain is whole, 1 when it is broken. On long chains a progress line goes
to stderr every 5,000 entries. Run by the operator on the server (no user: the system).

A whole chain ends with its anchor (``SEQ:HASH`` of the newest entry). Kept outside the
database and passed back with ``--anchor`` at a later check, it also shows what the chain alone
cannot: entries removed from the end, or a chain rewritten with recomputed hashes.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from lantai.audit import services


class Command(BaseCommand):
    help = "审计日志工具：verify 校验审计链是否完整。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify}")
        verify = sub.add_parser("verify", help="校验审计链：逐条核对序号、前一条摘要和内容摘要。")
        verify.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="此前校验输出的锚点（可多次给出）：该条目必须仍在且摘要不变。",
        )

    def handle(self, *args, subcommand: str, **options) -> None:
        if subcommand == "verify":
            self.verify(options["anchor"])

    def verify(self, anchor_texts: list[str]) -> None:
        anchors = []
        for text in anchor_texts:
            try:
                anchors.append(services.parse_anchor(text))
            except ValueError as exc:
                raise CommandError(f"--anchor: {exc}") from exc

        def progress(count: int) -> None:
            self.stderr.write(_("已校验 %(count)d 条…") % {"count": count})
            self.stderr.flush()

        report = services.verify(None, progress=progress, anchors=anchors)
        if report.ok:
            self.stdout.write(_("审计链完整：%(count)d 条") % {"count": report.checked})
            if report.head_anchor:
                self.stdout.write(
                    _("锚点：%(anchor)s（请在数据库之外另行保存，下次校验时以 --anchor 传入）")
                    % {"anchor": report.head_anchor}
                )
            return
        message = _(
            "审计链断裂：第一处断点在第 %(seq)d 条，原因：%(reason)s（此前 %(count)d 条完整）"
        )
        self.stderr.write(
            message
            % {
                "seq": report.broken_seq,
                "reason": services.reason_text(report),
                "count": report.checked,
            }
        )
        raise SystemExit(1)
