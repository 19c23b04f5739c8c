"""Ports: what the core needs from the outside world, as structural types.

Adapters in ``edgeloop.adapters`` implement these for one technology each
(Azure Storage, SQLite, onnxruntime, ...); the composition roots in
``edgeloop.bootstrap`` pick and wire them. Nothing here imports Azure or web code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

# Re-exported (``X as X``) so port users can import them from here.
from edgeloop.domain.champion import ChampionPointer as ChampionPointer
from edgeloop.domain.insights_view import HourlyRate as HourlyRate
from edgeloop.domain.insights_view import InsightPage as InsightPage
from edgeloop.domain.insights_view import InsightQuery as InsightQuery
from edgeloop.domain.insights_view import SiteStats as SiteStats
from edgeloop.domain.insights_view import StoredInsight as StoredInsight
from edgeloop.domain.manifest import ModelManifest as ModelManifest
from edgeloop.domain.promotion import DataCounts as DataCounts
from edgeloop.domain.records import Record as Record
from edgeloop.domain.retraining_data import Comparison as Comparison
from edgeloop.domain.retraining_data import LabelledRow as LabelledRow
from edgeloop.domain.retraining_data import RetrainRequest as RetrainRequest
from edgeloop.domain.retraining_data import TrainedModel as TrainedModel
from edgeloop.domain.validation import FeatureColumns as FeatureColumns
from edgeloop.wire.claim_check import BlobWrittenEvent as BlobWrittenEvent


class QueueUnavailable(RuntimeError):
    """The queue (or the uplink to it) cannot take messages right now; retry later."""


class QueueSender(Protocol):
    """Sends one message body (raw bytes; the adapter applies the wire encoding).

    Raises :class:`QueueUnavailable` when the queue cannot take it now. Safe to call from
    several threads at once (the relay keeps several sends in flight).
    """

    def send(self, body: bytes) -> None: ...


class OutboxFull(RuntimeError):
    """The on-site outbox cannot accept more records; raised before anything is written."""

    def __init__(self, depth: int, capacity: int, requested: int) -> None:
        super().__init__(f"outbox full: {depth} of {capacity} records pending, {requested} more requested")
        self.depth = depth
        self.capacity = capacity
        self.requested = requested


class OutboxError(RuntimeError):
    """The outbox's store is broken in a way waiting will not mend (corrupt, misused)."""


class OutboxUnavailable(OutboxError):
    """The outbox cannot be read or written right now (busy, locked, disk full or failing); retry later."""


class Outbox(Protocol):
    """Durable on-site store of records waiting for the queue (the scoring side).

    Its unit is the *entry*: what one ``append`` stores (one scoring batch's insights, or one
    feedback request's items), under an id that prefixes its records' insight ids.
    Every method raises :class:`OutboxUnavailable` when the store cannot be used right
    now and :class:`OutboxError` when it is broken; never the store's own exceptions.
    """

    def append(
        self, entry_id: str, kind: str, items: Sequence[bytes], record_count: int | None = None
    ) -> None:
        """Store items as one entry, in one durable transaction (kind: insight|feedback).

        An item is a serialized wire record or a column document standing for
        several (edgeloop.wire.insight_columns); ``record_count``: how many records
        the items stand for (default: one each). Raises :class:`OutboxFull` if
        ``depth() + record_count > capacity()``.
        """
        ...

    def depth(self) -> int:
        """Records accepted but not yet acknowledged by the queue."""
        ...

    def capacity(self) -> int: ...

    def has_record(self, entry_id: str, index: int) -> bool:
        """Whether record #index of that entry is known on site (insight id ``{entry_id}-{index:05d}``)."""
        ...

    def recent(self, kind: str, limit: int) -> list[dict[str, Any]]:
        """The newest retained records of that kind, decoded (column documents expanded), newest first."""
        ...


