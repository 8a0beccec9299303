"""Digitisation API 数字化接口 (mounted at /api/v1/digitisation/): the per-page check and OCR
reports as JSON, and starting OCR. Session authentication (CSRF token on POST); the same
services and permissions as the web pages (holdings.view_holdings and the item visible to the
user to read, holdings.change_holdings to start OCR).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from lantai.digitisation import services

router = Router(tags=["数字化"])
ERRORS = {401: dict, 403: dict, 404: dict, 422: dict}


@router.get("/items/{item_id}/batches", response={200: list[dict], **ERRORS})
def item_batches(request: HttpRequest, item_id: int):
    """An item's scan batches (newest first), each with its per-page check report."""
    item = services.get_item(request.user, item_id)
    return [services.batch_report(batch) for batch in services.batches_of(item)]


@router.get("/batches/{batch_id}", response={200: dict, **ERRORS})
def batch_report(request: HttpRequest, batch_id: int):
    """One batch: thresholds, files, and per page the resolution, colour mode, result, issues
    and recognised character count."""
    return services.batch_report(services.get_batch(request.user, batch_id))


@router.post("/batches/{batch_id}/ocr", response={202: dict, **ERRORS})
def batch_ocr(request: HttpRequest, batch_id: int):
    """Start (or re-run) OCR of a batch that passed the checks; answers the job id."""
    batch = services.get_batch(request.user, batch_id, change=True)
    job = services.enqueue_ocr(request.user, batch)
    return Status(202, {"batch": batch.pk, "job": str(job.pk), "status": job.status})
