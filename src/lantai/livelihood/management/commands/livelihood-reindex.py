"""``lantai livelihood-reindex``: rebuild the person index 人员索引 of livelihood records."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from lantai.core.progress import progress_line
from lantai.livelihood import demo, persons


class Command(BaseCommand):
    help = _("重建民生档案人员索引（姓名、身份证号摘要、出生年份）。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--demo-ids",
            action="store_true",
            help=_("先为演示数据中 1985 年起的民生档案补充虚构的身份证号（仅用于演示库）"),
        )

    def handle(self, *args, **options) -> None:
        show = options["verbosity"] > 0
        if options["demo_ids"]:
            changed = demo.add_id_numbers()
            if show:
                self.stdout.write(_("已为 %(n)d 件演示档案补充身份证号。") % {"n": changed})
        with progress_line(
            total=None, desc=_("重建人员索引"), unit=_("件"), file=self.stderr, quiet=not show
        ) as bar:
            rows = persons.reindex(progress=lambda done, total: bar.set(done, total))
        if show:
            self.stdout.write(_("人员索引已重建：%(n)d 条。") % {"n": rows})
