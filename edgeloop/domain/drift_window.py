"""The recent inputs drift is measured on: a ring buffer per profiled feature, and its summary.

Recording is on the scoring path, so it only copies: a batch of ``n`` rows costs one or two
numpy slice assignments per feature (the last ``capacity`` rows of a larger batch). The
statistics (edgeloop.domain.drift) run when the summary is read. Not thread-safe: the
caller (edgeloop.service_layer.drift_monitor) holds a lock around :meth:`record` and
:meth:`snapshot`. Pure: numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.drift import DriftProfile, NumberProfile, feature_drift, worst_status

Columns = Mapping[str, npt.NDArray[Any]]


class RecentInputs:
    """The last ``capacity`` rows of each profiled feature (numbers float64, categories as given)."""

    def __init__(self, profile: DriftProfile, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._buffers: dict[str, npt.NDArray[Any]] = {
            name: np.empty(capacity, dtype=np.float64 if isinstance(spec, NumberProfile) else object)
            for name, spec in profile.features.items()
        }
        self._next = 0  # where the next row goes
        self.rows = 0  # rows held (at most capacity)

    def record(self, columns: Columns, n_rows: int) -> bool:
        """Append a batch's rows; False (nothing recorded) if a profiled feature is missing."""
        buffers = self._buffers
        if n_rows <= 0 or not all(name in columns for name in buffers):
            return False
        capacity, start = self.capacity, self._next
        skip = max(0, n_rows - capacity)  # only the newest rows of a batch larger than the window
        count = n_rows - skip
        head = min(count, capacity - start)
        for name, buffer in buffers.items():
            column = columns[name]
            buffer[start : start + head] = column[skip : skip + head]
            if head < count:
                buffer[: count - head] = column[skip + head : n_rows]
        self._next = (start + count) % capacity
        self.rows = min(capacity, self.rows + count)
        return True

    def snapshot(self) -> dict[str, npt.NDArray[Any]]:
        """A copy of the rows held per feature (in no particular order: the statistics need none)."""
        return {name: buffer[: self.rows].copy() for name, buffer in self._buffers.items()}


def drift_summary(profile: DriftProfile | None, window: Columns, rows: int, min_rows: int) -> dict[str, Any]:
    """The drift summary (the shape the site's heartbeat carries)::

        {"status": "ok" | "watch" | "drift" | "unavailable", "window_rows": int,
         "features": {name: {"statistic", "value", "threshold", "status"}}}

    "unavailable" (features empty): the model has no profile, or fewer than ``min_rows``
    rows were scored since it started serving; otherwise the worst feature's status.
    """
    if profile is None or not profile.features or rows < min_rows:
        return {"status": "unavailable", "window_rows": rows, "features": {}}
    features = {name: feature_drift(spec, window[name]) for name, spec in profile.features.items()}
    return {
        "status": worst_status([drift.status for drift in features.values()]),
        "window_rows": rows,
        "features": {name: drift.to_dict() for name, drift in features.items()},
    }


MAX_REASON_CHARACTERS = 200  # what a retrain request carries (edgeloop.wire.retrain_request)


def drifted_features(summary: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The features a site's summary (as received: JSON) says drifted, sorted; None unless its
    status is "drift" with at least one such feature."""
    features = summary.get("features")
    if summary.get("status") != "drift" or not isinstance(features, Mapping):
        return None
    drifted = sorted(
        str(name)
        for name, feature in features.items()
        if isinstance(feature, Mapping) and feature.get("status") == "drift"
    )
    return tuple(drifted) or None


def drift_reason(site_id: str, features: tuple[str, ...]) -> str:
    """A drift-triggered run's reason: ``drift: site S, features a, b`` (cut to fit a request)."""
    reason = f"drift: site {site_id}, features {', '.join(features)}"
    if len(reason) <= MAX_REASON_CHARACTERS:
        return reason
    return reason[: MAX_REASON_CHARACTERS - 3] + "..."
