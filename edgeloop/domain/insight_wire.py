"""The scoring answer's rows, serialized column-wise into their final bytes.

The rows of an answer share their keys, so instead of a dict and an
``orjson.dumps`` per row, each column is serialized once (orjson) and cut into
per-row values, and each row is one bytes template filled with them.
The bytes are exactly those of ``orjson.dumps`` on the row dict (same keys, same
order, same number formatting): consumers and the tests cannot tell the difference.
Pure: orjson only.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

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


def result_objects(
    batch_id: str,
    row_numbers: Sequence[str],
    outputs: Mapping[str, list[bytes]],
    anomaly: Sequence[bool],
    anomaly_kinds: Sequence[tuple[str, ...]],
) -> list[bytes]:
    """The scoring answer's per-row objects ``{insight_id, <outputs>, anomaly, anomaly_kinds}``.

    Row ``i``'s insight id is ``<batch_id>-<row_numbers[i]>`` (five digits: nothing to escape).
    ``outputs``: per name (in answer order), each row's value already as JSON text
    (``float_values``); no output may be named like one of the other keys.
    """
    id_head = orjson.dumps(batch_id)[:-1].replace(b"%", b"%%")  # the opening quote and the batch id
    template = b"".join(
        (
            b'{"insight_id":' + id_head + b'-%s",',
            b"".join(_template_key(name) + b"," for name in outputs),
            b'"anomaly":%s,"anomaly_kinds":%s}',
        )
    )
    columns = (
        [number.encode() for number in row_numbers],
        *outputs.values(),
        list(map(_JSON_BOOLS.__getitem__, anomaly)),
        repeated_values(anomaly_kinds),
    )
    if any(len(column) != len(row_numbers) for column in columns):
        raise ValueError("every column must hold one value per row")
    return [template % values for values in zip(*columns, strict=True)]
