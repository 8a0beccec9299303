"""A progress line for management commands 命令行进度条.

Usage in any command::

    from lantai.core.progress import progress_line

    with progress_line(total=len(rows), desc="导入") as bar:
        for row in rows:
            ...
            bar.update(1)                 # or bar.set(done, total) from a known count
            bar.message(f"第 {n} 行")     # optional text after the bar

On a terminal it is a live tqdm bar on stderr. When stderr is not a terminal (cron, CI logs,
``make``) it writes a plain line every ``log_every`` seconds and a final one, instead of
hundreds of carriage returns. ``quiet=True`` (e.g. ``--verbosity 0``) prints nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm


class ProgressLine:
    """One progress line; ``update``, ``set`` and ``message`` may be called as often as wanted."""

    def __init__(
        self,
        total: int | None,
        desc: str = "",
        *,
        unit: str = "",
        file: TextIO | None = None,
        quiet: bool = False,
        log_every: float = 10.0,
    ):
        self.file = file if file is not None else sys.stderr
        self.total = total
        self.done = 0
        self.desc = desc
        self.text = ""
        self.quiet = quiet
        self.log_every = log_every
        self._last_log: float | None = None
        self._started = time.monotonic()
        self._bar: tqdm | None = None
        isatty = getattr(self.file, "isatty", None)
        if not quiet and callable(isatty) and isatty():
            self._bar = tqdm(
                total=total,
                desc=desc,
                unit=unit or "it",
                file=self.file,
                dynamic_ncols=True,
                mininterval=0.2,
                leave=True,
            )

    def update(self, n: int = 1) -> None:
        self.set(self.done + n)

    def set(self, done: int, total: int | None = None) -> None:
        """Move to an absolute position (e.g. a job's progress_done read from the database)."""
        if total is not None and total != self.total:
            self.total = total
            if self._bar is not None:
                self._bar.total = total
                self._bar.refresh()
        delta, self.done = done - self.done, done
        if self._bar is not None:
            if delta:
                self._bar.update(delta)
        else:
            self._maybe_log()

    def message(self, text: str) -> None:
        """Text shown after the bar (the current step, a file name ...)."""
        if text == self.text:
            return
        self.text = text
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)

    def write(self, text: str) -> None:
        """Print a line without breaking the bar."""
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.write(text, file=self.file)
        else:
            print(text, file=self.file, flush=True)

    def line(self) -> str:
        """The plain-text form: ``desc: done/total (pct%) text``."""
        parts = [f"{self.desc}: " if self.desc else ""]
        if self.total:
            pct = min(100, int(self.done * 100 / self.total))
            parts.append(f"{self.done}/{self.total} ({pct}%)")
        else:
            parts.append(str(self.done))
        parts.append(f" {self.text}" if self.text else "")
        return "".join(parts)

    def _maybe_log(self, force: bool = False) -> None:
        if self.quiet or self._bar is not None:
            return
        now = time.monotonic()
        if force or self._last_log is None or now - self._last_log >= self.log_every:
            self._last_log = now
            print(self.line(), file=self.file, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        else:
            self._maybe_log(force=True)


@contextmanager
def progress_line(
    total: int | None = None,
    desc: str = "",
    *,
    unit: str = "",
    file: TextIO | None = None,
    quiet: bool = False,
    log_every: float = 10.0,
) -> Iterator[ProgressLine]:
    """A progress line closed (with its final state printed) when the block ends."""
    bar = ProgressLine(total, desc, unit=unit, file=file, quiet=quiet, log_every=log_every)
    try:
        yield bar
    finally:
        bar.close()
