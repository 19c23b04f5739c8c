"""Query parameters of the global app, parsed by hand so every error names its parameter.

Cursors are opaque to clients: base64url of the keyset position plus a digest
of the filters it was issued for, so a cursor replayed with other filters is
refused instead of silently paging something else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

import orjson

from edgeloop.domain.insights_view import InsightCursor
from edgeloop.domain.records import RecordError, format_timestamp, parse_timestamp

MAX_LIMIT = 1000
MAX_PAGE = 1_000_000
MAX_SITE_LENGTH = 128
# Times a range may name: four-digit years, with room for widening to whole hours.
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


class ParamError(ValueError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


def reject_unknown(params: Mapping[str, str], allowed: Iterable[str]) -> None:
    known = set(allowed)
    for name in params:
        if name not in known:
            raise ParamError(name, f"unknown parameter (allowed: {', '.join(sorted(known))})")


def parse_time(params: Mapping[str, str], name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        moment = parse_timestamp(raw, name)
    except RecordError as exc:
        raise ParamError(
            name, f"{exc.message} (use ISO 8601 with a timezone, e.g. 2024-05-01T12:00:00Z)"
        ) from None
    except OverflowError:  # in UTC, a year before 1 or after 9999
        moment = EARLIEST - timedelta(days=1)
    if not EARLIEST <= moment < LATEST:
        raise ParamError(name, f"must be from {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d} (UTC)")
    return moment


def parse_range(params: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    start, end = parse_time(params, "from"), parse_time(params, "to")
    if start is not None and end is not None and start >= end:
        raise ParamError("from", "must be before 'to'")
    return start, end


def parse_bool(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name, "").strip().lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise ParamError(name, f"expected true or false, got {raw!r}")


def parse_limit(params: Mapping[str, str], default: int = 100) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ParamError("limit", f"expected a whole number from 1 to {MAX_LIMIT}, got {raw!r}")
    return int(raw)


def parse_page(params: Mapping[str, str]) -> int:
    raw = params.get("page")
    if raw is None or raw == "":
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise ParamError("page", f"expected a whole number from 1 to {MAX_PAGE}, got {raw!r}")
    return int(raw)


def parse_states(params: Mapping[str, str], known: tuple[str, ...]) -> tuple[str, ...]:
    """``state=offline,degraded``: the states named, each one of ``known``; empty: every state."""
    named = tuple(part.strip() for part in params.get("state", "").split(",") if part.strip())
    for state in named:
        if state not in known:
            raise ParamError("state", f"expected states among {', '.join(known)}, got {state[:40]!r}")
    return named


def parse_site(params: Mapping[str, str], name: str = "site") -> str | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_SITE_LENGTH or not raw.isprintable():
        raise ParamError(name, f"expected a site id of at most {MAX_SITE_LENGTH} printable characters")
    return raw


def parse_choice(params: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``; absent or empty: the first."""
    raw = params.get(name) or choices[0]
    if raw not in choices:
        raise ParamError(name, f"expected one of {', '.join(choices)}, got {raw[:40]!r}")
    return raw


def filter_scope(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def encode_cursor(cursor: InsightCursor, scope: str) -> str:
    document = {"t": format_timestamp(cursor.scored_at), "i": cursor.insight_id, "s": scope}
    return base64.urlsafe_b64encode(orjson.dumps(document)).decode().rstrip("=")


def decode_cursor(params: Mapping[str, str], scope: str) -> InsightCursor | None:
    raw = params.get("cursor")
    if raw is None or raw == "":
        return None
    try:
        document = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        cursor = InsightCursor(parse_timestamp(document["t"], "cursor"), str(document["i"]))
        issued_for = document["s"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ParamError("cursor", "not a cursor this API issued") from None
    if issued_for != scope:
        raise ParamError("cursor", "was issued for other filters: keep site, from, to and anomalies_only")
    return cursor
