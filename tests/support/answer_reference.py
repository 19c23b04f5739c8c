"""The scoring answer written the plain way: the oracle of edgeloop/wire/insight_wire.py.

One dict per row (insight id, each output's value read from its JSON text, the flags, the
prediction of a model that is not binary),
then ``orjson.dumps`` of the whole answer. ``ScoredRows.response_json`` (slice-assigned
templates) must give bytes that parse to the same value.
"""

from __future__ import annotations

from typing import Any

import orjson

from edgeloop.service_layer.scored_rows import ScoredRows


def reference_answer(scored: ScoredRows) -> bytes:
    results: list[dict[str, Any]] = []
    for index in range(scored.n_rows):
        row: dict[str, Any] = {"insight_id": f"{scored.batch_id}-{scored.first + index:05d}"}
        for name, texts in scored.outputs.items():
            row[name] = orjson.loads(texts[index])
        row["anomaly"] = scored.anomaly[index]
        row["anomaly_kinds"] = list(scored.anomaly_kinds[index])
        if scored.prediction is not None:  # a model that is not binary
            row["prediction"] = orjson.loads(scored.prediction[index])
        results.append(row)
    model = {"name": scored.model_name, "version": scored.model_version}
    return orjson.dumps({"model": model, "results": results})
