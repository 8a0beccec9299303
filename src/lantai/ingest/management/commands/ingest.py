"""``lantai ingest PATH --unit CODE [--fonds CODE] [--wait]``: submit a SIP from the shell.

The operator's way in for a SIP 归档信息包 on the server's disk (a bag directory, a zip/tar bag
or a DA/T 48 EEP XML): the same ``receive_sip`` and ``ingest.process`` job as the API. Without
``--wait`` the command prints the SIP id and leaves the work to the worker (``lantai
run_huey``); with ``--wait`` it waits for the outcome (``--inline`` runs the pipeline in this
process instead, with no worker needed) and exits 1 unless the SIP was stored.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "；".join(m for messages in exc.message_dict.values() for m in messages)
    return "；".join(exc.messages)


class Command(BaseCommand):
    help = _("提交归档信息包（BagIt 包或 DA/T 48 封装包）进行四性检测并归档。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help=_("归档信息包：BagIt 文件夹、zip/tar 包或 EEP XML"))
        parser.add_argument("--unit", required=True, help=_("单位代码"))
        parser.add_argument("--fonds", help=_("全宗号（缺省取元数据中的全宗号）"))
        parser.add_argument("--category", default="", help=_("门类代码（元数据未写明时）"))
        parser.add_argument("--idempotency-key", default=None, help=_("幂等键"))
        parser.add_argument("--wait", action="store_true", help=_("等待处理完成"))
        parser.add_argument(
            "--inline", action="store_true", help=_("在本进程内处理（不需要后台进程）")
        )
        parser.add_argument("--timeout", type=float, default=3600, help=_("等待的秒数上限"))
        parser.add_argument("--json", action="store_true", help=_("以 JSON 输出结果"))

    def handle(self, *args, **options) -> None:
        from lantai.holdings.models import Unit
        from lantai.ingest import services
        from lantai.ingest.models import Sip

        path = Path(options["path"])
        if not path.exists():
            raise CommandError(_("路径不存在：%(p)s") % {"p": path})
        unit = Unit.objects.filter(code=options["unit"]).first()
        if unit is None:
            raise CommandError(_("单位不存在：%(c)s") % {"c": options["unit"]})
        inline = options["inline"]
        try:
            sip, created = services.receive_sip(
                path,
                unit=unit,
                fonds=options.get("fonds"),
                category=options.get("category") or "",
                idempotency_key=options.get("idempotency_key"),
                source_kind="cli",
                start=not inline,
            )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        if not created:
            self.stderr.write(_("幂等键已使用，返回首次提交的归档信息包。"))
        else:
            self.stderr.write(_("已接收归档信息包 %(id)s") % {"id": sip.pk})
        if inline and created:
            try:
                sip = services.process_sip(sip)
            except Exception as exc:
                sip.refresh_from_db()
                if sip.status not in services.FINAL:
                    raise CommandError(str(exc)) from exc
        elif options["wait"] or inline:
            deadline = time.monotonic() + options["timeout"]
            while True:
                sip = Sip.objects.select_related("unit", "fonds", "item").get(pk=sip.pk)
                if sip.status in services.FINAL:
                    break
                if time.monotonic() > deadline:
                    raise CommandError(_("等待超时，归档信息包仍在处理：%(id)s") % {"id": sip.pk})
                time.sleep(0.5)
        sip = Sip.objects.select_related("unit", "fonds", "item").get(pk=sip.pk)
        summary = services.sip_summary(sip)
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            line = f"{sip.pk}\t{sip.status}"
            if sip.item_id:
                line += f"\t{sip.item.reference_code}"
            if sip.error:
                line += f"\t{sip.error}"
            self.stdout.write(line)
        if (options["wait"] or inline) and sip.status != "stored":
            raise CommandError(
                _("归档信息包未归档（%(status)s）：%(error)s")
                % {"status": sip.get_status_display(), "error": sip.error or ""}
            )
