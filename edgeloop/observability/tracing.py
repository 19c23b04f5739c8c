"""The Tracer port and its no-op implementation (tracing off); pure, no OpenTelemetry import.

Use cases open one span per request, group, relay attempt or message (never per row); the
span's context travels to the next process as a W3C traceparent (edgeloop.wire.trace_context).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Literal, Protocol

SpanKind = Literal["internal", "server", "client", "producer", "consumer"]
Attributes = Mapping[str, str | int | bool]


class Tracer(Protocol):
    """Spans of the insight path."""

    @property
    def enabled(self) -> bool:
        """False when spans go nowhere: callers skip the work of finding parents and links."""
        ...

    def span(
        self,
        name: str,
        *,
        parent: str | None = None,
        links: Sequence[str] = (),
        attributes: Attributes | None = None,
        kind: SpanKind = "internal",
    ) -> AbstractContextManager[str | None]:
        """A span, current inside the block; yields its traceparent (None when tracing is off).

        Its parent is ``parent`` (a traceparent from another process) when valid, else the
        current span; ``links`` are the traceparents of the other work it serves (a batch).
        """
        ...

    def current(self) -> str | None:
        """The current span's traceparent, or None."""
        ...


_NO_SPAN: nullcontext[None] = nullcontext(None)


class NoTracer:
    """Tracing off: every span is the same shared no-op context."""

    enabled = False

    def span(
        self,
        name: str,
        *,
        parent: str | None = None,
        links: Sequence[str] = (),
        attributes: Attributes | None = None,
        kind: SpanKind = "internal",
    ) -> AbstractContextManager[str | None]:
        return _NO_SPAN

    def current(self) -> str | None:
        return None


NO_TRACER: Tracer = NoTracer()
