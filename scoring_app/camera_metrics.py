"""Prometheus figures of the site's cameras, labelled by camera, read from their status when scraped."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from edgeloop.domain.cameras import CameraState
from edgeloop.service_layer.camera_worker import CameraFleet


class CameraCollector:
    def __init__(self, fleet: CameraFleet) -> None:
        self._fleet = fleet

    def collect(self) -> Iterable[Metric]:
        statuses = self._fleet.statuses()
        counters = {
            "frames_in": "Frames decoded from the camera's stream",
            "frames_scored": "Frames scored and recorded as insights",
            "reconnects": "Connection attempts after the first (the camera dropped or was unreachable)",
        }
        for name, text in counters.items():
            family = CounterMetricFamily(f"edgeloop_camera_{name}", text, labels=["camera"])
            for status in statuses:
                family.add_metric([status.camera_id], getattr(status, name))
            yield family
        dropped = CounterMetricFamily(
            "edgeloop_camera_frames_dropped",
            "Frames not scored: between samples, pushed out while scoring lagged, or in a failed batch",
            labels=["camera", "reason"],
        )
        last_frame = GaugeMetricFamily(
            "edgeloop_camera_last_frame_timestamp_seconds",
            "When the camera's last frame was read (Unix time; absent before the first)",
            labels=["camera"],
        )
        state = GaugeMetricFamily(
            "edgeloop_camera_state",
            "The camera worker's state (1: the one it is in)",
            labels=["camera", "state"],
        )
        for status in statuses:
            for reason, count in (
                ("sampling", status.dropped_sampling),
                ("backlog", status.dropped_backlog),
                ("scoring_error", status.dropped_scoring_error),
            ):
                dropped.add_metric([status.camera_id, reason], count)
            if status.last_frame_at is not None:
                last_frame.add_metric([status.camera_id], status.last_frame_at)
            for each in CameraState:
                state.add_metric([status.camera_id, each.value], 1.0 if each is status.state else 0.0)
        yield from (dropped, last_frame, state)
