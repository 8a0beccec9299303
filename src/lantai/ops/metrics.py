"""Prometheus metrics 监控指标 at ``/metrics``.

Request counts and latencies are counted in-process by ``MetricsMiddleware``; under gunicorn
with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode)
so the figures of every worker are summed. Everything about the archive's state (job queue
depth and failures, ingests and their check failures, fixity failures, open vault alarms) is
read from the database at scrape time, so it is the same whichever process is scraped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUESTS = Counter(
    "lantai_http_requests",
    "HTTP requests handled, by method, view and status code.",
    ["method", "view", "status"],
)
LATENCY = Histogram(
    "lantai_http_request_seconds",
    "Time to answer an HTTP request, by view.",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

# Probes and the scrape itself are not traffic worth counting.
_SKIP = {"/metrics", "/healthz", "/readyz"}


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path in _SKIP:
            return self.get_response(request)
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The route name, never the raw path: ids in paths would explode the label set.
        view = match.view_name if match else "unmatched"
        LATENCY.labels(view).observe(time.perf_counter() - start)
        REQUESTS.labels(request.method, view, str(response.status_code)).inc()
        return response


class ArchiveStateCollector(Collector):
    """Gauges read from the database at each scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from lantai.ingest.models import Sip, SipStatus
        from lantai.jobs.models import Job
        from lantai.preservation.models import FixityAudit
        from lantai.storage.models import CopyStatus, ObjectCopy
        from lantai.vault.models import Alarm, AlarmStatus

        jobs = GaugeMetricFamily("lantai_jobs", "Background jobs by status.", labels=["status"])
        for row in Job.objects.values("status").annotate(n=Count("pk")).order_by():
            jobs.add_metric([row["status"]], row["n"])
        yield jobs

        depth = GaugeMetricFamily("lantai_job_queue_depth", "Jobs waiting for a worker.")
        depth.add_metric([], Job.objects.filter(status="queued").count())
        yield depth

        sips = GaugeMetricFamily("lantai_ingests", "Submitted SIPs by status.", labels=["status"])
        for row in Sip.objects.values("status").annotate(n=Count("pk")).order_by():
            sips.add_metric([row["status"]], row["n"])
        yield sips

        failed = GaugeMetricFamily(
            "lantai_ingest_check_failures", "SIPs refused by the four-property checks."
        )
        failed.add_metric([], Sip.objects.filter(status=SipStatus.FAILED).count())
        yield failed

        copies = GaugeMetricFamily(
            "lantai_fixity_failures",
            "Stored copies whose last fixity check failed, by status.",
            labels=["status"],
        )
        for status in (CopyStatus.MISSING, CopyStatus.CORRUPT):
            copies.add_metric([status], ObjectCopy.objects.filter(status=status).count())
        yield copies

        last = FixityAudit.objects.exclude(finished_at=None).order_by("-finished_at").first()
        audit = GaugeMetricFamily(
            "lantai_fixity_last_audit_failures", "Failures found by the latest fixity audit."
        )
        audit.add_metric([], last.failures if last else 0)
        yield audit

        alarms = GaugeMetricFamily(
            "lantai_vault_open_alarms", "Vault alarms not yet resolved, by kind.", labels=["kind"]
        )
        rows = (
            Alarm.objects.exclude(status=AlarmStatus.RESOLVED)
            .values("kind")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in rows:
            alarms.add_metric([row["kind"]], row["n"])
        yield alarms


def render() -> tuple[bytes, str]:
    """The exposition text: this process's (or all workers') counters plus the archive state."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(ArchiveStateCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST
