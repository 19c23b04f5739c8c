"""The storage accounts' layout: container names, blob names and the records blobs' format.

Cloud account: ``compliant`` (every record that passed the compliance policy),
``anomalies`` (copies of the anomalous compliant insights), ``models`` (the model
registry) and ``frames`` (frames a site's policy let out for labelling). Site account:
``quarantine`` (refused records, never leave the site) and ``audit`` (one summary per
queue message).

A records blob is named ``site=<site>/date=<YYYY-MM-DD>/hour=<HH>/<digest>.jsonl.gz``
(partitioned by the filtered record's site and time; ``unknown`` where a record
lacks them) and holds gzipped JSON Lines, one wire record per line. The filter
writes them (edgeloop.service_layer.filtering); ingest, the Power BI feed and
retraining read them back with the readers here, so writer and readers agree.
Pure: gzip, orjson and the domain's timestamps only.
"""

from __future__ import annotations

import functools
import gzip
import logging
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import orjson

from edgeloop.domain.records import RecordError, parse_timestamp
from edgeloop.wire.claim_check import ClaimCheckError

logger = logging.getLogger(__name__)

COMPLIANT_CONTAINER = "compliant"
ANOMALIES_CONTAINER = "anomalies"
MODELS_CONTAINER = "models"
LAKE_CONTAINER = "lake"  # Delta tables (edgeloop.domain.lake_rows), e.g. lake/insights
QUARANTINE_CONTAINER = "quarantine"  # site account
AUDIT_CONTAINER = "audit"  # site account
UNKNOWN = "unknown"

RECORDS_CONTENT_TYPE = "application/gzip"
QUARANTINE_CONTENT_TYPE = "application/x-ndjson"
AUDIT_CONTENT_TYPE = "application/json"

Partition = tuple[str, str, str]  # (site, date, hour) segments
_DATE_SEGMENT = re.compile(r"(?:^|/)date=(\d{4}-\d{2}-\d{2})/")


def partition_of(record: Mapping[str, Any]) -> Partition:
    """``(site, date, hour)`` from the *filtered* record, so names never carry dropped data."""
    site = record.get("site_id")
    site_text = _site_segment(site) if isinstance(site, str) and site else UNKNOWN
    stamp = record.get("scored_at", record.get("recorded_at", record.get("reported_at")))
    if isinstance(stamp, str):
        try:
            moment = parse_timestamp(stamp, "timestamp")
        except RecordError:
            return site_text, UNKNOWN, UNKNOWN
        # strftime pads years below 1000 differently per platform; only those need it, and it is slow.
        date = moment.date().isoformat() if moment.year >= 1000 else moment.strftime("%Y-%m-%d")
        return site_text, date, f"{moment.hour:02d}"
    return site_text, UNKNOWN, UNKNOWN


@functools.lru_cache(maxsize=1024)
def _site_segment(site: str) -> str:
    """A site id as a blob name segment; a filter sees few sites, each in every record."""
    return quote(site, safe="-_.~")


def records_blob_name(partition: Partition, digest: str) -> str:
    site, date, hour = partition
    return f"site={site}/date={date}/hour={hour}/{digest}.jsonl.gz"


def records_blob_date(blob_name: str) -> str | None:
    """The ``YYYY-MM-DD`` partition of a records blob name, or None (``unknown``, or not that layout)."""
    match = _DATE_SEGMENT.search(blob_name)
    return match.group(1) if match else None


def quarantine_blob_name(digest: str) -> str:
    return f"{digest}.jsonl"


def audit_blob_name(digest: str) -> str:
    return f"{digest}.json"


def jsonl(lines: Sequence[Any]) -> bytes:
    return b"".join(orjson.dumps(line, option=orjson.OPT_SORT_KEYS) + b"\n" for line in lines)


def jsonl_gz(lines: Sequence[Any]) -> bytes:
    # Gzipped JSON Lines rather than Parquet: no pyarrow on the edge image, a reader can stream
    # it line by line, and files concatenate. mtime=0: identical bytes on redelivery. Level 1
    # (as the queue packs): half the CPU of level 6 for slightly larger blobs.
    return gzip.compress(jsonl(lines), compresslevel=1, mtime=0)


def read_jsonl_gz(data: bytes, source: str) -> list[tuple[int, Any]]:
    """``(line number, JSON value)`` of every non-blank line of a gzipped JSON Lines blob.

    ``source`` (``container/blob``) prefixes every error; the first bad line raises
    :class:`~edgeloop.wire.claim_check.ClaimCheckError`.
    """
    values: list[tuple[int, Any]] = []
    for number, line in enumerate(_decompress(data, source).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values.append((number, orjson.loads(line)))
        except orjson.JSONDecodeError as exc:
            raise ClaimCheckError(f"{source}: line {number}: not JSON ({exc})") from None
    return values


def read_objects_skipping_bad(data: bytes, source: str) -> list[dict[str, Any]]:
    """The JSON objects of a gzipped JSON Lines blob, for bulk readers that take what they can.

    An unreadable blob reads as empty, a line that is not JSON and a value that is not an
    object are skipped; each skip is logged as a warning naming ``source``.
    """
    try:
        text = _decompress(data, source).decode("utf-8")
    except (ClaimCheckError, zlib.error, UnicodeDecodeError) as exc:
        logger.warning("skipping unreadable blob %s: %s", source, exc)
        return []
    objects: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            logger.warning("skipping a line that is not JSON in %s", source)
            continue
        if isinstance(value, dict):
            objects.append(value)
    return objects


def _decompress(data: bytes, source: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise ClaimCheckError(f"{source}: not a gzip stream ({exc})") from None


# Site and cloud accounts: one JSON document per replay or purge (edgeloop ops), who/when/what.
OPERATIONS_AUDIT_CONTAINER = "operations-audit"


def operations_audit_blob_name(stamp: str, action: str, token: str) -> str:
    """``<YYYY-MM-DD>/<stamp>-<action>-<token>.json``: listed by day, in time order."""
    return f"{stamp[:10]}/{stamp}-{action}-{token}.json"


# Cloud account: frames a site's policy let out for labelling and retraining
# (edgeloop.service_layer.frame_upload). Each frame is two blobs: its bytes, and a JSON
# document of its derived result; neither carries an uploaded file's name.
FRAMES_CONTAINER = "frames"
FRAME_DOCUMENT_CONTENT_TYPE = "application/json"


def frame_blob_name(site: str, date: str, frame_id: str, suffix: str) -> str:
    """``site=<site>/date=<YYYY-MM-DD>/<frame id>.<jpg|png>``: one name per frame, so a retried
    upload overwrites itself and never makes a second copy."""
    return f"site={_site_segment(site)}/date={date}/{frame_id}.{suffix}"


def frame_document_name(frame_blob: str) -> str:
    """The frame's result document, beside its bytes: ``<frame blob without suffix>.json``."""
    return f"{frame_blob.rsplit('.', 1)[0]}.json"
