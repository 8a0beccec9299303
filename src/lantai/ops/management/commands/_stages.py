"""A progress line per stage of a backup or restore (database, content, verification)."""

from __future__ import annotations

from lantai.core.progress import ProgressLine

STAGES = {
    "database": "数据库",
    "content": "存储内容",
    "verify": "校验备份文件",
    "verify-content": "校验备份内容",
    "fixity": "固定性校验",
}


class StageProgress:
    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.stage = ""
        self.bar: ProgressLine | None = None

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = ProgressLine(total, STAGES.get(stage, stage), quiet=self.quiet)
        assert self.bar is not None
        self.bar.set(done, total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
