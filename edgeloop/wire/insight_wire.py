"""Model outputs as JSON number texts, and the scoring answer's rows written column-wise.

``output_texts`` writes each output value once as JSON text: the answer and the insight
documents both embed those texts, never parsing and writing the numbers again;
``text_values`` reads them back; ``prediction_texts`` writes what a task predicts (a class
name, a value) the same way. ``results_array`` writes the answer's rows: the bytes
``orjson.dumps`` makes of the row dicts (same keys, same order), built by filling one
template per row instead of a dict and a dumps per row. Reference implementation and
property test: tests/support/answer_reference.py, tests/unit/test_insight_wire.py.
Pure: orjson and numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from edgeloop.domain.detection_task import DetectedImages, detections_wire
from edgeloop.domain.tasks import BinaryTask, DetectionTask, RegressionTask, Task

_JSON_BOOLS = {True: b"true", False: b"false"}

# A column of model outputs: each row's value as its JSON number text (``null`` if not finite).
OutputTexts = list[bytes]


def output_texts(values: npt.NDArray[np.float64]) -> OutputTexts:
    """A model output column as each row's JSON number text (``null`` for NaN or infinity).

    A column whose values are all exactly float32 (most models compute in float32) is
    written as float32's shortest decimals (0.00015330315, not 0.0001533031463623047):
    half the bytes in the answer, the insight and the queue. Others as Python writes floats.
    """
    if len(values) == 0:
        return []
    narrow = values.astype(np.float32)
    if np.isfinite(values).all() and np.array_equal(narrow, values):
        return orjson.dumps(narrow, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",")
    return number_texts(values.tolist())


def prediction_texts(
    task: Task, outputs: Mapping[str, npt.NDArray[Any]], texts: Mapping[str, OutputTexts]
) -> OutputTexts | None:
    """Each row's prediction as JSON text: the class name or the value; None for a binary task.

    ``outputs``: the model's columns by manifest name; ``texts``: the same, as :func:`output_texts`
    wrote them (a regression's value is that very text). A row whose prediction outputs are
    not all finite predicts nothing: ``null``.
    """
    if isinstance(task, BinaryTask):
        return None
    if isinstance(task, RegressionTask):
        return texts[task.value_output]
    if isinstance(task, DetectionTask):
        raise ValueError("a detection's prediction is its detections: detection_texts")
    names = [orjson.dumps(name) for name in task.classes]
    finite: list[bool] = np.asarray(np.isfinite(task.probabilities(outputs)).all(axis=1)).tolist()
    return [
        names[index] if valid else b"null"
        for index, valid in zip(task.predicted(outputs).tolist(), finite, strict=True)
    ]


def detection_texts(detected: DetectedImages) -> OutputTexts:
    """Each image's detections as JSON text (``null`` where its candidates were not finite)."""
    return [orjson.dumps(found) for found in detections_wire(detected)]


def number_texts(values: Sequence[float | None]) -> OutputTexts:
    """Each number's JSON text, from one dumps of the list (no JSON number contains a comma)."""
    if not values:
        return []
    return orjson.dumps(values)[1:-1].split(b",")


def json_array(texts: Sequence[bytes]) -> bytes:
    """The JSON array of values already written as JSON text."""
    return b"[" + b",".join(texts) + b"]"


def text_values(texts: Sequence[bytes]) -> list[Any]:
    """The values JSON texts stand for (a number text gives a float or an int, ``null`` None)."""
    values: list[Any] = orjson.loads(json_array(texts))
    return values


def results_array(
    batch_id: str,
    row_numbers: Sequence[bytes],
    outputs: Mapping[str, OutputTexts],
    anomaly: Sequence[bool],
    anomaly_kinds: Sequence[tuple[str, ...]],
    prediction: Sequence[bytes] | None = None,
) -> bytes:
    """The scoring answer's ``[{insight_id, <outputs>, anomaly, anomaly_kinds[, prediction]}, ...]``.

    Row ``i``'s insight id is ``<batch_id>-<row_numbers[i]>`` (edgeloop.domain.insight_ids;
    digits: nothing to escape). ``outputs``: per name (in answer order), each row's JSON
    text; no output may be named like one of the other keys. ``prediction``: each row's
    JSON text, for a model that is not binary (None: no such key). Every row is the same
    run of constant pieces and values, so all rows' pieces go into one list by slice
    assignments (in C) and are joined once.
    """
    n = len(row_numbers)
    columns = (row_numbers, *outputs.values())
    predicted = () if prediction is None else (prediction,)
    if any(len(column) != n for column in (*columns, anomaly, anomaly_kinds, *predicted)):
        raise ValueError("every column must hold one value per row")
    if n == 0:
        return b"[]"
    # The constant piece before each column's value: the insight id's head, then each key.
    # The id's closing quote starts the piece after it.
    keys = [orjson.dumps(name) for name in outputs]
    leads = [b'{"insight_id":' + orjson.dumps(batch_id)[:-1] + b"-"]
    leads += [(b'",' if index == 0 else b",") + key + b":" for index, key in enumerate(keys)]
    # A row's last two values have few distinct texts: each is one piece with its key (and
    # the row's end, or the prediction's key), which spares the join three pieces a row.
    after_id = b"," if outputs else b'",'
    row_end = b"}," if prediction is None else b',"prediction":'
    flag_pieces = {flag: after_id + b'"anomaly":' + text for flag, text in _JSON_BOOLS.items()}
    kinds_pieces = {
        kinds: b',"anomaly_kinds":' + orjson.dumps(kinds) + row_end for kinds in set(anomaly_kinds)
    }
    stride = 2 * len(columns) + 2 + 2 * len(predicted)
    pieces: list[bytes] = [b""] * (stride * n)
    for index, (lead, column) in enumerate(zip(leads, columns, strict=True)):
        pieces[2 * index :: stride] = [lead] * n
        pieces[2 * index + 1 :: stride] = column
    flags_at = 2 * len(columns)
    pieces[flags_at::stride] = list(map(flag_pieces.__getitem__, anomaly))
    pieces[flags_at + 1 :: stride] = list(map(kinds_pieces.__getitem__, anomaly_kinds))
    if prediction is not None:
        pieces[flags_at + 2 :: stride] = prediction
        pieces[flags_at + 3 :: stride] = [b"},"] * n
    pieces[-1] = pieces[-1][:-1]  # the last row ends without a comma
    return b"[" + b"".join(pieces) + b"]"
