"""Anomaly rules, taken from the model manifest only, applied to whole output columns.

Kinds: the task's own (edgeloop.domain.tasks: ``high_risk`` for a binary model,
``alert_class`` and ``low_confidence`` for a multiclass one, ``out_of_band`` for a
regression), then for every task:
- ``out_of_distribution``: the OOD score is beyond ``ood_threshold`` in the manifest's
  ``ood_direction`` ("above": score > threshold; "below": score < threshold);
- ``invalid_output``: the model produced a non-finite prediction or OOD score; flagged so
  a broken model is noticed instead of silently reading as "no anomaly".
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.tasks import ALERT_CLASS, HIGH_RISK, LOW_CONFIDENCE, OUT_OF_BAND

OUT_OF_DISTRIBUTION = "out_of_distribution"
INVALID_OUTPUT = "invalid_output"
ANOMALY_KINDS = (HIGH_RISK, ALERT_CLASS, LOW_CONFIDENCE, OUT_OF_BAND, OUT_OF_DISTRIBUTION, INVALID_OUTPUT)


@cache
def _kind_table(kinds: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Every combination of the flags, indexed by the bit code (bit i: ``kinds[i]``)."""
    return tuple(
        tuple(kind for bit, kind in enumerate(kinds) if code >> bit & 1) for code in range(1 << len(kinds))
    )


def detect_anomalies(
    manifest: ModelManifest, outputs: Mapping[str, npt.NDArray[Any]]
) -> tuple[npt.NDArray[np.bool_], list[tuple[str, ...]]]:
    """Per row: whether it is an anomaly, and which kinds (the task's, then OOD, then invalid)."""
    flags, invalid = manifest.task.anomaly_masks(outputs)
    kinds = (*manifest.task.anomaly_kinds, OUT_OF_DISTRIBUTION, INVALID_OUTPUT)
    # From the first kind's flags (every task has at least one): zeros and a shift by 0 cost
    # each model call about 3 us more than the binary rule did before tasks (docs/benchmarks.md).
    codes: npt.NDArray[np.int16] = flags[0].astype(np.int16)
    for bit in range(1, len(flags)):
        codes |= flags[bit].astype(np.int16) << bit
    if manifest.ood_output is not None and manifest.ood_threshold is not None:
        score = np.asarray(outputs[manifest.ood_output], dtype=np.float64)
        if score.shape != invalid.shape:
            raise ValueError(
                f"output {manifest.ood_output!r} has shape {score.shape}, expected {invalid.shape}"
            )
        if manifest.ood_direction == "above":
            beyond = score > manifest.ood_threshold
        else:
            beyond = score < manifest.ood_threshold
        codes |= beyond.astype(np.int16) << len(flags)
        invalid = invalid | ~np.isfinite(score)
    codes |= invalid.astype(np.int16) << (len(flags) + 1)
    table = _kind_table(kinds)
    return codes != 0, [table[code] for code in codes.tolist()]