@dataclass(frozen=True, slots=True)
class ClaimedEntry:
    """One outbox entry leased to a relay: its items in append order, and the records they stand for."""

    entry_id: str
    kind: str
    items: tuple[bytes, ...]
    record_count: int


class OutboxReader(Protocol):
    """The relay's side of the outbox: lease unsent entries, then settle them (errors as for Outbox)."""

    def claim(self, limit: int, lease_seconds: float) -> list[ClaimedEntry]:
        """Lease the oldest unsent, unleased entries, about ``limit`` records (at least one entry)."""
        ...

    def mark_sent(self, entry_ids: Sequence[str]) -> None:
        """The queue acknowledged every record of these entries."""
        ...

    def release(self, entry_ids: Sequence[str]) -> None:
        """Give back leased entries that were not sent, for the next attempt."""
        ...


class BlobStore(Protocol):
    """Named byte objects in containers (Azure Blob Storage in production)."""

    def put(
        self, container: str, name: str, data: bytes, *, content_type: str, overwrite: bool = True
    ) -> str:
        """Store ``data``; returns the blob's URL."""
        ...

    def get(self, container: str, name: str) -> bytes: ...


class EventPublisher(Protocol):
    """Publishes claim-check events to the topic ``insights``."""

    def publish(self, events: Sequence[BlobWrittenEvent]) -> None: ...


class ScoringModel(Protocol):
    """A loaded model bundle (onnxruntime in production: ``adapters.onnx_model.OnnxModel``)."""

    manifest: ModelManifest
    sha256: str  # of the model file, recorded with every insight

    def predict(self, columns: FeatureColumns) -> dict[str, npt.NDArray[np.float64]]:
        """Outputs keyed by manifest output names, each a 1-D float array of ``columns.n_rows``."""
        ...


class InsightStore(Protocol):
    """The cloud's global store of insights and feedback (SQLite locally, Cosmos DB in Azure).

    Semantics (one contract suite runs against every adapter): ``upsert`` is
    idempotent per ``insight_id`` (redelivery never duplicates), feedback joins
    its insight whichever arrives first, and the statistics come from hourly
    counters kept on write (see ``edgeloop.domain.insights_view``).
    """

    def upsert(self, records: Sequence[Record]) -> None: ...

    def get(self, site_id: str, insight_id: str) -> StoredInsight | None: ...

    def query(self, query: InsightQuery) -> InsightPage:
        """Insights newest first (``scored_at``, then ``insight_id``), keyset-paged."""
        ...

    def site_stats(self, start: datetime | None, end: datetime | None) -> list[SiteStats]:
        """Per-site totals over [start, end), widened to whole hours."""
        ...

    def hourly_rates(self, start: datetime | None, end: datetime | None) -> list[HourlyRate]: ...


class RowSink(Protocol):
    """Takes rows for one table of the reporting dataset (a Power BI push dataset in Azure).

    One call is one delivery: it either takes all ``rows`` or raises.
    """

    def push_rows(self, table: str, rows: Sequence[dict[str, object]]) -> None: ...


class DeliveryLedger(Protocol):
    """Which chunks of a source (a blob) were delivered to which table, so redelivery skips them."""

    def delivered(self, source: str, table: str) -> tuple[int, int]:
        """``(chunk_count, row_count)`` already delivered; chunks are delivered in order, so a prefix."""
        ...

    def mark_delivered(self, source: str, table: str, chunk_index: int, row_start: int, row_end: int) -> None:
        """Record chunk ``chunk_index`` (rows ``[row_start, row_end)``) as accepted by the sink."""
        ...


# --- The feedback loop: model registry, retraining, delivery to the sites -------------------------


class RegistryConflict(RuntimeError):
    """The champion pointer changed since it was read (a concurrent promotion won); nothing written."""


class VersionExists(RuntimeError):
    """A registered version is immutable: that name and version are taken."""


