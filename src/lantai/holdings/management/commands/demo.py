"""``lantai demo``: load a realistic demo district archive (演示数据) and one account per role."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from lantai.accounts.roles import Role
from lantai.holdings.demo.generator import (
    DEFAULT_ITEMS,
    DEFAULT_SEED,
    DemoError,
    DemoResult,
    load_demo,
)


class Command(BaseCommand):
    help = _(
        "加载演示数据：约40个立档单位及其全宗、各门类档案（默认50000件）和每个角色的演示账户。"
        "整个加载在一个事务中完成，中断则不留任何数据。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--items",
            type=int,
            default=DEFAULT_ITEMS,
            help=_("件数（含卷内文件），默认 %(n)d") % {"n": DEFAULT_ITEMS},
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=_("随机种子：同一种子生成同样的馆藏数据（账户密码每次随机）"),
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help=_("馆藏中已有数据时什么也不做（供 make run 使用）"),
        )
        parser.add_argument("--no-users", action="store_true", help=_("不创建演示账户"))

    def handle(self, *args, **options) -> None:
        items = options["items"]
        if items < 0:
            raise CommandError(_("--items 不能为负数。"))
        show = options["verbosity"] > 0
        bar: tqdm | None = None

        def tick(n: int) -> None:
            # Made on the first item, so a skipped or refused load shows no bar.
            nonlocal bar
            if bar is None:
                bar = tqdm(
                    total=items,
                    unit=_("件"),
                    file=sys.stderr,
                    disable=not show,
                    desc=_("生成演示数据"),
                    dynamic_ncols=True,
                )
            bar.update(n)

        try:
            result = load_demo(
                items=items,
                seed=options["seed"],
                if_empty=options["if_empty"],
                with_users=not options["no_users"],
                progress=tick,
            )
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if bar is not None:
                bar.close()
        if result.skipped:
            if show:
                self.stdout.write(_("馆藏中已有数据，未加载演示数据。"))
            return
        self.report(result)

    def report(self, result: DemoResult) -> None:
        out = self.stdout
        out.write(
            _(
                "已加载演示数据（种子 %(seed)d，用时 %(secs).1f 秒）：%(units)d 个单位，"
                "%(fonds)d 个全宗，%(series)d 个机构(问题)，%(volumes)d 卷，%(items)d 件"
                "（其中卷内文件 %(inside)d 件），合计 %(total)d 卷(件)。"
            )
            % {
                "seed": result.seed,
                "secs": result.seconds,
                "units": result.units,
                "fonds": result.fonds,
                "series": result.series,
                "volumes": result.volumes,
                "items": result.items,
                "inside": result.items_in_volumes,
                "total": result.holdings_count,
            }
        )
        if not result.users:
            return
        rows = [(_("角色"), _("用户名"), _("密码"))]
        for user in result.users:
            password = user.password if user.created else _("（账户已存在，密码未改）")
            rows.append((str(Role(user.role).label), user.username, password))
        widths = [max(_width(row[i]) for row in rows) for i in range(3)]
        out.write("")
        for n, row in enumerate(rows):
            out.write("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
            if n == 0:
                out.write("  ".join("-" * w for w in widths))
        out.write(_("请妥善保存以上密码：它们只显示这一次。"))


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
