"""What the camera bench measures around a scorer: frame-to-insight latency and resident memory."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edgeloop.domain.cameras import FrameStamp
from edgeloop.ports.cameras import FrameScorer, RgbFrame


def rss_mib() -> float:
    """This process's resident memory now (Linux: /proc/self/status), MiB."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class LatencyScorer:
    """Passes batches on; when the insights are committed (the call returns), each frame's
    latency is now minus the time its frame was read from the stream."""

    def __init__(self, inner: FrameScorer) -> None:
        self._inner = inner
        self.latencies: list[float] = []
        self.commits = 0
        self.peak_rss_mib = 0.0

    def score_batches(self, batches: Sequence[Sequence[RgbFrame]], stamp: FrameStamp) -> object:
        result = self._inner.score_batches(batches, stamp)
        recorded = time.time()
        self.commits += 1
        self.latencies.extend(recorded - captured for captured in stamp.captured_at)
        self.peak_rss_mib = max(self.peak_rss_mib, rss_mib())
        return result

    def mean_batches(self, batch_size: int) -> float:
        """Batches per commit, on average (full batches: a file's last may be partial)."""
        return len(self.latencies) / batch_size / max(self.commits, 1)

    def figures(self) -> dict[str, float]:
        if not self.latencies:
            return {"latency_p50_s": float("nan"), "latency_p95_s": float("nan")}
        values = np.asarray(self.latencies)
        return {
            "latency_p50_s": float(np.percentile(values, 50)),
            "latency_p95_s": float(np.percentile(values, 95)),
        }
