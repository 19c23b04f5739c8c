"""Insight wire records (and the scoring answer's rows), serialized column-wise into their final bytes.

The records of a batch share everything but a handful of values, so instead of a
dict and an ``orjson.dumps`` per row, each column is serialized once (orjson) and
cut into per-row values, and each record is one bytes template filled with them.
The bytes are exactly those of ``orjson.dumps`` on the record dict (same keys, same
order, same number formatting): consumers and the tests cannot tell the difference.
Pure: orjson only.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import orjson

_JSON_BOOLS = {True: b"true", False: b"false"}


def _template_key(name: str) -> bytes:
    # ``%`` in a name or value would be read as a placeholder by bytes formatting.
    return orjson.dumps(name).replace(b"%", b"%%") + b":%s"


def float_values(values: list[float]) -> list[bytes]:
    """Each float's JSON text, from one dumps of the list (no JSON number contains a comma)."""
    if not values:
        return []
    return orjson.dumps(values)[1:-1].split(b",")


def repeated_values(values: Sequence[Hashable]) -> list[bytes]:
    """Each value's JSON text, serializing every distinct value once (categories, kinds)."""
    text = {value: orjson.dumps(value) for value in set(values)}
    return [text[value] for value in values]


def insight_records(
    shared: Mapping[str, Any],
    insight_ids: Sequence[str],
    inputs: Mapping[str, list[bytes]],
    outputs: Mapping[str, list[bytes]],
    anomaly: Sequence[bool],
    anomaly_kinds: Sequence[tuple[str, ...]],
    context: Sequence[Mapping[str, str]],
) -> list[bytes]:
    """The records ``{**shared, insight_id, inputs, outputs, anomaly, anomaly_kinds, context}``.

    ``inputs`` / ``outputs``: per name (in record order), each row's value already as JSON
    text (``float_values`` / ``repeated_values``). Every sequence has one item per row.
    """
    head = orjson.dumps(dict(shared))[:-1].replace(b"%", b"%%")
    template = b"".join(
        (
            head,
            b',"insight_id":%s,"inputs":{',
            b",".join(map(_template_key, inputs)),
            b'},"outputs":{',
            b",".join(map(_template_key, outputs)),
            b'},"anomaly":%s,"anomaly_kinds":%s,"context":%s}',
        )
    )
    dumps = orjson.dumps
    columns = (
        list(map(dumps, insight_ids)),
        *inputs.values(),
        *outputs.values(),
        list(map(_JSON_BOOLS.__getitem__, anomaly)),
        repeated_values(anomaly_kinds),
        [dumps(given) if given else b"{}" for given in context],
    )
    if any(len(column) != len(insight_ids) for column in columns):
        raise ValueError("every column must hold one value per row")
    return [template % values for values in zip(*columns, strict=True)]


def result_objects(
    insight_ids: Sequence[str],
    outputs: Mapping[str, list[bytes]],
    anomaly: Sequence[bool],
    anomaly_kinds: Sequence[tuple[str, ...]],
) -> list[bytes]:
    """The scoring answer's per-row objects ``{insight_id, <outputs>, anomaly, anomaly_kinds}``.

    ``outputs`` as in :func:`insight_records`; no output may be named like one of the other keys.
    """
    template = b"".join(
        (
            b'{"insight_id":%s,',
            b"".join(_template_key(name) + b"," for name in outputs),
            b'"anomaly":%s,"anomaly_kinds":%s}',
        )
    )
    columns = (
        list(map(orjson.dumps, insight_ids)),
        *outputs.values(),
        list(map(_JSON_BOOLS.__getitem__, anomaly)),
        repeated_values(anomaly_kinds),
    )
    if any(len(column) != len(insight_ids) for column in columns):
        raise ValueError("every column must hold one value per row")
    return [template % values for values in zip(*columns, strict=True)]
