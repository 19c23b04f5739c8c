"""Prometheus figures of the site's model delivery, read from its stats when scraped."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from edgeloop.service_layer.model_delivery import ModelDelivery


class DeliveryCollector:
    def __init__(self, delivery: ModelDelivery) -> None:
        self._delivery = delivery

    def collect(self) -> Iterable[Metric]:
        stats = self._delivery.stats
        counters = {
            "polls": ("Looks at the champion pointer", stats.polls),
            "poll_errors": ("Looks that failed (registry unreachable)", stats.poll_errors),
            "swaps": ("New models swapped in", stats.swaps),
            "rejections": ("Bundles rejected (signature, hashes, schema, golden check)", stats.rejections),
        }
        for name, (text, value) in counters.items():
            yield CounterMetricFamily(f"edgeloop_model_delivery_{name}", text, value)
        refusals = CounterMetricFamily(
            "edgeloop_model_delivery_pointer_refusals",
            "Champion pointers refused, by rule (edgeloop.domain.signed_pointer.RefusalKind)",
            labels=["kind"],
        )
        for kind, count in sorted(self._delivery.pointer_refusals().items()):
            refusals.add_metric([kind], count)
        yield refusals
        rollout_refusals = CounterMetricFamily(
            "edgeloop_model_delivery_rollout_pointer_refusals",
            "Rollout pointers refused, by rule (docs/rollouts.md)",
            labels=["kind"],
        )
        for kind, count in sorted(self._delivery.rollout_refusals().items()):
            rollout_refusals.add_metric([kind], count)
        yield rollout_refusals
        rollbacks = CounterMetricFamily(
            "edgeloop_model_delivery_rollbacks", "Rollbacks to the previous model", labels=["trigger"]
        )
        rollbacks.add_metric(["auto"], stats.rollbacks_auto)
        rollbacks.add_metric(["admin"], stats.rollbacks_admin)
        yield rollbacks
        reachable = 1.0 if stats.registry_reachable else 0.0
        yield GaugeMetricFamily(
            "edgeloop_model_registry_reachable", "Last poll reached the registry", reachable
        )
        serving = GaugeMetricFamily("edgeloop_model_serving", "The model version served", labels=["version"])
        if self._delivery.serving_version is not None:  # None: a new site before its first champion
            serving.add_metric([self._delivery.serving_version], 1.0)
        yield serving
