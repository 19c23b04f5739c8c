"""Prometheus figures of the site's frame store and frame upload, read when scraped."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from edgeloop.bootstrap.frames import FrameComponents
from edgeloop.domain.frame_policy import REFUSALS


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
