"""``edgeloop replay`` reads rows and typed labels per task, and poisons them per task.

The layout comes from the scoring app's model description (``base_data``: which CSV column
is which input and the label); the example CSVs under data/ are read as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgeloop.cli.replayer import AI4I_LAYOUT, ReplayError, layout_of, read_rows, wrong_label
from edgeloop.recipes import ai4i_failure_mode, tool_life
from localdev.azurite import REPO_ROOT


def description(kind: str, base_data: Any, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """A model description as ``GET /api/v1/model`` answers it (the parts replay reads)."""
    task: dict[str, Any] = {"kind": kind}
    described = {"name": "m", "version": "1", "inputs": inputs, "task": task}
    if base_data is not None:
        described["base_data"] = {"columns": dict(base_data.columns), "label": base_data.label}
    return described


FAILURE_MODE = description(
    "multiclass",
    ai4i_failure_mode.BASE_DATA,
    [{"name": "type", "type": "category"}]
    + [{"name": name, "type": "number"} for name in ai4i_failure_mode.NUMERIC_NAMES],
)
TOOL_LIFE = description(
    "regression", tool_life.BASE_DATA, [{"name": name, "type": "number"} for name in tool_life.NUMERIC_NAMES]
)


def test_a_multiclass_row_carries_its_class_name() -> None:
    layout = layout_of(FAILURE_MODE)
    rows = read_rows(REPO_ROOT / "data" / "ai4i2020-failure-mode.csv", limit=3, layout=layout)
    assert [row.label for row in rows] == ["none", "none", "none"]
    assert rows[0].row == {
        "type": "M",
        "air_temperature_k": 298.1,
        "process_temperature_k": 308.6,
        "rotational_speed_rpm": 1551.0,
        "torque_nm": 42.8,
        "tool_wear_min": 0.0,
    }
    labels = {row.label for row in read_rows(layout=layout, path=REPO_ROOT / ai4i_failure_mode.BASE_DATA.uri)}
    assert labels == set(ai4i_failure_mode.CLASSES)


def test_a_regression_row_carries_its_target_as_a_number() -> None:
    rows = read_rows(REPO_ROOT / "data" / "tool-life.csv", limit=2, skip=1, layout=layout_of(TOOL_LIFE))
    assert rows[0].row == {"cutting_speed_m_min": 212.0, "feed_mm_rev": 0.396, "depth_of_cut_mm": 1.87}
    assert rows[0].label == 11.61
    assert all(type(row.label) is float for row in rows)


def test_the_ai4i_default_keeps_the_binary_label_and_the_product_id() -> None:
    [row] = read_rows(REPO_ROOT / "data" / "ai4i2020-train.csv", limit=1)
    assert row.label == 0
    assert type(row.label) is int
    assert row.row["product_id"] == "M14860"
    binary_without_recipe = description("binary", None, [])
    assert layout_of(binary_without_recipe) == AI4I_LAYOUT


def test_a_model_without_base_data_that_is_not_binary_is_refused() -> None:
    with pytest.raises(ReplayError, match="declares no base data"):
        layout_of(description("regression", None, []))


def test_a_csv_without_the_models_columns_is_refused_naming_them() -> None:
    with pytest.raises(ReplayError, match=r"Tool life \[min\]"):
        read_rows(REPO_ROOT / "data" / "ai4i2020-train.csv", layout=layout_of(TOOL_LIFE))


def test_a_value_that_does_not_fit_names_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    header = "Cutting speed [m/min],Feed [mm/rev],Depth of cut [mm],Tool life [min]"
    path.write_text(f"{header}\n200,0.3,2,30\n210,0.3,2,long\n", encoding="utf-8")
    with pytest.raises(ReplayError, match=r"line 3, column 'Tool life \[min\]'"):
        read_rows(path, layout=layout_of(TOOL_LIFE))
    path.write_text(f"{header}\n200,fast,2,30\n", encoding="utf-8")
    with pytest.raises(ReplayError, match=r"line 2, column 'Feed \[mm/rev\]'"):
        read_rows(path, layout=layout_of(TOOL_LIFE))


def test_poison_moves_every_label_per_task() -> None:
    flip = wrong_label({"kind": "binary"})
    assert [flip(0), flip(1)] == [1, 0]
    classes = list(ai4i_failure_mode.CLASSES)
    shift = wrong_label({"kind": "multiclass", "classes": classes})
    moved = [shift(name) for name in classes]
    assert moved == [*classes[1:], classes[0]]  # every class becomes another, none is lost
    scale = wrong_label({"kind": "regression"})
    assert scale(12.5) == 750.0
