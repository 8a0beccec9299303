"""Structured logs 结构化日志: every record carries the request id, in plain or JSON form.

``LANTAI_LOG_FORMAT=json`` writes one JSON object per line (time, level, logger, message,
request_id, and the exception when there is one) for log collectors; the default stays
human-readable. The request id is the one ``RequestContextMiddleware`` assigns (or accepts
from ``X-Request-ID``) and the one job workers restore from ``Job.request_id``, so a request
can be followed into the jobs it starts.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from lantai.core.middleware import current_request_id

        if not getattr(record, "request_id", ""):
            # django.request logs a 4xx/5xx after the middleware has returned (and the context
            # is reset), but passes the request along: its id is on it.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", "") or current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "process": record.process,
        }
        for key in ("job_id", "job_kind", "status_code", "path"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
