"""Built-in jobs: checking the audit chain, and a self-test of the job queue."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lantai.audit.models import AuditEntry
from lantai.audit.services import verify_chain
from lantai.jobs.services import JobContext, register


@register("audit.verify", perm="audit.verify_chain", label=gettext_lazy("校验审计链"))
def verify_audit_chain(ctx: JobContext) -> dict:
    """Walk the hash chain of the audit trail 审计日志 and report the first broken link."""
    total = AuditEntry.objects.count()
    ctx.progress(0, total, _("正在校验审计链"))

    def step(checked: int) -> None:
        ctx.check_cancelled()
        ctx.progress(checked, total, _("已校验 %(n)d 条") % {"n": checked})

    report = verify_chain(progress=step)
    if report.ok:
        message = _("审计链完整：共校验 %(n)d 条。") % {"n": report.checked}
    else:
        message = _("审计链已损坏：第 %(seq)s 条（%(reason)s）") % {
            "seq": report.broken_seq,
            "reason": report.reason,
        }
    ctx.progress(report.checked, max(total, report.checked), message)
    return {
        "ok": report.ok,
        "checked": report.checked,
        "broken_seq": report.broken_seq,
        "reason": report.reason,
    }


MAX_SELFTEST_STEPS = 1000
MAX_SELFTEST_DELAY = 10.0


def _clean_selftest(params: dict) -> dict:
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    try:
        cleaned["steps"] = int(params.get("steps", 5))
        if not 0 <= cleaned["steps"] <= MAX_SELFTEST_STEPS:
            raise ValueError
    except (TypeError, ValueError):
        errors["steps"] = [_("步数须为 0 到 %(max)d 的整数。") % {"max": MAX_SELFTEST_STEPS}]
    try:
        cleaned["delay"] = float(params.get("delay", 0.2))
        if not 0 <= cleaned["delay"] <= MAX_SELFTEST_DELAY:
            raise ValueError
    except (TypeError, ValueError):
        errors["delay"] = [_("每步时长须为 0 到 %(max)d 秒。") % {"max": MAX_SELFTEST_DELAY}]
    fail = params.get("fail", False)
    if isinstance(fail, str):
        fail = fail.strip().lower() in {"1", "true", "yes", "on"}
    cleaned["fail"] = bool(fail)
    unknown = sorted(set(params) - {"steps", "delay", "fail"})
    if unknown:
        errors["params"] = [_("未知参数：%(names)s") % {"names": "、".join(unknown)}]
    if errors:
        raise ValidationError(errors)
    return cleaned


@register(
    "jobs.selftest",
    perm="jobs.run_job",
    label=gettext_lazy("任务队列自检"),
    clean=_clean_selftest,
)
def selftest(ctx: JobContext) -> dict:
    """Proves a worker is consuming the queue: ``steps`` steps of ``delay`` seconds each.

    ``fail=true`` ends with an error, to check that failures are reported.
    """
    steps, delay = ctx.params["steps"], ctx.params["delay"]
    started = time.monotonic()
    for step in range(1, steps + 1):
        ctx.check_cancelled()
        time.sleep(delay)
        ctx.progress(step, steps, _("第 %(step)d/%(steps)d 步") % {"step": step, "steps": steps})
    if ctx.params["fail"]:
        raise RuntimeError(_("自检按要求以失败结束"))
    return {"steps": steps, "seconds": round(time.monotonic() - started, 3)}
