"""Anomaly rules, taken from the model manifest only, applied to whole output columns.

Kinds:
- ``high_risk``: the risk output is at or above the manifest ``threshold``.
- ``out_of_distribution``: the OOD score is beyond ``ood_threshold`` in the manifest's
  ``ood_direction`` ("above": score > threshold; "below": score < threshold).
- ``invalid_output``: the model produced a non-finite risk or OOD score; flagged so a broken
  model is noticed instead of silently reading as "no risk".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from edgeloop.domain.manifest import ModelManifest

HIGH_RISK = "high_risk"
OUT_OF_DISTRIBUTION = "out_of_distribution"
INVALID_OUTPUT = "invalid_output"
ANOMALY_KINDS = (HIGH_RISK, OUT_OF_DISTRIBUTION, INVALID_OUTPUT)

# Every combination of the three flags, indexed by the bit code high_risk=1, ood=2, invalid=4.
_KIND_TABLE: tuple[tuple[str, ...], ...] = tuple(
    tuple(kind for bit, kind in enumerate(ANOMALY_KINDS) if code >> bit & 1) for code in range(8)
)


def detect_anomalies(
    manifest: ModelManifest, outputs: Mapping[str, npt.NDArray[Any]]
) -> tuple[npt.NDArray[np.bool_], list[tuple[str, ...]]]:
    """Per row: whether it is an anomaly, and which kinds (in ``ANOMALY_KINDS`` order)."""
    risk = np.asarray(outputs[manifest.risk_output], dtype=np.float64)
    invalid = ~np.isfinite(risk)
    codes = (risk >= manifest.threshold).astype(np.int8)
    if manifest.ood_output is not None and manifest.ood_threshold is not None:
        score = np.asarray(outputs[manifest.ood_output], dtype=np.float64)
        if score.shape != risk.shape:
            raise ValueError(f"output {manifest.ood_output!r} has shape {score.shape}, expected {risk.shape}")
        if manifest.ood_direction == "above":
            beyond = score > manifest.ood_threshold
        else:
            beyond = score < manifest.ood_threshold
        codes |= beyond.astype(np.int8) << 1
        invalid |= ~np.isfinite(score)
    codes |= invalid.astype(np.int8) << 2
    table = _KIND_TABLE
    kinds = [table[code] for code in codes.tolist()]
    return codes != 0, kinds
