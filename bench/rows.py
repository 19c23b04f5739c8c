"""Request rows for the benchmarks: real readings from the demo data set, as the API takes them."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT / "data" / "ai4i2020-train.csv"

# CSV column -> request field (the demo model's manifest inputs, plus on-site context).
_COLUMNS = {
    "Type": "type",
    "Air temperature [K]": "air_temperature_k",
    "Process temperature [K]": "process_temperature_k",
    "Rotational speed [rpm]": "rotational_speed_rpm",
    "Torque [Nm]": "torque_nm",
    "Tool wear [min]": "tool_wear_min",
    "Product ID": "product_id",
}


def demo_rows(limit: int | None = None, path: Path = DATA) -> list[dict[str, Any]]:
    """Rows of the demo CSV as request rows (numbers as JSON numbers, ``type`` and ``product_id`` text)."""
    rows: list[dict[str, Any]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            row: dict[str, Any] = {}
            for column, field in _COLUMNS.items():
                value = record[column]
                row[field] = value if field in ("type", "product_id") else float(value)
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
    return rows


def batches(rows: list[dict[str, Any]], size: int, count: int) -> list[list[dict[str, Any]]]:
    """``count`` lists of ``size`` rows, taken in turn from ``rows`` (wrapping around)."""
    out = []
    for index in range(count):
        start = (index * size) % len(rows)
        chunk = [rows[(start + offset) % len(rows)] for offset in range(size)]
        out.append(chunk)
    return out


def rows_bodies(row_lists: list[list[dict[str, Any]]]) -> list[bytes]:
    """``{"rows": [...]}`` request bodies (the scoring API's and the BentoML peer's shape)."""
    return [orjson.dumps({"rows": rows}) for rows in row_lists]


def flat_bodies(rows: list[dict[str, Any]]) -> list[bytes]:
    """One row per body, as a flat JSON object (the naive app's body model)."""
    return [orjson.dumps(row) for row in rows]
