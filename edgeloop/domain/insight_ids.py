"""Insight ids: ``<32-hex batch id>-<5-digit row number>``, the one place their format is written.

A batch is one outbox append: every insight (or feedback record) it holds shares the
batch id, a uuid4's 32 hex digits, and is told apart by its row number in the batch.
Feedback ids are written the same way. Pure: stdlib only.
"""

from __future__ import annotations

import re
import uuid

BATCH_ID_PATTERN = "[0-9a-f]{32}"
ROW_NUMBER_DIGITS = 5
ROW_NUMBER_LIMIT = 10**ROW_NUMBER_DIGITS  # a batch holds fewer rows than this
# The whole id, as the OpenAPI document states it (a JSON Schema ``pattern``).
INSIGHT_ID_PATTERN = f"^{BATCH_ID_PATTERN}-[0-9]{{{ROW_NUMBER_DIGITS}}}$"
INSIGHT_ID_HINT = "<32 hex>-<5 digits>"

# Matched with ``fullmatch``: ``$`` would also match before a trailing newline.
_INSIGHT_ID = re.compile(f"({BATCH_ID_PATTERN})-([0-9]{{{ROW_NUMBER_DIGITS}}})")


def new_batch_id() -> str:
    return uuid.uuid4().hex


def insight_id_of(batch_id: str, row: int) -> str:
    """The id of row ``row`` of batch ``batch_id``."""
    return f"{batch_id}-{row:05d}"


def parse_insight_id(text: str) -> tuple[str, int] | None:
    """``(batch id, row number)`` of an insight id; None when ``text`` is not one."""
    match = _INSIGHT_ID.fullmatch(text)
    if match is None:
        return None
    return match.group(1), int(match.group(2))
