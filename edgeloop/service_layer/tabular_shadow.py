"""The shadow's tabular scoring: a committed scoring's rows and what a shadow's evaluation said of them.

:class:`ShadowJob` is what the answer path queues (the served evaluation, its batch id and time);
:func:`tabular_shadow_records` makes one ``shadow_insight`` per row from the shadow's evaluation of
a round's rows together (edgeloop.service_layer.shadow_scoring calls ``evaluate`` once a round),
under the row's insight id, with what the served model answered; derived outputs only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson

from edgeloop.domain.insight_ids import insight_id_of
from edgeloop.domain.records import Label, ModelRef
from edgeloop.domain.shadow_records import ServedOutcome, ShadowInsightRecord
from edgeloop.service_layer.scoring import Evaluation


@dataclass(frozen=True, slots=True)
class ShadowJob:
    served: Evaluation
    batch_id: str
    scored_at: datetime

    @property
    def n_rows(self) -> int:
        return self.served.n_rows


def tabular_shadow_records(
    jobs: Sequence[ShadowJob], shadow: Evaluation, site_id: str
) -> list[ShadowInsightRecord]:
    """One record per row of the jobs, in order, from the shadow's evaluation of their rows together."""
    manifest = shadow.model.manifest
    ref = ModelRef(manifest.name, manifest.version, shadow.model.sha256, manifest.task.kind)
    predictions = _labels(shadow.prediction, shadow.n_rows)
    outputs = {name: [orjson.loads(text) for text in texts] for name, texts in shadow.outputs.items()}
    records, at = [], 0
    for job in jobs:
        served = job.served
        served_version = served.model.manifest.version
        served_predictions = _labels(served.prediction, served.n_rows)
        for row in range(served.n_rows):
            records.append(
                ShadowInsightRecord(
                    insight_id=insight_id_of(job.batch_id, row),
                    site_id=site_id,
                    scored_at=job.scored_at,
                    model=ref,
                    served=ServedOutcome(served_version, served.anomaly[row], served_predictions[row]),
                    outputs={name: values[at] for name, values in outputs.items()},
                    anomaly=shadow.anomaly[at],
                    anomaly_kinds=shadow.anomaly_kinds[at],
                    prediction=predictions[at],
                )
            )
            at += 1
    return records


def _labels(texts: list[bytes] | None, rows: int) -> list[Label | None]:
    """A prediction column's JSON texts as values (None throughout for a binary model)."""
    if texts is None:
        return [None] * rows
    return [orjson.loads(text) for text in texts]
