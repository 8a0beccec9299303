"""Background jobs of accession 接收进馆: checking an uploaded catalog and accepting a batch.

Both run through lantai.jobs, so a unit officer and the archivist watch their progress on the
batch page; the work itself is in ``accession.services`` (run_check, run_accept).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from lantai.accession import services
from lantai.jobs.services import JobContext, register


def _progress(ctx: JobContext):
    """A progress callback for the catalog side: ``progress(done, total=None, message="")``;
    it also stops the work when a user cancelled the job."""

    def progress(done: int, total: int | None = None, message: str = "", **_ignored) -> None:
        ctx.check_cancelled()
        ctx.progress(done, total, str(message or ""))

    return progress


@register("accession.check", perm=services.SUBMIT, label=gettext_lazy("移交目录检测"))
def check_catalog(ctx: JobContext) -> dict:
    """Check one catalog upload: every finding is written; the batch becomes checked/failed."""
    summary = services.run_check(ctx.user, int(ctx.params["upload"]), progress=_progress(ctx))
    return {
        key: summary.get(key)
        for key in ("rows", "volumes", "items", "files", "errors", "warnings")
        if key in summary
    }


@register("accession.accept", perm=services.MANAGE, label=gettext_lazy("接收进馆"))
def accept_batch(ctx: JobContext) -> dict:
    """Bring a submitted batch into holdings in one transaction, with its handover form."""
    return services.run_accept(
        ctx.user,
        int(ctx.params["batch"]),
        int(ctx.params["upload"]),
        progress=_progress(ctx),
    )
