"""Base data for recipes: CSV and Parquet files with a column mapping, typed per task; the
retraining set built on it (seeded split, the sites' rows filtered and counted)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from edgeloop.domain.manifest import ModelManifest
from edgeloop.domain.recipes import BaseDataSpec
from edgeloop.domain.tasks import BinaryTask, MulticlassTask, RegressionTask
from edgeloop.ports import LabelledRow
from edgeloop.training.base_data import BaseDataError, load_base_data
from edgeloop.training.demo_model import split_indices
from edgeloop.training.training_set import build_training_set, first_dataset, seeded_split

COLUMNS = {"Speed [rpm]": "speed_rpm", "Grade": "grade"}
MULTICLASS = MulticlassTask(("ok", "wear", "heat"), ("p_ok", "p_wear", "p_heat"))
REGRESSION = RegressionTask("minutes")


def rows(n: int = 60) -> dict[str, list[object]]:
    return {
        "Speed [rpm]": [1000.0 + i for i in range(n)],
        "Grade": [("A", "B")[i % 2] for i in range(n)],
        "Failed": [int(i % 6 == 0) for i in range(n)],
        "Mode": [("ok", "ok", "wear", "ok", "heat", "ok")[i % 6] for i in range(n)],
        "Minutes": [float(i) / 2 for i in range(n)],
        "At": [f"2030-01-{1 + i % 28:02d}T10:00:00Z" for i in range(n)],
        "Ignored": ["x"] * n,
    }


def write_csv(path: Path, data: dict[str, list[object]]) -> Path:
    names = list(data)
    lines = [",".join(names)] + [",".join(str(data[k][i]) for k in names) for i in range(len(data[names[0]]))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def spec(uri: Path | str, label: str, data_format: str = "csv", time: str | None = None) -> BaseDataSpec:
    return BaseDataSpec(str(uri), data_format, COLUMNS, label, time)  # type: ignore[arg-type]


def test_a_csv_file_is_read_through_the_column_mapping_and_typed_for_a_binary_task(tmp_path: Path) -> None:
    base = load_base_data(
        spec(write_csv(tmp_path / "b.csv", rows()), "Failed", time="At"), BinaryTask("r", 0.5)
    )
    assert set(base.features) == {"speed_rpm", "grade"}  # mapped names; unmapped columns unread
    assert base.features["speed_rpm"].dtype == np.float64
    assert base.features["grade"].tolist()[:2] == ["A", "B"]
    assert base.labels.dtype == np.int64
    assert base.labels.sum() == 10
    assert base.time[0] == np.datetime64("2030-01-01T10:00:00")
    assert len(base.sha256) == 64


def test_parquet_and_a_folder_of_files_read_the_same_rows(tmp_path: Path) -> None:
    data = rows()
    table = pa.table(data)
    pq.write_table(table.slice(0, 30), tmp_path / "part-1.parquet")
    pq.write_table(table.slice(30), tmp_path / "part-2.parquet")
    folder = load_base_data(spec(tmp_path, "Mode", "parquet"), MULTICLASS)
    single = load_base_data(spec(write_csv(tmp_path / "all.csv", data), "Mode"), MULTICLASS)
    assert folder.source.endswith("(2 files)")
    assert folder.labels.tolist() == single.labels.tolist()
    assert folder.labels.dtype == object  # class names
    assert np.array_equal(folder.features["speed_rpm"], single.features["speed_rpm"])


def test_a_regression_target_is_a_float(tmp_path: Path) -> None:
    base = load_base_data(spec(write_csv(tmp_path / "r.csv", rows()), "Minutes"), REGRESSION)
    assert base.labels.dtype == np.float64
    assert base.labels[3] == 1.5


@pytest.mark.parametrize(
    ("change", "task", "message"),
    [
        ({"Failed": 2}, BinaryTask("r", 0.5), "column 'Failed', row 4: expected 0 or 1, got 2.0"),
        ({"Mode": "melted"}, MULTICLASS, "column 'Mode', row 4: 'melted' is not one of the classes"),
        ({"Speed [rpm]": "fast"}, BinaryTask("r", 0.5), "column 'Speed [rpm]': not a number: 'fast'"),
        ({"Speed [rpm]": ""}, BinaryTask("r", 0.5), "column 'Speed [rpm]', row 4: empty"),
    ],
)
def test_a_bad_value_names_the_column_and_row(
    tmp_path: Path, change: dict, task: object, message: str
) -> None:
    data = rows()
    for column, value in change.items():
        data[column][3] = value
    label = "Mode" if isinstance(task, MulticlassTask) else "Failed"
    with pytest.raises(
        BaseDataError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")
    ):
        load_base_data(spec(write_csv(tmp_path / "bad.csv", data), label), task, inputs=binary_inputs())  # type: ignore[arg-type]


def test_a_missing_column_or_file_is_named(tmp_path: Path) -> None:
    data = rows()
    del data["Grade"]
    with pytest.raises(BaseDataError, match=r"missing columns \['Grade'\]"):
        load_base_data(spec(write_csv(tmp_path / "b.csv", data), "Failed"), BinaryTask("r", 0.5))
    with pytest.raises(BaseDataError, match="no such file or folder"):
        load_base_data(spec(tmp_path / "absent.csv", "Failed"), BinaryTask("r", 0.5))


def test_the_stratified_split_is_the_demo_models_split() -> None:
    labels = np.array([int(i % 9 == 0) for i in range(900)], dtype=np.int64)
    for ours, theirs in zip(seeded_split(labels, 7, stratify=True), split_indices(labels, 7), strict=True):
        assert ours.tolist() == theirs.tolist()


def manifest(task: object, label_kind: str) -> ModelManifest:
    outputs = {"binary": ["r"], "multiclass": ["p_ok", "p_wear", "p_heat"], "regression": ["minutes"]}[
        label_kind
    ]
    return ModelManifest.from_dict(
        {
            "format_version": 2,
            "name": "m",
            "version": "1",
            "created_at": "2030-01-01T00:00:00Z",
            "files": {"m.onnx": "0" * 64},
            "model_file": "m.onnx",
            "inputs": [
                {"name": "speed_rpm", "type": "number", "min": 0, "max": 5000},
                {"name": "grade", "type": "category", "categories": ["A", "B"]},
            ],
            "outputs": [{"name": name} for name in outputs],
            "task": task,
            "onnx_inputs": [
                {"name": "x", "features": ["speed_rpm"], "dtype": "float32"},
                {"name": "g", "features": ["grade"], "dtype": "string"},
            ],
            "onnx_outputs": [{"output": name, "name": name, "column": None} for name in outputs],
        }
    )


def binary_inputs() -> tuple[object, ...]:
    return manifest({"kind": "binary", "risk_output": "r", "threshold": 0.5}, "binary").inputs


def site_row(index: int, label: object, **inputs: object) -> LabelledRow:
    values = {"speed_rpm": 2000.0 + index, "grade": "A", **inputs}
    return LabelledRow(f"id-{index}", values, label, "site-x", datetime(2030, 2, 1, tzinfo=UTC))  # type: ignore[arg-type]


def test_site_rows_outside_the_schema_or_replaying_held_out_rows_are_left_out_and_counted(
    tmp_path: Path,
) -> None:
    task = {
        "kind": "multiclass",
        "classes": ["ok", "wear", "heat"],
        "probability_outputs": ["p_ok", "p_wear", "p_heat"],
    }
    champion = manifest(task, "multiclass")
    base = load_base_data(
        spec(write_csv(tmp_path / "b.csv", rows()), "Mode"), champion.task, inputs=champion.inputs
    )
    held_out = int(seeded_split(base.labels, 7, stratify=True)[2][0])
    replay = {
        "speed_rpm": float(base.features["speed_rpm"][held_out]),
        "grade": str(base.features["grade"][held_out]),
    }
    new = [site_row(i, ("ok", "wear")[i % 2]) for i in range(40)]
    new += [site_row(100, "ok", speed_rpm=9999.0), site_row(101, "melted"), site_row(102, "ok", **replay)]
    training = build_training_set(base, new, champion, seed=7, unlabelled=5)
    counts = training.counts
    assert (counts.new_labelled_rows, counts.out_of_schema_rows, counts.duplicate_rows) == (43, 2, 1)
    assert counts.usable_new_rows == 40
    assert counts.classes == ("ok", "wear", "heat")
    assert counts.new_class_rows == {"ok": 20, "wear": 20, "heat": 0}
    assert counts.base_class_rates["heat"] == pytest.approx(10 / 60)
    dataset = training.dataset
    assert dataset.n_rows == 100
    assert dataset.site.tolist().count("site-x") == 40
    assert training.trusted_holdout.size == 12  # 20 % of the base rows
    assert set(dataset.split.tolist()) == {"train", "validation", "holdout"}
    assert np.isnat(dataset.time[0])
    assert dataset.time[-1] == np.datetime64("2030-02-01T00:00:00")


def test_regression_counts_carry_the_target_mean_and_spread(tmp_path: Path) -> None:
    champion = manifest({"kind": "regression", "value_output": "minutes"}, "regression")
    base = load_base_data(
        spec(write_csv(tmp_path / "b.csv", rows()), "Minutes"), champion.task, inputs=champion.inputs
    )
    training = build_training_set(base, [site_row(i, 100.0) for i in range(10)], champion, seed=7)
    counts = training.counts
    assert counts.base_target_mean == pytest.approx(14.75)
    assert counts.new_target_mean == 100.0
    assert counts.classes == ()
    first = first_dataset(base, champion.task, 7)
    assert first.labels.dtype == np.float64
    assert first.indices("holdout").size == 12
