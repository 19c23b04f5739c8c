"""Prometheus figures of drift at the edge, read from the drift monitor's summary when scraped.

One ``edgeloop_input_drift`` gauge per profiled feature (labels model, version, feature,
statistic), its drift threshold beside it, the window's rows, and the overall status as
a number (``edgeloop_input_drift_status``: -1 unavailable, 0 ok, 1 watch, 2 drift).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from edgeloop.service_layer.drift_monitor import DriftMonitor

STATUS_VALUES = {"unavailable": -1.0, "ok": 0.0, "watch": 1.0, "drift": 2.0}


class DriftCollector:
    def __init__(self, monitor: DriftMonitor) -> None:
        self._monitor = monitor

    def collect(self) -> Iterable[Metric]:
        name, version = self._monitor.model or ("", "")  # no model yet: the features are none
        summary = self._monitor.summary()
        labels = ["model", "version", "feature", "statistic"]
        values = GaugeMetricFamily(
            "edgeloop_input_drift", "Recent inputs against the training profile (PSI or KS)", labels=labels
        )
        thresholds = GaugeMetricFamily(
            "edgeloop_input_drift_threshold", "The value from which a feature is drifted", labels=labels
        )
        for feature, drift in summary["features"].items():
            key = [name, version, feature, drift["statistic"]]
            values.add_metric(key, drift["value"])
            thresholds.add_metric(key, drift["threshold"])
        yield values
        yield thresholds
        rows = GaugeMetricFamily(
            "edgeloop_input_drift_window_rows", "Rows drift is measured on", labels=["model", "version"]
        )
        rows.add_metric([name, version], summary["window_rows"])
        yield rows
        status = GaugeMetricFamily(
            "edgeloop_input_drift_status",
            "Drift status: -1 unavailable, 0 ok, 1 watch, 2 drift",
            labels=["model", "version"],
        )
        status.add_metric([name, version], STATUS_VALUES[summary["status"]])
        yield status
