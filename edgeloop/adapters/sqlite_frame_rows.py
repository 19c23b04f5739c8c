"""The SQLite frame store's tables and row mapping (edgeloop.adapters.sqlite_frame_store)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from edgeloop.domain.frame_policy import UploadOutcome
from edgeloop.domain.frames import FrameOrigin, MediaType, ResultSummary, SourceKind, StoredFrame
from edgeloop.domain.records import format_timestamp, parse_timestamp
from edgeloop.ports.frames import FrameDecision

SCHEMA = (
    # seq: the keeping order (and the upload log's cursor); file_name: relative to the frames folder.
    """CREATE TABLE IF NOT EXISTS frames (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        frame_id TEXT NOT NULL UNIQUE,
        file_name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        kept_at TEXT NOT NULL,
        site_id TEXT NOT NULL,
        source TEXT NOT NULL,
        source_name TEXT NOT NULL,
        captured_at TEXT NOT NULL,
        insight_id TEXT NOT NULL,
        top_class TEXT,
        confidence REAL,
        detections INTEGER,
        max_score REAL,
        models_disagree INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS frames_by_kept_at ON frames (kept_at, seq)",
    # The audit: one row per decision, kept after its frame expired (it is the idempotence record).
    """CREATE TABLE IF NOT EXISTS frame_decisions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        frame_id TEXT NOT NULL,
        site_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        decided_at TEXT NOT NULL,
        blob_name TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS frame_decisions_by_frame ON frame_decisions (frame_id, seq)",
    # A frame is uploaded at most once, whatever the caller does.
    "CREATE UNIQUE INDEX IF NOT EXISTS frame_uploaded_once ON frame_decisions (frame_id)"
    " WHERE outcome = 'uploaded'",
    "CREATE INDEX IF NOT EXISTS frame_uploads_by_day ON frame_decisions (site_id, decided_at)"
    " WHERE outcome = 'uploaded'",
)

FRAME_COLUMNS = (
    "frame_id, media_type, size_bytes, kept_at, site_id, source, source_name, captured_at,"
    " insight_id, top_class, confidence, detections, max_score, models_disagree"
)
DECISION_COLUMNS = "frame_id, site_id, outcome, reason, size_bytes, decided_at, blob_name"


def frame_values(stored: StoredFrame, file_name: str) -> tuple[Any, ...]:
    """The ``frames`` row, in the order ``frame_id, file_name,`` then FRAME_COLUMNS' rest."""
    origin, result = stored.origin, stored.result
    return (
        stored.frame_id,
        file_name,
        stored.media_type,
        stored.size_bytes,
        format_timestamp(stored.kept_at),
        origin.site_id,
        origin.source,
        origin.source_name,
        format_timestamp(origin.captured_at),
        origin.insight_id,
        result.top_class,
        result.confidence,
        result.detections,
        result.max_score,
        int(result.models_disagree),
    )


def stored_frame(row: Sequence[Any]) -> StoredFrame:
    """A row of FRAME_COLUMNS as a StoredFrame."""
    origin = FrameOrigin(
        site_id=row[4],
        source=cast(SourceKind, row[5]),
        source_name=row[6],
        captured_at=parse_timestamp(row[7], "captured_at"),
        insight_id=row[8],
    )
    result = ResultSummary(
        top_class=row[9],
        confidence=row[10],
        detections=row[11],
        max_score=row[12],
        models_disagree=bool(row[13]),
    )
    return StoredFrame(
        frame_id=row[0],
        media_type=cast(MediaType, row[1]),
        size_bytes=int(row[2]),
        kept_at=parse_timestamp(row[3], "kept_at"),
        origin=origin,
        result=result,
    )


def decision_values(decision: FrameDecision) -> tuple[Any, ...]:
    return (
        decision.frame_id,
        decision.site_id,
        decision.outcome,
        decision.reason,
        decision.size_bytes,
        format_timestamp(decision.decided_at),
        decision.blob_name,
    )


def frame_decision(row: Sequence[Any]) -> FrameDecision:
    """A row of DECISION_COLUMNS as a FrameDecision."""
    return FrameDecision(
        frame_id=row[0],
        site_id=row[1],
        outcome=cast(UploadOutcome, row[2]),
        reason=row[3],
        size_bytes=int(row[4]),
        decided_at=parse_timestamp(row[5], "decided_at"),
        blob_name=row[6],
    )
