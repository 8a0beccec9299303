"""``lantai demo``: load a realistic demo district archive (演示数据) and one account per role."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from tqdm import tqdm

from lantai.accounts.roles import Role
from lantai.audit.models import AuditEntry
from lantai.holdings.demo import data, extras
from lantai.holdings.demo.generator import (
    DEFAULT_ITEMS,
    DEFAULT_SEED,
    DemoError,
    DemoResult,
    load_demo,
)
from lantai.holdings.models import Unit


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
        parser.add_argument(
            "--no-extras",
            action="store_true",
            help=_(
                "只加载馆藏和账户，不加载接收征集、库房、环境监测、在线归档及利用、鉴定、指导、宣传等演示数据"
            ),
        )
        parser.add_argument(
            "--env-days",
            type=int,
            default=None,
            help=_("环境监测历史天数（10分钟一条），默认 %(n)d 天；件数少于一万时为 1 天")
            % {"n": extras.DEFAULT_ENV_DAYS},
        )
        parser.add_argument(
            "--base-url",
            default=os.environ.get("LANTAI_BASE_URL", "http://127.0.0.1:8000"),
            help=_("“去哪里看”列表中的网址前缀"),
        )

    def handle(self, *args, **options) -> None:
        items = options["items"]
        if items < 0:
            raise CommandError(_("--items 不能为负数。"))
        # Checked before anything is loaded: a bad option must not leave half a demo behind.
        if options["env_days"] is not None and options["env_days"] < 1:
            raise CommandError(_("--env-days 至少为 1。"))
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
            # A demo archive (its load is in the audit trail) gets the parts it still lacks;
            # a real archive is never touched.
            if options["no_extras"] or not self.is_demo_archive():
                return
        else:
            self.report(result)
            # The generator inserts in bulk (no signals): build the full-text index at once,
            # so the portal and the search page find the demo records.
            self.reindex_search(show)
        if options["no_extras"]:
            return
        small = items < 10_000
        env_days = options["env_days"]
        if env_days is None:
            env_days = 1 if small else extras.DEFAULT_ENV_DAYS
        loaded = extras.load_extras(
            placements=min(extras.DEFAULT_PLACEMENTS, max(items // 5, 50)),
            env_days=env_days,
            older_days=extras.OLDER_DAYS if not small else 0,
            report=self.report_part if show else None,
        )
        if show:
            self.report_secrets(loaded.secrets)
            self.where_to_look(options["base_url"])

    def reindex_search(self, show: bool) -> None:
        from lantai.core.progress import progress_line
        from lantai.search.services import reindex_all

        with progress_line(desc=_("建立全文索引"), quiet=not show) as bar:
            reindex_all(progress=bar)

    @staticmethod
    def is_demo_archive() -> bool:
        """The demo's load is in the audit trail and its first unit is still there."""
        return (
            AuditEntry.objects.filter(object_type="holdings.demo").exists()
            and Unit.objects.filter(code=data.UNITS[0].unit_code).exists()
        )

    def report_part(self, part: extras.PartResult) -> None:
        status = {
            extras.DONE: _("已加载"),
            extras.ALREADY: _("已存在，未重复加载"),
            extras.SKIPPED: _("已跳过"),
            extras.FAILED: _("失败（已回滚）"),
        }[part.status]
        counts = "，".join(f"{_count_label(k)} {v}" for k, v in part.counts.items())
        line = f"· {part.label}：{status}"
        if counts:
            line += f"（{counts}）"
        if part.message:
            line += f"。{part.message}"
        line += _("，用时 %(s).1f 秒") % {"s": part.seconds}
        (self.stderr if part.status == extras.FAILED else self.stdout).write(line)

    def report_secrets(self, secrets: list[extras.Secret]) -> None:
        if not secrets:
            return
        out = self.stdout
        rows = [(_("令牌"), _("名称"), _("密钥"))]
        rows += [(s.label, s.name, s.value) for s in secrets]
        widths = [max(_width(row[i]) for row in rows) for i in range(3)]
        out.write("")
        for n, row in enumerate(rows):
            out.write("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
            if n == 0:
                out.write("  ".join("-" * w for w in widths))
        out.write(_("令牌密钥同样只显示这一次。"))

    def where_to_look(self, base: str) -> None:
        base = base.rstrip("/")
        out = self.stdout
        out.write("")
        out.write(_("去哪里看（以档案馆员 archivist 登录；库房和环境以库管员 keeper 登录）："))
        for path, text in WHERE_TO_LOOK:
            out.write(f"  {_(text)}  {base}{path}")
        # The demo's readings stop at load time; without fresh ones the sensors go silent
        # (离线告警) after their heartbeat.
        out.write(
            _("让传感器持续上报（另开终端）：%(cmd)s")
            % {
                "cmd": f"lantai vault simulate --http {base} --token <"
                + _("环境监测采集令牌")
                + "> --interval 600 --faults 0"
            }
        )

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


WHERE_TO_LOOK = (
    ("/", N_("工作台（概览、告警）")),
    ("/holdings/", N_("馆藏浏览：全宗、门类、年度")),
    ("/holdings/items/", N_("档案检索（件）")),
    ("/accession/plans/", N_("接收计划：计划与实际接收对比")),
    ("/accession/", N_("移交接收批次")),
    ("/accession/acquisitions/", N_("征集：捐赠与寄存")),
    ("/accession/statistics/", N_("接收统计")),
    ("/vault/", N_("库房与架位：容量、上架")),
    ("/vault/circulations/", N_("出入库：逾期未还、待批准")),
    ("/vault/entries/", N_("库房出入登记")),
    ("/vault/env/", N_("库房环境：八防监测与曲线")),
    ("/vault/env/alarms/", N_("环境告警：未处理、已确认")),
    ("/ingest/sips/", N_("在线归档：归档信息包与四性检测报告")),
    ("/ingest/tokens/", N_("接口令牌（系统管理员 sysadmin）")),
    ("/preservation/fixity/", N_("长期保存：固定性检查")),
    ("/audit/", N_("审计日志（安全审计员 auditor）")),
    ("/search/", N_("全文检索：繁简通查、分面、摘要")),
    ("/digitisation/profiles/", N_("数字化：扫描检测标准与文字识别")),
    ("/opening/", N_("开放鉴定：到期档案，鉴定中、待审批和已审批的批次")),
    ("/use/", N_("档案利用：各环节的利用申请、特批与档案证明")),
    ("/livelihood/", N_("民生档案：人员检索与跨馆出证（申请、协办、办结）")),
    ("/outreach/", N_("宣传与编研：参观预约、展览、征集、编研、口述档案")),
    ("/supervision/", N_("业务指导：测评、执法检查、培训（业务指导 supervisor）")),
    ("/supervision/", N_("本单位自评与整改反馈（单位档案员 unit_officer）")),
    ("/statistics/", N_("统计年报：本年度利用、开放、参观、培训等数字")),
    ("/portal/", N_("公众服务门户：检索、实名注册、利用申请、证明核验（可用 public 登录）")),
    ("/portal/outreach/exhibitions/", N_("网上展览（公众）")),
    ("/portal/requests/verify/", N_("档案证明核验：输入加载演示数据时显示的档案证明验证码")),
    ("/oai?verb=Identify", N_("OAI-PMH 开放目录发布")),
)

COUNT_LABELS = {
    "plans": N_("接收计划"),
    "batches": N_("移交批次"),
    "acquisitions": N_("征集"),
    "vaults": N_("库房"),
    "locations": N_("架位"),
    "boxes": N_("档案盒"),
    "placements": N_("上架"),
    "circulations": N_("出库单"),
    "entries": N_("出入登记"),
    "sensors": N_("传感器"),
    "readings": N_("读数"),
    "rollups": N_("汇总"),
    "alarms_open": N_("未解除告警"),
    "sips": N_("新收信息包"),
    "stored": N_("已归档"),
    "fixity_audits": N_("固定性检查"),
    "fixity_checked": N_("已核验副本"),
    "review_batches": N_("鉴定批次"),
    "review_entries": N_("鉴定条目"),
    "review_opened": N_("鉴定开放"),
    "use_requests": N_("利用申请"),
    "use_open": N_("办理中"),
    "certificates": N_("档案证明"),
    "partners": N_("协作馆"),
    "cross_requests": N_("跨馆出证申请"),
    "cross_done": N_("出证办结"),
    "evaluations": N_("测评单位"),
    "inspections": N_("执法检查"),
    "training_sessions": N_("培训"),
    "trainees": N_("参训人次"),
    "professionals": N_("专业人员"),
    "visit_slots": N_("参观时段"),
    "bookings": N_("参观预约"),
    "visits_received": N_("已接待参观"),
    "exhibitions": N_("展览"),
    "exhibits": N_("展品"),
    "calls": N_("征集公告"),
    "offers": N_("征集线索"),
    "projects": N_("编研项目"),
    "sources": N_("编研选材"),
    "publications": N_("编研成果"),
    "interviews": N_("口述访谈"),
    "transcript_segments": N_("转写段落"),
    "oral_items": N_("口述档案"),
}


def _count_label(key: str) -> str:
    return _(COUNT_LABELS[key]) if key in COUNT_LABELS else key


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
