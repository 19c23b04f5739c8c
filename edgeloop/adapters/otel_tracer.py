"""The Tracer port on OpenTelemetry: spans from the global tracer provider, W3C traceparents.

The provider (and so where spans go: OTLP, the console, Azure Monitor) is set once per
process by edgeloop/bootstrap/tracing.py; this adapter only opens spans and turns span
contexts into traceparent strings and back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags

from edgeloop.observability.tracing import Attributes, SpanKind
from edgeloop.wire.trace_context import valid_traceparent

# A batch serves many scorings; beyond this many links a span names the first ones only.
MAX_LINKS = 64
_KINDS = {
    "internal": trace.SpanKind.INTERNAL,
    "server": trace.SpanKind.SERVER,
    "client": trace.SpanKind.CLIENT,
    "producer": trace.SpanKind.PRODUCER,
    "consumer": trace.SpanKind.CONSUMER,
}


def traceparent_of(context: SpanContext) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def span_context_of(traceparent: str | None) -> SpanContext | None:
    """The remote span context a traceparent names, or None if it is not a valid one."""
    valid = valid_traceparent(traceparent)
    if valid is None:
        return None
    _, trace_id, span_id, flags = valid.split("-")
    return SpanContext(
        int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(int(flags, 16))
    )


class OtelTracer:
    enabled = True

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    @classmethod
    def named(cls, name: str) -> OtelTracer:
        return cls(trace.get_tracer(name))

    def span(
        self,
        name: str,
        *,
        parent: str | None = None,
        links: Sequence[str] = (),
        attributes: Attributes | None = None,
        kind: SpanKind = "internal",
    ) -> AbstractContextManager[str | None]:
        return self._span(name, parent, links, attributes, kind)

    @contextmanager
    def _span(
        self,
        name: str,
        parent: str | None,
        links: Sequence[str],
        attributes: Attributes | None,
        kind: SpanKind,
    ) -> Iterator[str | None]:
        remote = span_context_of(parent)
        # None: the current context (the caller's span, if any) is the parent.
        context = trace.set_span_in_context(NonRecordingSpan(remote), Context()) if remote else None
        span_links = [Link(found) for found in map(span_context_of, links[:MAX_LINKS]) if found is not None]
        with self._tracer.start_as_current_span(
            name, context=context, kind=_KINDS[kind], links=span_links, attributes=attributes
        ) as span:
            yield traceparent_of(span.get_span_context())

    def current(self) -> str | None:
        context = trace.get_current_span().get_span_context()
        return traceparent_of(context) if context.is_valid else None