class BlobReader(Protocol):
    """Reading a container's blobs by name prefix (the compliant records, for training)."""

    def list_names(self, container: str, prefix: str | None = None) -> list[str]: ...

    def get(self, container: str, name: str) -> bytes: ...


class ModelRegistry(Protocol):
    """Registered model versions (immutable) and the champion pointer of each model name."""

    def register(self, name: str, version: str, files: dict[str, bytes]) -> None:
        """Store a version's files, all or none; raises :class:`VersionExists` for a taken version."""
        ...

    def versions(self, name: str) -> list[str]:
        """Completely registered versions, oldest first."""
        ...

    def read(self, name: str, version: str, file_name: str) -> bytes: ...

    def discard_incomplete(self, name: str, older_than_seconds: float) -> list[str]:
        """Delete files of unregistered versions (a run that died midway) untouched for that long."""
        ...

    def champion(self, name: str) -> tuple[ChampionPointer, str] | None:
        """The pointer and its ETag, or None before the first promotion."""
        ...

    def set_champion(self, pointer: ChampionPointer, etag: str | None) -> str:
        """Replace the pointer read with ``etag`` (None: create it); the new ETag.

        Raises :class:`RegistryConflict` if it changed (or exists, for None) meanwhile.
        """
        ...

    def write_run_report(self, name: str, run_id: str, document: bytes) -> None: ...


class Trainer(Protocol):
    """Starts a retraining run somewhere else (a queue worker locally, Azure ML in Azure)."""

    def submit(self, request: RetrainRequest) -> str:
        """Hand the run over and return at once; returns where it went (queue message or job name)."""
        ...


class TrainingData(Protocol):
    """One run's data (base rows plus the sites' usable labelled rows), split; fits and scores on it."""

    counts: DataCounts

    def golden_rows(self, count: int) -> list[dict[str, Any]]:
        """Up to ``count`` held-out rows as scoring-API objects (feature name -> value)."""
        ...

    def fit(self, version: str, on_step: Callable[[str], None]) -> TrainedModel: ...

    def compare(self, models: dict[str, ScoringModel], curve_labels: dict[str, str]) -> Comparison:
        """Score ``challenger`` and ``champion``; their curves are labelled ``curve_labels[key]``."""
        ...


class ChallengerTrainer(Protocol):
    """Where challengers come from (the demo's AI4I classifier: edgeloop.training.challenger_trainer)."""

    def training_data(
        self, rows: Sequence[LabelledRow], champion: ModelManifest, unlabelled: int
    ) -> TrainingData:
        """The champion's input schema filters ``rows``; ``unlabelled``: insights without a label."""
        ...

    def model_card(self, report: Mapping[str, Any]) -> dict[str, bytes]:
        """The registered version's card file(s) from its run report."""
        ...


class ChampionSource(Protocol):
    """A site's read-only view of the registry: the champion pointer and its bundles."""

    def poll(self, name: str, etag: str | None) -> tuple[ChampionPointer, str] | None:
        """The pointer and its ETag if it differs from ``etag`` (None: unchanged or no champion yet).

        Raises :class:`SourceUnavailable` when the registry cannot be reached.
        """
        ...

    def fetch(self, name: str, version: str) -> dict[str, bytes]:
        """The version's files by name (raises :class:`SourceUnavailable`)."""
        ...


class SourceUnavailable(RuntimeError):
    """The registry cannot be reached right now (the site is offline); retry later."""


class LakeTable(Protocol):
    """The cloud's analytics table of compliant insights (edgeloop.domain.lake_rows)."""

    def merge(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert the rows whose ``insight_id`` is not in the table yet; the number inserted."""
        ...


class LakeInsights(Protocol):
    """Insights read back from the lake table: the retraining's inputs (``RETRAIN_INSIGHTS_FROM=lake``)."""

    def inputs_since(self, date: str) -> dict[str, dict[str, Any]]:
        """``insight_id`` -> model inputs of every insight scored on or after ``date`` (YYYY-MM-DD)."""
        ...
