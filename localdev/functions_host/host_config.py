"""host.json: the parts the local host honours, with the real host's defaults and limits."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIN_POLLING_INTERVAL = 0.1  # seconds; the host's QueuePollingIntervals.Minimum
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$")


class HostConfigError(ValueError):
    """host.json is unreadable or a value is out of range; the message names the key."""


def parse_timespan(value: object, key: str, *, number_unit: float = 1.0) -> float:
    """A .NET TimeSpan string (``[d.]hh:mm:ss[.fff]``) or a number, as seconds.

    ``number_unit`` converts bare numbers (``maxPollingInterval`` takes milliseconds).
    """
    if isinstance(value, bool):
        raise HostConfigError(f"host.json {key}: expected a duration, got {value!r}")
    if isinstance(value, int | float):
        return float(value) * number_unit
    if isinstance(value, str):
        match = _TIMESPAN.match(value.strip())
        if match:
            days, hours, minutes, seconds = match.groups()
            return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    raise HostConfigError(f"host.json {key}: {value!r} is not a duration like '00:00:30'")


def _int(section: dict[str, Any], key: str, default: int, low: int, high: int, where: str) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise HostConfigError(
            f"host.json {where}.{key}: expected an integer in [{low}, {high}], got {value!r}"
        )
    return value


@dataclass(frozen=True)
class QueueOptions:
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_dequeue_count: int = 5
    visibility_timeout: float = 0.0
    max_polling_interval: float = 60.0
    message_encoding: str = "base64"

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> QueueOptions:
        where = "extensions.queues"
        batch_size = _int(section, "batchSize", 16, 1, 32, where)
        threshold = _int(section, "newBatchThreshold", batch_size // 2, 0, 10_000, where)
        encoding = str(section.get("messageEncoding", "base64")).lower()
        if encoding not in ("base64", "none"):
            raise HostConfigError(f"host.json {where}.messageEncoding: expected 'base64' or 'none'")
        polling = parse_timespan(
            section.get("maxPollingInterval", 60_000), f"{where}.maxPollingInterval", number_unit=0.001
        )
        if polling < MIN_POLLING_INTERVAL:
            raise HostConfigError(f"host.json {where}.maxPollingInterval: at least 00:00:00.1")
        return cls(
            batch_size=batch_size,
            new_batch_threshold=threshold,
            max_dequeue_count=_int(section, "maxDequeueCount", 5, 1, 10_000, where),
            visibility_timeout=parse_timespan(
                section.get("visibilityTimeout", 0), f"{where}.visibilityTimeout"
            ),
            max_polling_interval=polling,
            message_encoding=encoding,
        )


@dataclass(frozen=True)
class ServiceBusOptions:
    max_concurrent_calls: int = 16

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> ServiceBusOptions:
        # v5 extension: top level; v2-v4: under messageHandlerOptions.
        handler = section.get("messageHandlerOptions", {})
        source = section if "maxConcurrentCalls" in section else handler
        calls = _int(source, "maxConcurrentCalls", 16, 1, 10_000, "extensions.serviceBus")
        return cls(max_concurrent_calls=calls)


@dataclass(frozen=True)
class HostConfig:
    queues: QueueOptions = QueueOptions()
    service_bus: ServiceBusOptions = ServiceBusOptions()

    @classmethod
    def load(cls, path: Path | None) -> HostConfig:
        """Read host.json; an absent file gives the host's defaults."""
        if path is None or not path.exists():
            return cls()
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise HostConfigError(f"{path}: not valid JSON: {exc}") from None
        return cls.from_document(document)

    @classmethod
    def from_document(cls, document: object) -> HostConfig:
        if not isinstance(document, dict):
            raise HostConfigError("host.json: expected an object")
        extensions = _section(document, "extensions")
        return cls(
            queues=QueueOptions.from_section(_section(extensions, "queues")),
            service_bus=ServiceBusOptions.from_section(_section(extensions, "serviceBus")),
        )


def _section(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise HostConfigError(f"host.json {key}: expected an object")
    return value
