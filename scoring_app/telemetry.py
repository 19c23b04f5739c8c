"""Prometheus metrics of one scoring process.

Counters live in a registry per app (tests build many apps). With more than one
uvicorn worker each process answers ``/metrics`` with its own counters (the
scrape lands on one of them); the outbox depth and relay figures are the same
from any worker because they are read from the shared outbox at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _LiveCollector:
    """Values read when scraped: outbox depth/capacity and the relay's counters."""

    def __init__(self) -> None:
        self.outbox_depth: Callable[[], int] | None = None
        self.outbox_capacity: Callable[[], int] | None = None
        self.outbox_oldest_age: Callable[[], float] | None = None
        self.relay_stats: Callable[[], Mapping[str, float]] | None = None
        self.execution_providers: Callable[[], Sequence[str]] | None = None

    def collect(self) -> Iterable[Metric]:
        if self.outbox_depth is not None:
            yield GaugeMetricFamily(
                "edgeloop_outbox_depth",
                "Records in the outbox not yet sent to the queue",
                self.outbox_depth(),
            )
        if self.outbox_capacity is not None:
            yield GaugeMetricFamily(
                "edgeloop_outbox_capacity", "Records the outbox holds before refusing", self.outbox_capacity()
            )
        if self.outbox_oldest_age is not None:
            yield GaugeMetricFamily(
                "edgeloop_outbox_oldest_pending_age_seconds",
                "Seconds the oldest record not yet acknowledged by the queue has waited (0: none)",
                self.outbox_oldest_age(),
            )
        if self.relay_stats is not None:
            for name, value in self.relay_stats().items():
                if name.endswith("_total"):
                    yield CounterMetricFamily(
                        f"edgeloop_relay_{name[: -len('_total')]}", f"Relay {name}", value
                    )
                else:
                    yield GaugeMetricFamily(f"edgeloop_relay_{name}", f"Relay {name}", value)
        if self.execution_providers is not None:
            yield _providers_info(self.execution_providers())


def _providers_info(providers: Sequence[str]) -> Metric:
    """An info-style gauge: one series per provider of the served model's session, rank 0 first."""
    family = GaugeMetricFamily(
        "edgeloop_model_execution_provider",
        "Execution providers of the served model's onnxruntime session (rank 0 runs first)",
        labels=["provider", "rank"],
    )
    for rank, provider in enumerate(providers):
        family.add_metric([provider, str(rank)], 1.0)
    return family


class ScoringMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "edgeloop_scoring_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "edgeloop_scoring_request_duration_seconds",
            "HTTP request latency by route template",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rows_scored = Counter(
            "edgeloop_scoring_rows", "Rows scored and recorded", registry=self.registry
        )
        self.anomalies = Counter(
            "edgeloop_scoring_anomalies", "Anomalous rows by kind", ["kind"], registry=self.registry
        )
        self.feedback_items = Counter(
            "edgeloop_feedback_items", "Feedback labels recorded", registry=self.registry
        )
        self.live = _LiveCollector()
        self.registry.register(self.live)
        self.server_errors = 0  # answers 5xx, for the site's heartbeat (a plain int: one add per error)

    def scoring_errors(self) -> int:
        """Answers 5xx since the process started (the site's heartbeat reports them)."""
        return self.server_errors

    def record_scoring(self, rows: int, anomaly_counts: Mapping[str, int]) -> None:
        self.rows_scored.inc(rows)
        for kind, count in anomaly_counts.items():
            if count:
                self.anomalies.labels(kind).inc(count)


class RequestMetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware: that costs a task per request)."""

    def __init__(self, app: ASGIApp, metrics: ScoringMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            # The route template, never the raw path: label values stay few.
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self._observe(template, method, status, time.perf_counter() - started)

    def _observe(self, template: str, method: str, status: int, seconds: float) -> None:
        key = (template, method, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.metrics.requests.labels(template, method, str(status)),
                self.metrics.latency.labels(template),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if status >= 500:
            self.metrics.server_errors += 1
