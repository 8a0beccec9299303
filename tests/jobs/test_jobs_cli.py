"""``lantai jobs`` and the progress line helper."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lantai.core.progress import progress_line
from lantai.jobs.models import Job, JobStatus


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("jobs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_run_wait_succeeds(transactional_db):
    out, _err = run("run", "jobs.selftest", "--param", "steps=2", "-p", "delay=0", "--wait")
    job = Job.objects.get()
    assert job.status == JobStatus.SUCCEEDED and job.params == {
        "steps": 2,
        "delay": 0.0,
        "fail": False,
    }
    assert job.created_by is None  # the operator on the server: the system
    assert str(job.pk) in out and "完成" in out
    listed, _ = run("list")
    assert str(job.pk) in listed and "succeeded" in listed


def test_run_wait_fails_with_nonzero_exit(transactional_db):
    with pytest.raises(CommandError, match="自检按要求以失败结束") as exc:
        run("run", "jobs.selftest", "-p", "steps=0", "-p", "fail=true", "--wait")
    assert exc.value.returncode == 1
    shown, _ = run("show", str(Job.objects.get().pk))
    assert "RuntimeError" in shown


def test_bad_input_is_a_clear_error(transactional_db):
    with pytest.raises(CommandError, match="未知的任务类型"):
        run("run", "nope")
    with pytest.raises(CommandError, match="steps"):
        run("run", "jobs.selftest", "-p", "steps=-1")
    with pytest.raises(CommandError, match="key=value"):
        run("run", "jobs.selftest", "-p", "steps")
    with pytest.raises(CommandError, match="用户不存在"):
        run("run", "jobs.selftest", "--user", "ghost")
    with pytest.raises(CommandError, match="任务不存在"):
        run("cancel", "not-a-uuid")


def test_run_as_user_checks_permission(transactional_db, make_user):
    make_user("keeper1", "keeper")
    with pytest.raises(CommandError, match="权限"):
        run("run", "jobs.selftest", "--user", "keeper1")


def test_kinds_and_reap(transactional_db):
    kinds, _ = run("kinds")
    assert "audit.verify" in kinds and "jobs.selftest" in kinds
    reaped, _ = run("reap")
    assert "0" in reaped


def test_progress_line_plain_output():
    buf = io.StringIO()  # not a terminal: plain lines, not carriage returns
    with progress_line(10, "导入", file=buf, log_every=3600) as bar:
        for _ in range(10):
            bar.update()
        bar.message("完成")
    lines = buf.getvalue().splitlines()
    assert lines[0] == "导入: 1/10 (10%)"
    assert lines[-1] == "导入: 10/10 (100%) 完成"
    assert "\r" not in buf.getvalue()


def test_progress_line_quiet_and_unknown_total():
    buf = io.StringIO()
    with progress_line(None, "扫描", file=buf, quiet=True) as bar:
        bar.set(5)
    assert buf.getvalue() == ""
    buf = io.StringIO()
    with progress_line(None, file=buf) as bar:
        bar.set(7, 0)
    assert buf.getvalue().splitlines()[-1] == "7"


def test_progress_line_terminal_uses_tqdm():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    buf = Tty()
    with progress_line(4, "校验", file=buf) as bar:
        bar.set(4)
    assert "校验" in buf.getvalue() and "4/4" in buf.getvalue() and "\r" in buf.getvalue()
