"""JSON log lines carrying the current span's trace id (LOG_FORMAT=json).

One object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``trace_id``
and ``span_id`` (32 and 16 hex digits, "" outside a span), ``exception`` when there is one.
The ids are the ones the traces show (and Azure Monitor's operation id), so a log line
leads to its trace and back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

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


def uvicorn_log_config(log_format: str, level: str = "INFO") -> dict[str, Any] | None:
    """A ``uvicorn.run(log_config=...)`` writing JSON lines for ``json``; None keeps uvicorn's own."""
    if log_format != "json":
        return None
    formatter = {"()": f"{__name__}.{JsonLogFormatter.__name__}"}
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": formatter},
        "handlers": {"json": handler},
        # uvicorn's loggers propagate to the root: one handler, one format for all.
        "loggers": {name: {"level": level, "handlers": []} for name in ("uvicorn", "uvicorn.access")},
        "root": {"level": level, "handlers": ["json"]},
    }
