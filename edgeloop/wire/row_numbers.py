"""The five-digit row numbers that end insight ids (``"00000"``, ``"00001"``, ...), formatted once.

Formatting a thousand of them was a visible share of a 1,000-row request, so one table
per process keeps them, text and bytes, grown on demand. Growing takes a lock; reading
does not (both lists only ever grow, bytes last). Pure: stdlib only.
"""

from __future__ import annotations

import threading

from edgeloop.domain.insight_ids import ROW_NUMBER_DIGITS, ROW_NUMBER_LIMIT

_MIN_ROWS = 1024  # formatted at the first use: most batches need no more


class RowNumbers:
    """Row numbers ``first`` to ``first + count - 1``, as text or bytes; ValueError beyond five digits."""

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._bytes: list[bytes] = []
        self._lock = threading.Lock()

    def texts(self, first: int, count: int) -> list[str]:
        self._grow(first, first + count)
        return self._texts[first : first + count]

    def encoded(self, first: int, count: int) -> list[bytes]:
        self._grow(first, first + count)
        return self._bytes[first : first + count]

    def _grow(self, first: int, end: int) -> None:
        if first < 0 or end > ROW_NUMBER_LIMIT:
            raise ValueError(f"row numbers {first} to {end - 1} are not all five digits")
        if len(self._bytes) < end:
            with self._lock:
                more = [
                    f"{index:0{ROW_NUMBER_DIGITS}d}" for index in range(len(self._texts), max(end, _MIN_ROWS))
                ]
                self._texts.extend(more)
                self._bytes.extend(number.encode() for number in more)


_TABLE = RowNumbers()


def row_numbers(first: int, count: int) -> list[str]:
    return _TABLE.texts(first, count)


def row_number_bytes(first: int, count: int) -> list[bytes]:
    return _TABLE.encoded(first, count)


def insight_ids_of(batch_id: str, first: int, count: int) -> list[str]:
    """``insight_id_of(batch_id, i)`` (edgeloop.domain.insight_ids) for ``count`` rows from ``first``."""
    return list(map(f"{batch_id}-".__add__, row_numbers(first, count)))
