"""The recent inputs drift is measured on: a ring buffer per profiled feature, and its summary.

Recording is on the scoring path, so it only copies, O(rows): batches are gathered, then
written together, one or two numpy slice assignments per feature (the last ``capacity``
rows of a larger batch). The statistics (edgeloop.domain.drift) run when the summary is
read. Not thread-safe: the caller (edgeloop.service_layer.drift_monitor) holds a lock
around :meth:`RecentInputs.record` and :meth:`RecentInputs.snapshot`. Pure: numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.drift import DriftProfile, NumberProfile, feature_drift, worst_status

Columns = Mapping[str, npt.NDArray[Any]]


class RecentInputs:
    """The last ``capacity`` rows of each profiled feature (numbers float64, categories as given).

    A batch is first only remembered (a reference); once ``fold_rows`` rows wait, or when the
    rows are read, the waiting batches go into the ring buffers together, one concatenation
    and one or two slice assignments per feature. A single-row scoring so costs a list
    append, not a numpy call per feature.
    """

    def __init__(self, profile: DriftProfile, capacity: int, fold_rows: int = 256) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._numbers = tuple(
            name for name, spec in profile.features.items() if isinstance(spec, NumberProfile)
        )
        self._buffers: dict[str, npt.NDArray[Any]] = {
            name: np.empty(capacity, dtype=np.float64 if name in self._numbers else object)
            for name in profile.features
        }
        self._next = 0  # where the next row goes
        self._held = 0  # rows in the buffers (at most capacity)
        self._waiting: list[tuple[Columns, Columns, int]] = []
        self._waiting_rows = 0
        self._fold_rows = max(1, min(fold_rows, capacity))

    def record(self, numeric: Columns, categorical: Columns, n_rows: int) -> None:
        """Append a batch's rows: its number and category columns, each ``n_rows`` long (a batch
        lacking a profiled feature, another model's, is left out when folded)."""
        if n_rows <= 0:
            return
        self._waiting.append((numeric, categorical, n_rows))
        self._waiting_rows += n_rows
        if self._waiting_rows >= self._fold_rows:
            self._fold()

    @property
    def rows(self) -> int:
        """Rows held (at most ``capacity``)."""
        self._fold()
        return self._held

    def snapshot(self) -> dict[str, npt.NDArray[Any]]:
        """A copy of the rows held per feature (in no particular order: the statistics need none)."""
        self._fold()
        return {name: buffer[: self._held].copy() for name, buffer in self._buffers.items()}

    def _fold(self) -> None:
        batches, self._waiting, self._waiting_rows = self._waiting, [], 0
        if not batches:
            return
        try:
            joined = self._joined(batches)
        except KeyError:  # rarely: a batch of the model served before a swap
            batches = [batch for batch in batches if self._complete(batch)]
            if not batches:
                return
            joined = self._joined(batches)
        self._write(joined, sum(n for *_, n in batches))

    def _joined(self, batches: list[tuple[Columns, Columns, int]]) -> dict[str, npt.NDArray[Any]]:
        numbers = self._numbers
        if len(batches) == 1:
            numeric, categorical, _ = batches[0]
            return {name: (numeric if name in numbers else categorical)[name] for name in self._buffers}
        return {
            name: np.concatenate(
                [(numeric if name in numbers else categorical)[name] for numeric, categorical, _ in batches]
            )
            for name in self._buffers
        }

    def _complete(self, batch: tuple[Columns, Columns, int]) -> bool:
        numeric, categorical, _ = batch
        return all(name in (numeric if name in self._numbers else categorical) for name in self._buffers)

    def _write(self, columns: Columns, n_rows: int) -> None:
        capacity, start = self.capacity, self._next
        skip = max(0, n_rows - capacity)  # only the newest rows of a batch larger than the window
        count = n_rows - skip
        head = min(count, capacity - start)
        for name, buffer in self._buffers.items():
            column = columns[name]
            buffer[start : start + head] = column[skip : skip + head]
            if head < count:
                buffer[: count - head] = column[skip + head : n_rows]
        self._next = (start + count) % capacity
        self._held = min(capacity, self._held + count)


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
