"""The press-defect bundle (tests/support/bundles.py) with a training profile, and rows to score.

The profile is made from the very rows the defect model trains on, by the same code a
recipe run uses (edgeloop.training.input_profile); ``press_rows`` draws fresh rows of
that distribution, or of one whose pressure sensor reads ``pressure_shift`` bar high
(a recalibrated sensor).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from support.bundles import DEFECT_SENSORS, build_defect_bundle, defect_manifest_fields, defect_training_data

from edgeloop.domain.recipes import TrainingDataset
from edgeloop.domain.tasks import BinaryTask
from edgeloop.training.bundle import write_bundle
from edgeloop.training.input_profile import with_drift_profile


def defect_dataset(seed: int = 3) -> TrainingDataset:
    lines, sensors, labels = defect_training_data(seed=seed)
    n_rows = labels.size
    features: dict[str, Any] = {"line": lines.astype(object)}
    features.update({name: sensors[:, index] for index, (name, *_) in enumerate(DEFECT_SENSORS)})
    return TrainingDataset(
        task=BinaryTask("defect_risk", 0.5),
        features=features,
        labels=labels,
        site=np.full(n_rows, "", dtype=object),
        time=np.full(n_rows, np.datetime64("NaT"), dtype="datetime64[s]"),
        split=np.full(n_rows, "train", dtype=object),
        source="synthetic press data",
    )


def build_profiled_defect_bundle(out_dir: Path, version: str = "0.2.0") -> Path:
    """The defect bundle, its manifest with a ``drift`` profile of its training rows."""
    plain = build_defect_bundle(out_dir.parent / f".{out_dir.name}-plain", version=version)
    fields = with_drift_profile(defect_manifest_fields(version), defect_dataset())
    write_bundle(out_dir, fields, {"press.onnx": (plain / "press.onnx").read_bytes()})
    return out_dir


def press_rows(count: int, seed: int, pressure_shift: float = 0.0) -> list[dict[str, Any]]:
    """Valid scoring rows of the training distribution, the pressure shifted by ``pressure_shift``."""
    lines, sensors, _ = defect_training_data(n_rows=count, seed=seed)
    pressure = np.clip(sensors[:, 0] + pressure_shift, 0.0, 12.0)
    vibration = np.clip(sensors[:, 1], 0.0, 50.0)
    return [
        {"line": str(line), "pressure_bar": round(float(p), 3), "vibration_mm_s": round(float(v), 3)}
        for line, p, v in zip(lines, pressure, vibration, strict=True)
    ]
