"""``lantai jobs``: list, run, cancel, retry and reap background jobs from the command line.

    lantai jobs list [--status failed] [--kind audit.verify] [--limit 20]
    lantai jobs kinds
    lantai jobs run KIND [--param key=value ...] [--user USERNAME] [--wait] [--timeout S]
    lantai jobs show JOB_ID
    lantai jobs cancel JOB_ID / lantai jobs retry JOB_ID
    lantai jobs reap

Without ``--user`` a job runs as the system (the operator on the server). ``--wait`` follows
the job's progress from its row and exits 1 when it fails or is cancelled, 2 on timeout.
"""

from __future__ import annotations

import json
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from lantai.core.progress import progress_line
from lantai.jobs import services
from lantai.jobs.models import Job, JobStatus


def parse_param(text: str) -> tuple[str, object]:
    """``key=value``; the value is read as JSON when it is JSON (numbers, true, lists)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise CommandError(f"参数格式应为 key=value：{text!r}")
    try:
        value: object = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "；".join(f"{field}: {'、'.join(msgs)}" for field, msgs in exc.message_dict.items())
    return "；".join(exc.messages)


class Command(BaseCommand):
    help = "后台任务：列出、提交、等待、取消、重试，以及把中断的任务标记为失败。"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        ls = sub.add_parser("list", help="列出任务")
        ls.add_argument("--status", choices=JobStatus.values)
        ls.add_argument("--kind")
        ls.add_argument("--limit", type=int, default=30)
        sub.add_parser("kinds", help="列出可提交的任务类型")
        run = sub.add_parser("run", help="提交任务")
        run.add_argument("kind")
        run.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE")
        run.add_argument("--user", help="以该用户身份提交（默认：系统）")
        run.add_argument("--wait", action="store_true", help="等待任务结束并显示进度")
        run.add_argument("--timeout", type=float, default=0, help="最长等待秒数（0 = 不限）")
        show = sub.add_parser("show", help="显示一个任务")
        show.add_argument("job_id")
        cancel = sub.add_parser("cancel", help="取消任务")
        cancel.add_argument("job_id")
        retry = sub.add_parser("retry", help="重新执行失败或已取消的任务")
        retry.add_argument("job_id")
        retry.add_argument("--wait", action="store_true")
        retry.add_argument("--timeout", type=float, default=0)
        sub.add_parser("reap", help="把执行进程已中断的任务标记为失败")

    def handle(self, *args, action: str, **options) -> None:
        try:
            getattr(self, f"do_{action}")(**options)
        except ValidationError as exc:
            raise CommandError(_errors(exc)) from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc

    # --- actions ---------------------------------------------------------------------------
    def do_list(self, *, status=None, kind=None, limit=30, **_options) -> None:
        services.reap_stale_jobs()
        jobs = Job.objects.select_related("created_by")
        if status:
            jobs = jobs.filter(status=status)
        if kind:
            jobs = jobs.filter(kind=kind)
        rows = list(jobs[: max(1, limit)])
        if not rows:
            self.stdout.write("没有任务。")
            return
        for job in rows:
            progress = (
                f"{job.progress_done}/{job.progress_total}"
                if job.progress_total
                else str(job.progress_done)
            )
            self.stdout.write(
                f"{job.pk}  {job.status:<9}  {job.kind:<20}  {progress:>11}  "
                f"{job.created_at:%Y-%m-%d %H:%M:%S}  {job.created_by or '系统'}  {job.message}"
            )

    def do_kinds(self, **_options) -> None:
        for entry in services.kinds():
            self.stdout.write(f"{entry.kind:<24} {entry.label}  （权限 {entry.required_perm}）")

    def do_show(self, *, job_id: str, **_options) -> None:
        job = self._job(job_id)
        services.reap_stale_jobs()
        job.refresh_from_db()
        for label, value in [
            ("任务", job.pk),
            ("类型", f"{job.kind}（{job.kind_label}）"),
            ("状态", f"{job.status}（{job.get_status_display()}）"),
            ("进度", f"{job.progress_done}/{job.progress_total or '-'}"),
            ("说明", job.message),
            ("提交人", job.created_by or "系统"),
            ("提交时间", job.created_at),
            ("开始时间", job.started_at or "-"),
            ("结束时间", job.finished_at or "-"),
            ("执行进程", job.worker or "-"),
            ("尝试次数", job.attempts),
            ("参数", job.params_json),
        ]:
            self.stdout.write(f"{label}: {value}")
        if job.result:
            self.stdout.write(f"结果: {job.result_json}")
        if job.error:
            self.stdout.write(f"错误:\n{job.error}")

    def do_run(self, *, kind: str, param, user=None, wait=False, timeout=0.0, **options) -> None:
        actor = self._user(user) if user else None
        params = dict(parse_param(p) for p in param)
        job = services.enqueue(kind, params, user=actor)
        self.stdout.write(f"已提交任务 {job.pk}（{job.kind_label}）")
        if wait:
            self._wait(job, timeout, options.get("verbosity", 1))

    def do_cancel(self, *, job_id: str, **_options) -> None:
        job = services.cancel(None, self._job(job_id))
        self.stdout.write(f"{job.pk}: {job.message}")

    def do_retry(self, *, job_id: str, wait=False, timeout=0.0, **options) -> None:
        job = services.retry(None, self._job(job_id))
        self.stdout.write(f"已重新提交任务 {job.pk}")
        if wait:
            self._wait(job, timeout, options.get("verbosity", 1))

    def do_reap(self, **_options) -> None:
        reaped = services.reap_stale_jobs()
        for job in reaped:
            self.stdout.write(f"{job.pk}  {job.kind}  {job.worker}: {job.message}")
        self.stdout.write(f"标记为失败：{len(reaped)} 个任务")

    # --- helpers ---------------------------------------------------------------------------
    def _job(self, job_id: str) -> Job:
        try:
            return services.get_job(None, job_id.strip())
        except Job.DoesNotExist:
            raise CommandError(f"任务不存在：{job_id}") from None

    def _user(self, username: str):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"用户不存在：{username}") from None

    def _wait(self, job: Job, timeout: float, verbosity: int) -> None:
        deadline = time.monotonic() + timeout if timeout > 0 else None
        job.refresh_from_db()
        if job.status == JobStatus.QUEUED and settings.LANTAI_QUEUE != "immediate":
            self.stderr.write("等待执行进程处理（lantai run_huey 或 lantai serve）……")
        with progress_line(
            job.progress_total, str(job.kind_label), quiet=verbosity < 1, file=sys.stderr
        ) as bar:
            while True:
                job.refresh_from_db()
                bar.set(job.progress_done, job.progress_total)
                bar.message(job.message)
                if job.finished:
                    break
                if job.status == JobStatus.RUNNING and services.reap_stale_jobs():
                    continue
                if deadline is not None and time.monotonic() > deadline:
                    raise CommandError(
                        f"等待超时：任务 {job.pk} 仍为 {job.get_status_display()}", returncode=2
                    )
                time.sleep(0.5)
        if job.status == JobStatus.SUCCEEDED:
            self.stdout.write(f"完成：{job.message}")
            if job.result:
                self.stdout.write(job.result_json)
            return
        if job.error and verbosity > 1:
            self.stderr.write(job.error)
        raise CommandError(f"任务{job.get_status_display()}：{job.message}")
