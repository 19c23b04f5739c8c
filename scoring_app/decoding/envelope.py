"""The JSON envelope of a body (an object whose only field is ``rows`` / ``items``) and its row bound."""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

import numpy as np

from edgeloop.domain.problems import InvalidInput, Problem

_COUNT_WITH_NUMPY_FROM = 4096  # bytes: below, numpy's set-up costs more than it saves


def check_envelope(body: Any, name: str) -> dict[str, Any]:
    """``body`` if it is a JSON object whose only field may be ``name`` (a list), else InvalidInput."""
    if type(body) is not dict:
        raise InvalidInput([Problem(None, None, f'body must be a JSON object {{"{name}": [...]}}')])
    unknown = [key for key in body if key != name]
    if unknown:
        raise InvalidInput(
            [Problem(None, str(key)[:64], f"is not a known field (expected {name})") for key in unknown]
        )
    return body


def rows_of(body: Any, max_rows: int) -> list[Any]:
    """The ``rows`` of a decoded scoring body, or :class:`InvalidInput` saying what is wrong."""
    body = check_envelope(body, "rows")
    if "rows" not in body:
        raise InvalidInput([Problem(None, "rows", "is missing")])
    rows = body["rows"]
    if type(rows) is not list:
        raise InvalidInput([Problem(None, "rows", "must be a list of row objects")])
    if not rows:
        raise InvalidInput([Problem(None, "rows", "must hold at least one row")])
    if len(rows) > max_rows:
        raise InvalidInput([Problem(None, "rows", f"at most {max_rows} rows per request, got {len(rows)}")])
    return rows


def row_count_bound(body: bytes | Sized) -> int:
    """At least the rows of a scoring body, without decoding it (every row opens a ``{``).

    Rows already decoded count as they are.
    """
    if not isinstance(body, bytes):
        return len(body)
    if len(body) < _COUNT_WITH_NUMPY_FROM:
        return body.count(b"{")
    return int(np.count_nonzero(np.frombuffer(body, np.uint8) == ord("{")))
