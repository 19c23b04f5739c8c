"""The SQLite global store's vision counters: per (site, camera, hour, model), and per class.

Kept in the transaction of every insight write (``SqliteInsightStore.upsert`` adds the
``vision_counts.vision_delta`` of the insights it touches), so a redelivered blob changes
nothing. Reads go by the primary key's prefix (one site) or by the hour index (every site):
the vision page reads a row per camera, hour and model, never the insights. A file written
before these tables is counted once from its stored insights and their feedback when it is
first opened; one from before their feedback columns (a detection model's ``accepted``,
``rejected``, ``missed``) too if it may hold a detection label (one starting as they do: a
verdict or a missed box), else the columns are added, 0 everywhere, which is then exact.
"""

from __future__ import annotations

import sqlite3

import orjson

from edgeloop.domain.detection_labels import MISSED_SEPARATOR, VERDICTS
from edgeloop.domain.records import insight_from_wire
from edgeloop.domain.vision_counts import VisionCounts, VisionKey, VisionRow, summed, vision_contribution

_VERDICTS = "accepted, rejected, missed"

_KEY = "site_id TEXT NOT NULL, camera_id TEXT NOT NULL, hour TEXT NOT NULL, model_name TEXT NOT NULL, "
_KEY += "model_version TEXT NOT NULL"
_KEY_COLUMNS = "site_id, camera_id, hour, model_name, model_version"
_TABLES = (
    f"""CREATE TABLE vision_counts ({_KEY}, frames INTEGER NOT NULL, defects INTEGER NOT NULL,
        anomalies INTEGER NOT NULL, accepted INTEGER NOT NULL, rejected INTEGER NOT NULL,
        missed INTEGER NOT NULL, PRIMARY KEY ({_KEY_COLUMNS})) WITHOUT ROWID""",
    "CREATE INDEX vision_counts_by_hour ON vision_counts (hour)",
    f"""CREATE TABLE vision_classes ({_KEY}, class_name TEXT NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY ({_KEY_COLUMNS}, class_name)) WITHOUT ROWID""",
    "CREATE INDEX vision_classes_by_hour ON vision_classes (hour)",
)
_ADD_COUNTS = f"""
INSERT INTO vision_counts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET
    frames = frames + excluded.frames, defects = defects + excluded.defects,
    anomalies = anomalies + excluded.anomalies, accepted = accepted + excluded.accepted,
    rejected = rejected + excluded.rejected, missed = missed + excluded.missed
"""
_ADD_CLASS = f"""
INSERT INTO vision_classes VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT ({_KEY_COLUMNS}, class_name) DO UPDATE SET count = count + excluded.count
"""


def create_vision_tables(conn: sqlite3.Connection) -> None:
    """Create the tables if missing (or of a shape before their feedback columns), counting the
    insights already stored (one process does it)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(vision_counts)")}
        if columns and "missed" not in columns and not _holds_detection_labels(conn):
            for column in _VERDICTS.split(", "):
                conn.execute(f"ALTER TABLE vision_counts ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
        elif columns and "missed" not in columns:
            conn.execute("DROP TABLE vision_counts")
            conn.execute("DROP TABLE vision_classes")
            columns = set()
        if not columns:
            for statement in _TABLES:
                conn.execute(statement)
            add_vision(conn, _recount(conn))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _holds_detection_labels(conn: sqlite3.Connection) -> bool:
    """Whether a stored label may be a detection's: each starts with a verdict or a missed box."""
    starts = " OR ".join(f"label LIKE '{start}%'" for start in (*VERDICTS, MISSED_SEPARATOR))
    found = conn.execute(f"SELECT 1 FROM feedback WHERE typeof(label) = 'text' AND ({starts}) LIMIT 1")
    return found.fetchone() is not None


_JOINED = "SELECT i.doc, f.label FROM insights AS i LEFT JOIN feedback AS f ON f.insight_id = i.insight_id"


def _recount(conn: sqlite3.Connection) -> dict[VisionKey, VisionCounts]:
    has_insights = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'insights'").fetchone()
    rows = conn.execute(_JOINED) if has_insights else ()
    contributions = (vision_contribution(insight_from_wire(orjson.loads(doc)), label) for doc, label in rows)
    return dict(summed(row for found in contributions for row in found.items()))


def add_vision(conn: sqlite3.Connection, delta: dict[VisionKey, VisionCounts]) -> None:
    """Add ``delta`` to the counters, inside the caller's transaction."""
    keys = {key: (key.site_id, key.camera_id, key.hour, key.model_name, key.model_version) for key in delta}
    conn.executemany(
        _ADD_COUNTS,
        [
            (*keys[key], c.frames, c.defects, c.anomalies, c.accepted, c.rejected, c.missed)
            for key, c in delta.items()
        ],
    )
    conn.executemany(_ADD_CLASS, [(*keys[key], name, n) for key, c in delta.items() for name, n in c.classes])


def vision_rows(conn: sqlite3.Connection, first: str, last: str, site_id: str | None) -> list[VisionRow]:
    """Counter rows of the hours ``[first, last)``, of one site or of all, by key; their classes attached.

    The keys are the primary key's, so unique: sorted by SQLite, no zero row (a corrected insight may
    leave one)."""
    site = "" if site_id is None else "site_id = ? AND "
    where = f"WHERE {site}hour >= ? AND hour < ?"
    params = (first, last) if site_id is None else (site_id, first, last)
    classes: dict[tuple[str, ...], dict[str, int]] = {}
    query = f"SELECT {_KEY_COLUMNS}, class_name, count FROM vision_classes {where} AND count != 0"
    for *key, name, count in conn.execute(query, params):
        classes.setdefault(tuple(key), {})[name] = count
    query = f"SELECT {_KEY_COLUMNS}, frames, defects, anomalies, {_VERDICTS} FROM vision_counts {where}"
    rows: list[VisionRow] = []
    for site_key, camera, hour, model, version, frames, defects, anomalies, *verdicts in conn.execute(
        f"{query} AND frames != 0 ORDER BY {_KEY_COLUMNS}", params
    ):
        found = classes.get((site_key, camera, hour, model, version), {})
        key = VisionKey(site_key, camera, hour, model, version)
        counts = VisionCounts.from_mapping(
            frames, defects, anomalies, found, (verdicts[0], verdicts[1], verdicts[2])
        )
        rows.append((key, counts))
    return rows
