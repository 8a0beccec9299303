"""Background job of 开放鉴定: approving a batch (审批生效).

Approval writes every record through ``holdings.services.update_item`` (audited, search index
and other apps' signals kept in step), about 40 ms per record on a busy SQLite: a batch of
2,000 would outlast a web request, so the screen queues this job and the batch page shows its
progress. The work itself is ``opening.services.approve``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from lantai.jobs.services import JobContext, register
from lantai.opening import services
from lantai.opening.models import ReviewBatch


@register("opening.approve", perm=services.APPROVE, label=gettext_lazy("开放鉴定审批生效"))
def approve_batch(ctx: JobContext) -> dict:
    """Apply a submitted batch's decisions to holdings in one transaction."""
    batch = ReviewBatch.objects.get(pk=int(ctx.params["batch"]))

    def progress(done: int, total: int) -> None:
        ctx.check_cancelled()
        ctx.progress(done, total, batch.number)

    batch = services.approve(ctx.user, batch, str(ctx.params.get("note") or ""), progress=progress)
    return {"batch": batch.number, **services.batch_counts(batch.entries.all())}
