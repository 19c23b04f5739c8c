"""Drift at the edge: recent inputs of the served model against its training profile.

Contract: :meth:`DriftMonitor.observe` is called by the scoring use case after each
successful scoring with the rows it scored; it only copies them into the window
(edgeloop.domain.drift_window), O(rows). :meth:`DriftMonitor.summary` computes the
statistics (edgeloop.domain.drift) when read (``/metrics``, ``/readyz``, the heartbeat),
at most once per ``cache_seconds``, and returns::

    {"status": "ok" | "watch" | "drift" | "unavailable", "window_rows": int,
     "features": {name: {"statistic": "psi" | "ks", "value": float, "threshold": float,
                         "status": "ok" | "watch" | "drift"}}}

A model swap (:meth:`reset`, a listener of the ModelHolder) starts an empty window on
the new model's profile. A model without a profile reports "unavailable"; so does a
window with fewer than ``min_rows`` rows. Drift never stops scoring.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from edgeloop.domain.drift_window import RecentInputs, drift_summary
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.validation import FeatureColumns
from edgeloop.ports import ScoringModel


class DriftMonitor:
    def __init__(
        self,
        manifest: ModelManifest | None,
        *,
        window_rows: int,
        min_rows: int,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window_rows, self._min_rows = window_rows, min_rows
        self._cache_seconds, self._clock = cache_seconds, clock
        self._lock = threading.Lock()  # scoring threads record, readers snapshot
        self._start(manifest)

    def _start(self, manifest: ModelManifest | None) -> None:
        profile = manifest.drift if manifest is not None else None
        window = RecentInputs(profile, self._window_rows) if profile is not None else None
        with self._lock:
            self._manifest, self._window = manifest, window
            self._cached: tuple[float, dict[str, Any]] | None = None

    @property
    def model(self) -> tuple[str, str] | None:
        """The name and version of the model the window belongs to (None: no model yet)."""
        manifest = self._manifest
        return None if manifest is None else (manifest.name, manifest.version)

    def reset(self, model: ScoringModel) -> None:
        """An empty window on ``model``'s profile (it now serves)."""
        self._start(model.manifest)

    def observe(self, columns: FeatureColumns) -> None:
        """Record scored rows; rows that lack a profiled feature (another model's) are left out."""
        window = self._window
        if window is None:
            return
        with self._lock:
            if window is self._window:  # not swapped meanwhile
                window.record(columns.numeric, columns.categorical, columns.n_rows)

    def summary(self) -> dict[str, Any]:
        """The drift summary (shape in the module's docstring); cached for ``cache_seconds``."""
        now = self._clock()
        with self._lock:
            cached, window, manifest = self._cached, self._window, self._manifest
            if cached is not None and now - cached[0] < self._cache_seconds:
                return cached[1]
            rows = 0 if window is None else window.rows
            values = {} if window is None else window.snapshot()
        summary = drift_summary(None if manifest is None else manifest.drift, values, rows, self._min_rows)
        with self._lock:
            if window is self._window:
                self._cached = (now, summary)
        return summary
