"""``edgeloop replay``: stream labelled rows through a site's scoring API, then report their outcomes.

Rows are sent at ``rate`` rows per second (those due at each tick go in one
request), and each row's true label is sent as feedback ``feedback_delay``
seconds after it was scored: the edge form, the cloud and the global dashboard
see the loop run as it would on a shop floor. ``flip_labels`` sends the wrong
outcome for every row (a poisoned feedback batch, for demonstrations and tests).
"""

from __future__ import annotations

import csv
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from edgeloop.training.dataset import LABEL_COLUMN, NUMERIC_FEATURES, TYPE_COLUMN

TICK_SECONDS = 0.1
MAX_ROWS_PER_REQUEST = 500
MAX_ATTEMPTS = 5


class ReplayError(RuntimeError):
    """The scoring API refused the replay or stayed unreachable; the message says which."""


@dataclass(frozen=True, slots=True)
class ReplayRow:
    row: dict[str, Any]
    label: int


@dataclass
class ReplayStats:
    scored: int = 0
    refused: int = 0
    feedback_sent: int = 0
    versions: dict[str, int] | None = None

    def count_version(self, version: str, rows: int) -> None:
        self.versions = self.versions or {}
        self.versions[version] = self.versions.get(version, 0) + rows


def read_rows(path: Path, limit: int | None = None, skip: int = 0) -> list[ReplayRow]:
    """Rows of an AI4I-format CSV as scoring rows with their label (product id as context)."""
    rows: list[ReplayRow] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for index, record in enumerate(csv.DictReader(handle)):
            if index < skip:
                continue
            if limit is not None and len(rows) >= limit:
                break
            row: dict[str, Any] = {"type": record[TYPE_COLUMN].strip()}
            for name, column, _, _ in NUMERIC_FEATURES:
                row[name] = float(record[column])
            if record.get("Product ID"):
                row["product_id"] = record["Product ID"].strip()[:64]
            rows.append(ReplayRow(row, int(record[LABEL_COLUMN])))
    return rows


def _batches(rows: list[ReplayRow], rate: float) -> Iterator[tuple[float, list[ReplayRow]]]:
    """``(due offset in seconds, rows)``: the rows due by each tick, at most MAX_ROWS_PER_REQUEST."""
    start = 0
    tick = 0
    while start < len(rows):
        tick += 1
        due = min(len(rows), max(start + 1, int(tick * TICK_SECONDS * rate)))
        end = min(due, start + MAX_ROWS_PER_REQUEST)
        yield (start / rate, rows[start:end])
        start = end


class Replayer:
    def __init__(
        self,
        client: httpx.Client,
        *,
        rate: float,
        feedback_delay: float,
        flip_labels: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._client = client
        self._rate = rate
        self._delay = feedback_delay
        self._flip = flip_labels
        self._clock = clock
        self._sleep = sleep

    def check_site(self, site: str) -> None:
        """Refuse to replay into another site's scoring app than the one named."""
        response = self._post_or_get("GET", "/readyz", None, accept=(200, 503))
        served = response.json().get("checks", {}).get("site_id")
        if served is not None and served != site:
            raise ReplayError(
                f"the scoring app at {self._client.base_url} serves site {served!r}, not {site!r}"
            )

    def run(
        self, rows: list[ReplayRow], on_progress: Callable[[ReplayStats], None] = lambda s: None
    ) -> ReplayStats:
        stats = ReplayStats()
        pending: deque[tuple[float, str, int]] = deque()  # (due time, insight id, label)
        started = self._clock()
        for offset, batch in _batches(rows, self._rate):
            self._wait_until(started + offset, pending, stats)
            response = self._post_or_get("POST", "/api/v1/score", {"rows": [r.row for r in batch]})
            if response.status_code == 422:
                stats.refused += len(batch)
                on_progress(stats)
                continue
            body = response.json()
            stats.scored += len(batch)
            stats.count_version(str(body["model"]["version"]), len(batch))
            due = self._clock() + self._delay
            for result, item in zip(body["results"], batch, strict=True):
                pending.append((due, result["insight_id"], 1 - item.label if self._flip else item.label))
            on_progress(stats)
        while pending:
            self._wait_until(pending[0][0], pending, stats)
            self._send_feedback(pending, stats)
            on_progress(stats)
        return stats

    def _wait_until(self, moment: float, pending: deque[tuple[float, str, int]], stats: ReplayStats) -> None:
        while True:
            self._send_feedback(pending, stats)
            remaining = moment - self._clock()
            if remaining <= 0:
                return
            next_feedback = pending[0][0] - self._clock() if pending else remaining
            self._sleep(max(0.0, min(remaining, next_feedback, 0.5)))

    def _send_feedback(self, pending: deque[tuple[float, str, int]], stats: ReplayStats) -> None:
        now = self._clock()
        while pending and pending[0][0] <= now:
            items: list[dict[str, Any]] = []
            while pending and len(items) < 1000 and pending[0][0] <= now:
                _, insight_id, label = pending.popleft()
                items.append({"insight_id": insight_id, "label": label})
            self._post_or_get("POST", "/api/v1/feedback", {"items": items})
            stats.feedback_sent += len(items)

    def _post_or_get(
        self, method: str, path: str, body: dict[str, Any] | None, accept: tuple[int, ...] = (200, 422)
    ) -> httpx.Response:
        delay = 0.5
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self._client.request(method, path, json=body)
            except httpx.TransportError as exc:
                if attempt == MAX_ATTEMPTS:
                    raise ReplayError(f"{method} {path}: scoring app unreachable: {exc}") from exc
            else:
                if response.status_code in accept:
                    return response
                if response.status_code not in (429, 503) or attempt == MAX_ATTEMPTS:
                    raise ReplayError(f"{method} {path}: HTTP {response.status_code}: {response.text[:300]}")
            self._sleep(delay)
            delay = min(delay * 2, 8.0)
        raise AssertionError("unreachable")
