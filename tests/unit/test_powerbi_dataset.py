"""One model's push dataset definition, generated from its manifest and read back (powerbi_dataset)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.manifests import demo_manifest, multiclass_manifest_dict
from support.powerbi_records import binary_dataset, multiclass_dataset, regression_dataset

from edgeloop.domain.powerbi_dataset import DEFINITION_BLOCK, PowerBIDataset, service_body
from edgeloop.domain.powerbi_schema import FEEDBACK_TABLE, INSIGHTS_TABLE, VALUES_TABLE, DefinitionError

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMON_INSIGHT = [
    "insight_id", "site_id", "scored_at", "model_name", "model_version", "model_sha256",
    "anomaly", "anomaly_kinds", "schema_version",
]  # fmt: skip
COMMON_FEEDBACK = ["feedback_id", "insight_id", "site_id", "recorded_at", "schema_version"]


def columns(dataset: PowerBIDataset, table: str) -> list[tuple[str, str]]:
    tables = {t["name"]: t for t in dataset.definition()["tables"]}
    return [(c["name"], c["dataType"]) for c in tables[table]["columns"]]


def task_columns(dataset: PowerBIDataset, table: str, common: list[str]) -> list[tuple[str, str]]:
    found = columns(dataset, table)
    assert [name for name, _ in found[: len(common)]] == common
    return found[len(common) :]


@pytest.mark.parametrize(
    ("dataset", "insight_columns", "feedback_columns"),
    [
        (binary_dataset(), [("risk_score", "Double")], [("label", "Int64")]),
        (
            multiclass_dataset(),
            [("predicted_class", "String"), ("predicted_probability", "Double")],
            [("label_class", "String")],
        ),
        (
            regression_dataset(),
            [("predicted_value", "Double"), ("predicted_lower", "Double"), ("predicted_upper", "Double")],
            [("label_value", "Double")],
        ),
        (regression_dataset(interval=False), [("predicted_value", "Double")], [("label_value", "Double")]),
    ],
    ids=["binary", "multiclass", "regression", "regression-without-interval"],
)
def test_each_task_has_its_prediction_and_typed_label_columns(
    dataset: PowerBIDataset, insight_columns: list[tuple[str, str]], feedback_columns: list[tuple[str, str]]
) -> None:
    assert task_columns(dataset, INSIGHTS_TABLE, COMMON_INSIGHT) == insight_columns
    assert task_columns(dataset, FEEDBACK_TABLE, COMMON_FEEDBACK) == feedback_columns
    assert [name for name, _ in columns(dataset, VALUES_TABLE)] == [
        "insight_id", "site_id", "scored_at", "source", "name", "number_value", "text_value",
    ]  # fmt: skip
    assert dataset.definition()["defaultMode"] == "Push"


def test_a_definition_reads_back_as_the_same_dataset() -> None:
    for dataset in (binary_dataset(), multiclass_dataset(), regression_dataset()):
        document = json.loads(json.dumps(dataset.definition()))
        assert PowerBIDataset.from_definition(document) == dataset


def test_the_committed_definition_is_the_demo_models() -> None:
    """Generated from a manifest shaped like the demo's; the CLI test compares the trained one."""
    committed = json.loads((REPO_ROOT / "powerbi" / "dataset.json").read_text(encoding="utf-8"))
    assert committed == PowerBIDataset.for_manifest(demo_manifest()).definition(), (
        "regenerate with: edgeloop powerbi dataset generate --manifest var/models/demo"
    )


def test_retraining_leaves_the_definition_unchanged() -> None:
    """Only what the cells are read from is kept, not thresholds or versions."""
    retrained = demo_manifest(version="2.0.0", threshold=0.31)
    assert PowerBIDataset.for_manifest(retrained).definition() == binary_dataset().definition()


def test_power_bi_gets_the_definition_without_the_edgeloop_block() -> None:
    body = service_body(multiclass_dataset().definition())
    assert set(body) == {"name", "defaultMode", "tables"}
    assert DEFINITION_BLOCK not in body


def edited(change: Any) -> dict[str, Any]:
    document = multiclass_dataset().definition()
    change(document)
    return document


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "definition"),
        (edited(lambda d: d.pop(DEFINITION_BLOCK)), "edgeloop"),
        (edited(lambda d: d[DEFINITION_BLOCK].update(model="")), "edgeloop.model"),
        (edited(lambda d: d[DEFINITION_BLOCK]["task"].update(kind="ranking")), "edgeloop.task.kind"),
        (
            edited(lambda d: d[DEFINITION_BLOCK]["task"]["probability_outputs"].pop()),
            "edgeloop.task.probability_outputs",
        ),
        (edited(lambda d: d[DEFINITION_BLOCK]["task"].update(classes=["a", "a"])), "edgeloop.task.classes"),
        (edited(lambda d: d["tables"][0]["columns"].pop()), "tables"),
        (
            {**regression_dataset().definition(), DEFINITION_BLOCK: {
                "model": "m", "task": {"kind": "regression", "lower_output": "low", "upper_output": None},
            }},
            "edgeloop.task",
        ),
        (
            {**binary_dataset().definition(), DEFINITION_BLOCK: {"model": "m", "task": {"kind": "binary"}}},
            "edgeloop.task.risk_output",
        ),
    ],
)  # fmt: skip
def test_a_definition_this_module_did_not_write_is_refused_naming_the_key(document: Any, field: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        PowerBIDataset.from_definition(document)
    assert caught.value.field == field


def test_make_run_feeds_the_served_models_dataset_unless_a_definition_is_set(tmp_path: Path) -> None:
    from localdev.example_models import write_powerbi_definition

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps(multiclass_manifest_dict()), encoding="utf-8")
    env = {"SCORING_MODEL_DIR": str(bundle)}
    write_powerbi_definition(env, tmp_path / "var")
    written = json.loads(Path(env["POWERBI_DATASET_DEFINITION"]).read_text(encoding="utf-8"))
    assert PowerBIDataset.from_definition(written) == multiclass_dataset()

    chosen = {"SCORING_MODEL_DIR": str(bundle), "POWERBI_DATASET_DEFINITION": "mine.json"}
    write_powerbi_definition(chosen, tmp_path / "other")
    assert chosen["POWERBI_DATASET_DEFINITION"] == "mine.json"
    assert not (tmp_path / "other").exists()
