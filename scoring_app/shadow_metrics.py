"""Prometheus figures of the site's shadow scoring, read from the scorer when scraped."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from edgeloop.service_layer.shadow_scoring import ShadowScorer


class ShadowCollector:
    def __init__(self, scorer: ShadowScorer) -> None:
        self._scorer = scorer

    def collect(self) -> Iterable[Metric]:
        stats = self._scorer.stats()
        counters = {
            "rows": ("Rows the shadow model scored (recorded as shadow insights)", stats.rows),
            "dropped_rows": (
                "Rows not shadowed: the shadow queue or the outbox was full",
                stats.dropped_rows,
            ),
            "failed_rows": (
                "Rows the shadow model failed on (the answers were not affected)",
                stats.failed_rows,
            ),
        }
        for name, (text, value) in counters.items():
            yield CounterMetricFamily(f"edgeloop_shadow_{name}", text, value)
        yield GaugeMetricFamily(
            "edgeloop_shadow_queue_batches", "Scorings waiting for the shadow", stats.queued
        )
        yield GaugeMetricFamily("edgeloop_shadow_queue_capacity", "The shadow queue's bound", stats.capacity)
        version = GaugeMetricFamily("edgeloop_shadow_model", "The shadowed version", labels=["version"])
        if stats.version is not None:
            version.add_metric([stats.version], 1.0)
        yield version
