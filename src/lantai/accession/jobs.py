"""Background jobs of accession 接收进馆: checking an uploaded catalog and accepting a batch.

Both run through lantai.jobs, so a unit officer and the archivist watch their progress on the
batch page; the work itself is in ``accession.services`` (run_check, run_accept).
"""

from __future__ import annotations

import logging

from django.utils.translation import gettext_lazy

from lantai.accession import services
from lantai.accession.models import CatalogUpload
from lantai.jobs.services import JobContext, register

logger = logging.getLogger(__name__)


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
    upload_id = int(ctx.params["upload"])
    summary = services.run_check(ctx.user, upload_id, progress=_progress(ctx))
    if summary.get("errors") or summary.get("warnings"):
        # The unit will download the report: write it now, in the worker, not later inside a
        # web request (a large catalog takes seconds to read again).
        try:
            services.ensure_report(CatalogUpload.objects.select_related("batch").get(pk=upload_id))
        except Exception:  # the download writes it then; the check itself is done
            logger.exception("accession: check report of upload %s not written", upload_id)
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
