"""The inputs of every AI4I 2020 model: the product type and five process readings.

One table for everything that reads or describes them: the CSV loader, the demo's graph
and manifest (edgeloop.training), the replayer, and both AI4I recipes. The limits are the
data set's own (data/README.md).
"""

from __future__ import annotations

from typing import Any

TYPE_FEATURE = "type"
TYPE_COLUMN = "Type"
TYPE_CATEGORIES = ("L", "M", "H")  # product quality variant: low, medium, high
# (feature name, CSV column, unit, description), in the order of the models' numeric input.
NUMERIC_FEATURES: tuple[tuple[str, str, str, str], ...] = (
    ("air_temperature_k", "Air temperature [K]", "K", "Ambient air temperature"),
    ("process_temperature_k", "Process temperature [K]", "K", "Process temperature"),
    ("rotational_speed_rpm", "Rotational speed [rpm]", "rpm", "Spindle rotational speed"),
    ("torque_nm", "Torque [Nm]", "Nm", "Spindle torque"),
    ("tool_wear_min", "Tool wear [min]", "min", "Accumulated tool use time"),
)
NUMERIC_NAMES = tuple(name for name, *_ in NUMERIC_FEATURES)
# CSV column -> the models' input feature.
CSV_COLUMNS = {TYPE_COLUMN: TYPE_FEATURE, **{column: name for name, column, *_ in NUMERIC_FEATURES}}
# Overstrain (OSF): tool wear x torque above the product type's limit [min Nm].
OVERSTRAIN_LIMITS = {"L": 11000.0, "M": 12000.0, "H": 13000.0}


def type_input() -> dict[str, Any]:
    """The manifest's input spec of ``type`` (a new dict each call)."""
    return {
        "name": TYPE_FEATURE,
        "type": "category",
        "unit": "",
        "categories": list(TYPE_CATEGORIES),
        "description": "Product quality variant (L: low, M: medium, H: high)",
    }
