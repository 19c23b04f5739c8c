"""Cloud ports: blobs, claim-check events, the global insight store, the reporting sink, the lake.

Adapters: ``blob_storage``, ``servicebus_publisher`` / ``queue_publisher``, ``cosmos_store`` /
``sqlite_store``, ``powerbi_client`` / ``powerbi_local_sink``, ``sqlite_delivery_ledger``,
``delta_lake_table``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from edgeloop.domain.counter_stats import HourlyRate, SiteStats
from edgeloop.domain.insights_view import InsightPage, InsightQuery, StoredInsight
from edgeloop.domain.model_stats import ModelHour, ModelStats
from edgeloop.domain.records import Record
from edgeloop.domain.shadow_agreement import ShadowObservation
from edgeloop.domain.shadow_records import ShadowInsightRecord
from edgeloop.domain.site_status import SiteStatusRecord
from edgeloop.domain.vision_counts import VisionRow
from edgeloop.wire.claim_check import BlobWrittenEvent, ClaimCheckError


class SiteBlobRefused(ClaimCheckError):
    """A site-written blob whose site's trusted keys do not vouch for it (edgeloop.domain.site_signatures).

    A claim check: an event-driven reader dead-letters it; a listing reader leaves the blob out.
    """


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


class InsightStore(Protocol):
    """The cloud's global store of insights and feedback (SQLite locally, Cosmos DB in Azure).

    Semantics (one contract suite runs against every adapter): ``upsert`` is
    idempotent per ``insight_id`` (redelivery never duplicates), feedback joins
    its insight whichever arrives first, and the statistics come from hourly
    counters per (site, hour, model, task) kept on write (see ``edgeloop.domain.insights_view``;
    the folds: ``counter_stats``, ``model_stats``).
    """

    def upsert(self, records: Sequence[Record]) -> None: ...

    def get(self, site_id: str, insight_id: str) -> StoredInsight | None: ...

    def query(self, query: InsightQuery) -> InsightPage:
        """Insights newest first (``scored_at``, then ``insight_id``), keyset-paged."""
        ...

    def site_stats(
        self, start: datetime | None, end: datetime | None, site_id: str | None = None
    ) -> list[SiteStats]:
        """Per-site totals over [start, end), widened to whole hours; ``site_id``: that site's only.
        Every site's, all time: from the per-model rollup's rows (one per site and model)."""
        ...

    def site_totals(self, start: datetime | None, end: datetime | None) -> list[SiteStats]:
        """Per-site totals as ``site_stats``, but ``model_versions`` left empty: the fleet view's
        read, which needs the counts only, from the per-site hourly rollup kept at ingest
        (``edgeloop.domain.site_rollup``; one row per site and hour, whatever the models); without
        a range, from the per-model rollup's all-time rows (``edgeloop.domain.model_rollup``; one
        per site and model, whatever the hours)."""
        ...

    def hourly_rates(
        self, start: datetime | None, end: datetime | None, site_id: str | None = None
    ) -> list[HourlyRate]:
        """Per (site, hour) counts of each hour with data; ``site_id``: that site's only."""
        ...

    def model_stats(self, start: datetime | None, end: datetime | None) -> list[ModelStats]:
        """Per-model (name, version, task) totals over all sites, with the feedback's measure and
        the sites that scored with each; from the per-model rollups kept at ingest where the store
        has them for the range (``edgeloop.domain.model_rollup``), the counters' answer exactly."""
        ...

    def model_hours(self, start: datetime | None, end: datetime | None) -> list[ModelHour]:
        """Per-model counts of each hour with data, over all sites (the dashboard's charts)."""
        ...

    def upsert_site_status(self, statuses: Sequence[SiteStatusRecord]) -> None:
        """Keep each status once (per ``status_id``); a site's latest is the newest by
        (``reported_at``, ``status_id``), so an older one delivered late never replaces it."""
        ...

    def latest_site_statuses(self) -> list[SiteStatusRecord]:
        """The latest status of every site that sent one, by site id."""
        ...

    def latest_fleet_statuses(self) -> list[SiteStatusRecord]:
        """``latest_site_statuses`` as the fleet view reads them (``domain.fleet.fleet_status``:
        no per-feature drift figures), which a store may read from columns, no document parsed."""
        ...

    def site_status_history(
        self, site_id: str, start: datetime | None, end: datetime | None, limit: int
    ) -> list[SiteStatusRecord]:
        """The site's newest ``limit`` statuses reported in [start, end), oldest first."""
        ...

    def vision_hours(
        self, start: datetime | None, end: datetime | None, site_id: str | None = None
    ) -> list[VisionRow]:
        """Image insights per (site, camera, hour, model) over [start, end), widened to whole hours,
        kept on write as the hourly counters are (edgeloop.domain.vision_counts); sorted by key;
        ``site_id``: that site's only."""
        ...

    def upsert_shadow(self, records: Sequence[ShadowInsightRecord]) -> None:
        """Keep each shadow insight once (per ``shadow_id``): redelivery never duplicates."""
        ...

    def shadow_observations(self, model_name: str, site_id: str, limit: int) -> list[ShadowObservation]:
        """The site's newest ``limit`` shadow insights of the model, each with the feedback label on its
        champion insight (None: none yet), newest first."""
        ...


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


class LakeTable(Protocol):
    """A cloud analytics table of compliant records: insights or feedback (edgeloop.domain.lake_rows)."""

    def merge(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert the rows whose key (``insight_id``, ``feedback_id``) is not in the table yet; the
        number inserted."""
        ...


class LakeInsights(Protocol):
    """Insights read back from the lake table: the retraining's inputs (``RETRAIN_INSIGHTS_FROM=lake``)."""

    def inputs_since(self, date: str) -> dict[str, dict[str, Any]]:
        """``insight_id`` -> model inputs of every insight scored on or after ``date`` (YYYY-MM-DD)."""
        ...
