"""``lantai serve``: the web server and a job worker side by side, for one-machine installs.

Starts ``lantai runserver`` and ``lantai run_huey`` as child processes, forwards SIGINT and
SIGTERM to both, and exits when either one exits (stopping the other), so a supervisor
(systemd, Docker) sees one process that lives and dies as a whole.

The web server is Django's ``runserver`` (``--insecure`` serves the static files when DEBUG is
off). That is enough for ``make run`` and a small intranet; a production WSGI server
(gunicorn/uWSGI behind nginx) is not wired in yet.

Ctrl-C once stops gracefully (the worker finishes its current job); twice stops at once —
a job cut short is then marked failed ("执行进程已中断") and can be retried.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

#: How long a child gets to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 15.0
_PR_SET_PDEATHSIG = 1
NAMES = {"web": "Web 服务", "worker": "后台任务执行进程"}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Linux: if `lantai serve` itself is killed (SIGKILL), its children get SIGTERM and do not
    # linger holding the port or the queue.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Command(BaseCommand):
    help = "启动兰台：Web 服务与后台任务执行进程。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1）")
        parser.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
        parser.add_argument("--no-worker", action="store_true", help="不启动后台任务执行进程")
        parser.add_argument("--workers", type=int, default=0, help="执行线程数（默认取配置）")
        parser.add_argument(
            "--reload", action="store_true", help="代码改动后自动重启 Web 服务（开发用）"
        )

    def handle(
        self, *args, host: str, port: int, no_worker: bool, workers: int, reload: bool, **options
    ) -> None:
        if not 0 < port < 65536:
            raise CommandError("端口必须在 1 到 65535 之间。")
        base = [sys.executable, "-m", "lantai"]
        web = [*base, "runserver", f"{host}:{port}"]
        if not reload:
            web.append("--noreload")
        if not settings.DEBUG:
            web.append("--insecure")
        children: dict[str, list[str]] = {"web": web}
        if no_worker:
            self.stdout.write("未启动后台任务执行进程（--no-worker）：任务将排队等待。")
        elif settings.LANTAI_QUEUE == "immediate":
            self.stdout.write("LANTAI_QUEUE=immediate：任务在请求中直接执行，无需执行进程。")
        else:
            worker = [*base, "run_huey"]
            if workers > 0:
                worker += ["--workers", str(workers)]
            children["worker"] = worker

        procs: dict[str, subprocess.Popen] = {}
        received: list[int] = []

        def forward(signum, _frame) -> None:
            received.append(signum)
            # A second Ctrl-C means "now": escalate to SIGTERM (the worker stops at once).
            sig = signal.SIGTERM if len(received) > 1 else signum
            for proc in procs.values():
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        proc.send_signal(sig)

        old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for name, argv in children.items():
                # Own session: Ctrl-C reaches only us, and we forward it once.
                procs[name] = subprocess.Popen(  # noqa: S603 (our own interpreter and args)
                    argv,
                    start_new_session=True,
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                )
            shown = "localhost" if host in {"0.0.0.0", "::"} else host  # noqa: S104
            if ":" in shown:
                shown = f"[{shown}]"
            self.stdout.write(
                self.style.SUCCESS(f"兰台已启动：http://{shown}:{port}/")
                + ("（含后台任务执行进程）" if "worker" in procs else "")
            )
            self.stdout.flush()
            first, code = self._wait_any(procs)
            if received:
                # We were asked to stop: let every child finish its own shutdown (the worker
                # completes its current job); a second signal escalates in forward().
                for proc in procs.values():
                    proc.wait()
        finally:
            self._stop_all(procs)
            for sig, handler in old.items():
                signal.signal(sig, handler)
        if received:
            self.stdout.write("兰台已停止。")
            return
        raise CommandError(
            f"{NAMES[first]}已退出（退出码 {code}），兰台已停止。",
            returncode=code if code > 0 else 1,
        )

    @staticmethod
    def _wait_any(procs: dict[str, subprocess.Popen]) -> tuple[str, int]:
        while True:
            for name, proc in procs.items():
                code = proc.poll()
                if code is not None:
                    return name, code
            time.sleep(0.2)

    @staticmethod
    def _stop_all(procs: dict[str, subprocess.Popen]) -> None:
        for proc in procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
