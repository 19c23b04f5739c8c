"""Prometheus figures of the site's frame store and frame upload, read when scraped."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from edgeloop.bootstrap.frames import FrameComponents
from edgeloop.domain.frame_policy import REFUSALS
from edgeloop.service_layer.frame_keeping import NOT_KEPT


class FrameCollector:
    def __init__(self, frames: FrameComponents) -> None:
        self._frames = frames

    def collect(self) -> Iterable[Metric]:
        figures = self._frames.metrics()
        decisions = CounterMetricFamily(
            "edgeloop_frame_upload_decisions",
            "Frame upload decisions audited by this process, by outcome (uploaded or the refusal's reason)",
            labels=["outcome"],
        )
        for outcome in ("uploaded", *REFUSALS):
            decisions.add_metric([outcome], figures[f"{outcome}_total"])
        yield decisions
        keeping = CounterMetricFamily(
            "edgeloop_frames_keeping",
            "Scored frames kept on site, or not kept and why (too_large, no_summary, ...)",
            labels=["outcome"],
        )
        for kept_or_not in ("kept", *NOT_KEPT):
            keeping.add_metric([kept_or_not], figures[f"keep_{kept_or_not}_total"])
        yield keeping
        yield CounterMetricFamily(
            "edgeloop_frame_upload_errors", "Frame timer runs that failed (retried)", figures["errors_total"]
        )
        yield GaugeMetricFamily(
            "edgeloop_frame_timer_running",
            "This process runs the site's frame timer",
            figures["timer_running"],
        )
        yield GaugeMetricFamily("edgeloop_frames_kept", "Frames kept on site", figures["kept_frames"])
        yield GaugeMetricFamily(
            "edgeloop_frames_kept_bytes", "Bytes of frames kept on site", figures["kept_bytes"]
        )
