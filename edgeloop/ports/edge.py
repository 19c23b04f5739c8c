"""Edge ports: the outbox the scoring app writes and the relay reads, the queue uplink, the model.

Adapters: ``sqlite_outbox``, ``storage_queue`` / ``queue_http``, ``onnx_model``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from edgeloop.domain.images import ImageBounds, UploadedImage
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.validation import FeatureColumns


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

    def entry_insights(self, entry_id: str) -> list[dict[str, Any]]:
        """That entry's insight records in append order, decoded (column documents expanded); none
        when the outbox keeps no insight entry of that id (never appended, or past retention)."""
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


class ScoringModel(Protocol):
    """A loaded model bundle (onnxruntime in production: ``adapters.onnx_model.OnnxModel``)."""

    manifest: ModelManifest
    sha256: str  # of the model file, recorded with every insight
    execution_providers: tuple[str, ...]  # what runs the graph, best first (shown in /readyz)

    def predict(self, columns: FeatureColumns) -> dict[str, npt.NDArray[np.float64]]:
        """Outputs keyed by manifest output names, each a 1-D float array of ``columns.n_rows``."""
        ...


@runtime_checkable
class ImageScoringModel(ScoringModel, Protocol):
    """A model that can also take a batch of images (``OnnxModel`` does, for a bundle with an image input)."""

    def predict_images(self, batch: npt.NDArray[Any]) -> dict[str, npt.NDArray[np.float64]]:
        """Outputs keyed by manifest output names, each a 1-D float array of ``len(batch)``, from one
        call of the graph on ``batch`` (the tensor the manifest's image input describes)."""
        ...


class ImageDecoder(Protocol):
    """Turns uploaded JPEG or PNG bytes into an ``H x W x 3`` uint8 RGB array, within bounds."""

    def decode(self, image: UploadedImage, bounds: ImageBounds) -> npt.NDArray[np.uint8]:
        """Raises ``ImageRefused`` (edgeloop.domain.images) saying what is wrong with the file:
        too many bytes or pixels, not JPEG or PNG, truncated or undecodable."""
        ...
