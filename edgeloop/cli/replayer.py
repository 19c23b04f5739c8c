"""``edgeloop replay``: stream labelled rows through a site's scoring API, then report their outcomes.

Rows are sent at ``rate`` rows per second (those due at each tick go in one
request), and each row's true label is sent as feedback ``feedback_delay``
seconds after it was scored: the edge form, the cloud and the global dashboard
see the loop run as it would on a shop floor. Labels are typed per task (0/1, a
class name, a number): :func:`layout_of` reads the serving model's description,
whose ``base_data`` names the CSV column of each input and of the label.
``poison`` sends a wrong outcome for every row (:func:`wrong_label`: a poisoned
feedback batch, for demonstrations and tests).
"""

from __future__ import annotations

import csv
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from edgeloop.domain.records import Label, TaskKind
from edgeloop.recipes.ai4i_inputs import NUMERIC_FEATURES, TYPE_COLUMN
from edgeloop.training.dataset import LABEL_COLUMN

TICK_SECONDS = 0.1
MAX_ROWS_PER_REQUEST = 500
MAX_ATTEMPTS = 5
CONTEXT_COLUMNS = {"Product ID": "product_id"}  # AI4I's, sent as context when the CSV has them
POISON_FACTOR = 60.0  # a regression target in the wrong unit (seconds where minutes are due)
Poison = Callable[[Label], Label]


class ReplayError(RuntimeError):
    """The scoring API refused the replay or stayed unreachable; the message says which."""


@dataclass(frozen=True, slots=True)
class ReplayRow:
    row: dict[str, Any]
    label: Label  # as the model's task has it: 0/1, a class name, a number


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """Where a CSV keeps the model's inputs and the label, and how the label is typed."""

    columns: Mapping[str, str]  # CSV column -> input name
    label: str  # the CSV column of the label or target
    task: TaskKind
    categories: frozenset[str] = frozenset()  # inputs sent as text; the rest are numbers

    def label_of(self, text: str) -> Label:
        value = text.strip()
        if self.task == "binary":
            return int(value)
        return value if self.task == "multiclass" else float(value)


AI4I_LAYOUT = CsvLayout(
    {TYPE_COLUMN: "type", **{column: name for name, column, _, _ in NUMERIC_FEATURES}},
    LABEL_COLUMN,
    "binary",
    frozenset({"type"}),
)


@dataclass
class ReplayStats:
    scored: int = 0
    refused: int = 0
    feedback_sent: int = 0
    versions: dict[str, int] | None = None

    def count_version(self, version: str, rows: int) -> None:
        self.versions = self.versions or {}
        self.versions[version] = self.versions.get(version, 0) + rows


def read_rows(
    path: Path, limit: int | None = None, skip: int = 0, layout: CsvLayout = AI4I_LAYOUT
) -> list[ReplayRow]:
    """Rows of a CSV as scoring rows with their typed label (an AI4I product id as context);
    ReplayError names a missing column, or the line and column of a value that does not fit."""
    rows: list[ReplayRow] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in (*layout.columns, layout.label) if c not in (reader.fieldnames or ())]
        if missing:
            raise ReplayError(f"{path}: no column {missing} (the model's base data has them)")
        for index, record in enumerate(reader):
            if index < skip:
                continue
            if limit is not None and len(rows) >= limit:
                break
            try:
                rows.append(_replay_row(record, layout))
            except _BadValue as exc:
                raise ReplayError(f"{path}, line {index + 2}, column {exc.column!r}: {exc.problem}") from None
    return rows


class _BadValue(ValueError):
    def __init__(self, column: str, problem: str) -> None:
        super().__init__(column, problem)
        self.column = column
        self.problem = problem


def _replay_row(record: Mapping[str, str], layout: CsvLayout) -> ReplayRow:
    row: dict[str, Any] = {}
    column = layout.label
    try:
        for column, name in layout.columns.items():
            text = record[column].strip()
            row[name] = text if name in layout.categories else float(text)
        column = layout.label
        label = layout.label_of(record[column])
    except ValueError as exc:
        raise _BadValue(column, str(exc)) from None
    for context_column, name in CONTEXT_COLUMNS.items():
        if record.get(context_column):
            row[name] = record[context_column].strip()[:64]
    return ReplayRow(row, label)


def layout_of(model: Mapping[str, Any]) -> CsvLayout:
    """The CSV layout of the serving model's base data, from the scoring app's ``GET /api/v1/model``.

    A model without a recipe's base data: the AI4I layout if it is binary, else ReplayError.
    """
    task: TaskKind = model["task"]["kind"]
    base = model.get("base_data")
    if base is None:
        if task == "binary":
            return AI4I_LAYOUT
        raise ReplayError(f"{model['name']} declares no base data: which CSV column is which is unknown")
    categories = frozenset(spec["name"] for spec in model["inputs"] if spec["type"] == "category")
    return CsvLayout(dict(base["columns"]), str(base["label"]), task, categories)


def wrong_label(task: Mapping[str, Any]) -> Poison:
    """A poisoned outcome for the task (its ``to_dict()`` form): binary the other label,
    multiclass the next class of the task's list (every row changes class), regression
    the value times POISON_FACTOR."""
    kind = task["kind"]
    if kind == "binary":
        return lambda label: 1 - int(label)
    if kind == "multiclass":
        classes = [str(name) for name in task["classes"]]
        return lambda label: classes[(classes.index(str(label)) + 1) % len(classes)]
    return lambda label: float(label) * POISON_FACTOR


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
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._client = client
        self._rate = rate
        self._delay = feedback_delay
        self._clock = clock
        self._sleep = sleep

    def model(self) -> dict[str, Any]:
        """The serving model's description (``GET /api/v1/model``): name, version, inputs, task."""
        described: dict[str, Any] = self._post_or_get("GET", "/api/v1/model", None, accept=(200,)).json()
        return described

    def check_site(self, site: str) -> None:
        """Refuse to replay into another site's scoring app than the one named."""
        response = self._post_or_get("GET", "/readyz", None, accept=(200, 503))
        served = response.json().get("checks", {}).get("site_id")
        if served is not None and served != site:
            raise ReplayError(
                f"the scoring app at {self._client.base_url} serves site {served!r}, not {site!r}"
            )

    def run(
        self,
        rows: list[ReplayRow],
        on_progress: Callable[[ReplayStats], None] = lambda s: None,
        *,
        poison: Poison | None = None,
    ) -> ReplayStats:
        """Score ``rows`` at the rate, report each row's label (``poison``: a wrong one) after the delay."""
        stats = ReplayStats()
        pending: deque[tuple[float, str, Label]] = deque()  # (due time, insight id, label)
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
                label = item.label if poison is None else poison(item.label)
                pending.append((due, result["insight_id"], label))
            on_progress(stats)
        while pending:
            self._wait_until(pending[0][0], pending, stats)
            self._send_feedback(pending, stats)
            on_progress(stats)
        return stats

    def _wait_until(
        self, moment: float, pending: deque[tuple[float, str, Label]], stats: ReplayStats
    ) -> None:
        while True:
            self._send_feedback(pending, stats)
            remaining = moment - self._clock()
            if remaining <= 0:
                return
            next_feedback = pending[0][0] - self._clock() if pending else remaining
            self._sleep(max(0.0, min(remaining, next_feedback, 0.5)))

    def _send_feedback(self, pending: deque[tuple[float, str, Label]], stats: ReplayStats) -> None:
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
