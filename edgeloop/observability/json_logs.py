"""JSON log lines carrying the current span's trace id (LOG_FORMAT=json).

One object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``trace_id``
and ``span_id`` (32 and 16 hex digits, "" outside a span), ``exception`` when there is one.
The ids are the ones the traces show (and Azure Monitor's operation id), so a log line
leads to its trace and back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson
from opentelemetry import trace


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = trace.get_current_span().get_span_context()
        document = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": f"{context.trace_id:032x}" if context.is_valid else "",
            "span_id": f"{context.span_id:016x}" if context.is_valid else "",
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(document, default=str).decode("utf-8")


def use_json_logs(logger: logging.Logger | None = None) -> None:
    """Every handler of ``logger`` (default: the root logger) formats JSON; one is added if none."""
    target = logger or logging.getLogger()
    if not target.handlers:
        target.addHandler(logging.StreamHandler())
    for handler in target.handlers:
        handler.setFormatter(JsonLogFormatter())
