"""Feedback-loop ports: the model registry, retraining and its trainers, the sites' champion source.

Adapters: ``blob_model_registry``, ``sqlite_pointer_ledger``, ``local_trainer`` / ``azureml_trainer``,
``sqlite_drift_trigger_ledger``;
the challenger trainer (any model with a training recipe) is ``edgeloop.training.challenger_trainer``."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from edgeloop.domain.champion import ChampionPointer
from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.promotion import DataCounts
from edgeloop.domain.recipes import RecipeSpec
from edgeloop.domain.retraining_data import Comparison, LabelledRow, RetrainRequest, TrainedModel
from edgeloop.domain.shadow_pointer import SignedShadowPointer
from edgeloop.domain.signed_pointer import AcceptedPointer, SignedPointer
from edgeloop.ports.edge import ScoringModel


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
        """The pointer (its signed part, not verified) and its ETag, or None before the first promotion."""
        ...

    def signed_champion(self, name: str) -> tuple[SignedPointer, str] | None:
        """The pointer with its signatures (to verify before building on it) and its ETag."""
        ...

    def set_champion(self, signed: SignedPointer, etag: str | None) -> str:
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


class DriftTriggerLedger(Protocol):
    """The retraining runs drift requested, per model: what rate-limits them (service_layer.drift_trigger)."""

    def claim(self, model: str, at: datetime, since: datetime, reason: str) -> datetime | None:
        """Record a drift-triggered run of ``model`` at ``at`` unless one is recorded after ``since``:
        None when recorded, else that earlier run's time (nothing recorded). Of claims that race,
        one wins."""
        ...

    def release(self, model: str, at: datetime) -> None:
        """Forget the claim recorded at ``at`` (its run could not be submitted)."""
        ...


class TrainingData(Protocol):
    """One run's data (base rows plus the sites' usable labelled rows), split; fits and scores on it."""

    counts: DataCounts

    def golden_rows(self, count: int) -> list[dict[str, Any]]:
        """Up to ``count`` held-out rows as scoring-API objects (feature name -> value)."""
        ...

    def fit(self, version: str, on_step: Callable[[str], None]) -> TrainedModel:
        """Run the recipe on the data; raises :class:`TrainingFailed` if it raised, timed out or died."""
        ...

    def compare(self, models: dict[str, ScoringModel], curve_labels: dict[str, str]) -> Comparison:
        """Score ``challenger`` and ``champion`` per task; plots label them ``curve_labels[key]``.

        Raises :class:`TrainingFailed` if the challenger's outputs cannot be used (NaN, infinite,
        another task, inputs it refuses).
        """
        ...

    def sites(self) -> list[str]:
        """The sites whose labelled rows are in the data, sorted."""
        ...

    def slice_scores(
        self, models: Mapping[str, ScoringModel], sites: Collection[str]
    ) -> tuple[int, dict[str, dict[str, float]]]:
        """Each model scored on the held-out rows of ``sites`` (rows no challenger trained on):
        how many rows, and the figures by model key (empty with no rows)."""
        ...


class ChallengerTrainer(Protocol):
    """Where challengers come from: the recipe the champion's manifest declares (or a setting)."""

    def training_data(
        self, rows: Sequence[LabelledRow], champion: ModelManifest, recipe: RecipeSpec, unlabelled: int
    ) -> TrainingData:
        """The champion's input schema and task filter ``rows``; ``unlabelled``: insights without a
        label. Raises :class:`TrainingFailed` if the base data cannot be read."""
        ...

    def model_card(self, report: Mapping[str, Any], plot_files: Sequence[str]) -> dict[str, bytes]:
        """The registered version's card file(s) from its run report, showing ``plot_files``."""
        ...


class ChampionSource(Protocol):
    """A site's read-only view of the registry: the champion pointer and its bundles."""

    def poll(self, name: str, etag: str | None) -> tuple[SignedPointer, str] | None:
        """The signed pointer and its ETag if it differs from ``etag`` (None: unchanged or no champion yet).

        Raises :class:`SourceUnavailable` when the registry cannot be reached.
        """
        ...

    def fetch(self, name: str, version: str) -> dict[str, bytes]:
        """The version's files by name (raises :class:`SourceUnavailable`)."""
        ...


class PointerLedger(Protocol):
    """A site's memory of the newest champion pointer it followed, per model (survives restarts)."""

    def last_accepted(self, name: str) -> AcceptedPointer | None: ...

    def record_accepted(self, name: str, accepted: AcceptedPointer) -> None:
        """Remember ``accepted`` unless a higher serial is remembered already (it only grows)."""
        ...


class ShadowPointers(Protocol):
    """``models/<name>/shadow.json``: which challenger sites shadow (the cloud writes, sites poll)."""

    def read(self, name: str) -> tuple[SignedShadowPointer, str] | None:
        """The pointer and its ETag; None: never written. Raises SourceUnavailable when unreadable."""
        ...

    def write(self, signed: SignedShadowPointer, etag: str | None) -> str:
        """Replace the pointer only if its ETag is still ``etag`` (None: create); RegistryConflict if not."""
        ...

    def poll(self, name: str, etag: str | None) -> tuple[SignedShadowPointer, str] | None:
        """The pointer if it differs from ``etag`` (None: unchanged or none); SourceUnavailable offline."""
        ...


class SourceUnavailable(RuntimeError):
    """The registry cannot be reached right now (the site is offline); retry later."""
