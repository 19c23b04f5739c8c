"""W3C trace context as the insight path carries it: one ``traceparent`` string, nothing else.

A traceparent is ``00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`` (W3C Trace
Context): random ids only, so no personal data can ride along with it. It is an optional
field of the insight column document, the packed message's header line and the claim-check
event; readers check the format and treat anything else as absent, so records from older
sites (without one) or with a malformed one are accepted and only start no link. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TRACEPARENT_LENGTH = 55
_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")


def valid_traceparent(value: object) -> str | None:
    """``value`` if it is a well-formed version-00 traceparent, else None."""
    if type(value) is str and len(value) == TRACEPARENT_LENGTH and _TRACEPARENT.fullmatch(value):
        return value
    return None


def trace_id_of(traceparent: str) -> str:
    """The 32 hex digits of the trace id (what logs and Azure Monitor's operation id show)."""
    return traceparent[3:35]


def span_id_of(traceparent: str) -> str:
    return traceparent[36:52]


def distinct_traceparents(values: Iterable[object]) -> list[str]:
    """The valid ones, in first-seen order, each once."""
    found: dict[str, None] = {}
    for value in values:
        traceparent = valid_traceparent(value)
        if traceparent is not None:
            found[traceparent] = None
    return list(found)
