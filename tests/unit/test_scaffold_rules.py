"""``edgeloop models init``: what it writes, what it refuses (naming the option), the starters' own refusals.

The full walk (train, publish, score, retrain on Azurite) is
tests/integration/test_model_scaffold.py; here the command runs in-process and the
starter recipes are called directly on small in-memory datasets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from edgeloop.bootstrap.first_bundle import parse_template
from edgeloop.cli import app
from edgeloop.domain.manifest_schema import manifest_json_schema
from edgeloop.domain.recipes import TrainingDataset
from edgeloop.domain.tasks import BinaryTask, MulticlassTask, RegressionTask, Task
from edgeloop.recipes import starter_binary, starter_multiclass, starter_regression
from edgeloop.recipes.recipe_parts import RecipeInputError

REPO_ROOT = Path(__file__).resolve().parents[2]
OPTIONS = {
    "binary": ["--task", "binary"],
    "multiclass": ["--task", "multiclass", "--classes", "good,Bad part,re-work"],
    "regression": ["--task", "regression"],
}
TASK_DEFINITIONS = {
    "binary": "BinaryTaskDocument",
    "multiclass": "MulticlassTaskDocument",
    "regression": "RegressionTaskDocument",
}


def init(*arguments: str) -> Any:
    return CliRunner().invoke(app, ["models", "init", *arguments])


def schema_part(definition: str) -> Draft202012Validator:
    """The published manifest schema, narrowed to one of its definitions."""
    schema = manifest_json_schema()
    return Draft202012Validator({"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})


@pytest.mark.parametrize("kind", sorted(OPTIONS))
def test_init_writes_a_recipe_a_template_that_parses_and_a_readme(kind: str, tmp_path: Path) -> None:
    out = tmp_path / "line"
    result = init(
        "press-line", *OPTIONS[kind], "--features", "speed,force", "--label", "y", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    document = json.loads((out / "model.json").read_text())
    template = parse_template(document)
    assert template.name == "press-line"
    assert template.task.kind == kind
    assert template.recipe.entry_point == "press_line.recipe:train"
    assert template.recipe.base_data is not None
    assert dict(template.recipe.base_data.columns) == {"speed": "speed", "force": "force"}
    assert template.recipe.base_data.label == "y"
    for definition, part in (
        (TASK_DEFINITIONS[kind], document["task"]),
        ("RecipeDocument", document["recipe"]),
        ("EvaluationDocument", document["evaluation"]),
    ):
        assert list(schema_part(definition).iter_errors(part)) == [], definition
    starter = REPO_ROOT / "edgeloop" / "recipes" / f"starter_{kind}.py"
    assert (out / "press_line" / "recipe.py").read_text() == starter.read_text()
    assert (out / "press_line" / "__init__.py").is_file()
    readme = (out / "README.md").read_text()
    assert "press_line/recipe.py" in readme
    assert "edgeloop train --manifest-template model.json" in readme


def test_multiclass_outputs_are_identifiers_in_the_order_of_the_classes(tmp_path: Path) -> None:
    result = init("sorter", *OPTIONS["multiclass"], "--out", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    task = json.loads((tmp_path / "s" / "model.json").read_text())["task"]
    assert task["classes"] == ["good", "Bad part", "re-work"]
    assert task["probability_outputs"] == ["p_good", "p_bad_part", "p_re_work"]


@pytest.mark.parametrize(
    ("arguments", "option", "fragment"),
    [
        (["Press", "--task", "binary"], "NAME", "lowercase letters"),
        (["json", "--task", "binary"], "NAME", "would shadow a module"),
        (["press", "--task", "binary", "--features", "speed,2nd"], "--features", "'2nd'"),
        (["press", "--task", "binary", "--features", "speed,speed"], "--features", "named twice"),
        (["press", "--task", "binary", "--features", "speed,operator"], "--features", "reserved"),
        (
            ["press", "--task", "binary", "--features", "speed", "--label", "speed"],
            "--label",
            "not a feature",
        ),
        (["press", "--task", "regression", "--classes", "a,b"], "--classes", "no classes"),
        (["press", "--task", "multiclass"], "--classes", "at least two"),
        (["press", "--task", "multiclass", "--classes", "a,a"], "--classes", "different"),
        (["press", "--task", "binary", "--classes", "a,b,c"], "--classes", "two outcomes"),
    ],
)
def test_init_refuses_a_bad_option_naming_it_and_writes_nothing(
    arguments: list[str], option: str, fragment: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = init(*arguments, "--out", str(out))
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"{option}: ")
    assert fragment in result.output
    assert not out.exists()


def test_init_refuses_an_unknown_task_naming_the_option(tmp_path: Path) -> None:
    result = init("press", "--task", "ranking", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "--task" in result.output
    assert not (tmp_path / "out").exists()


def test_init_refuses_a_folder_with_files_and_takes_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    refused = init("press", "--task", "binary", "--out", str(tmp_path / "used"))
    assert refused.exit_code == 2
    assert refused.output.startswith("--out: ")
    assert sorted(path.name for path in (tmp_path / "used").iterdir()) == ["notes.txt"]
    (tmp_path / "empty").mkdir()
    assert init("press", "--task", "binary", "--out", str(tmp_path / "empty")).exit_code == 0


def dataset(task: Task, features: dict[str, np.ndarray], labels: np.ndarray) -> TrainingDataset:
    n = labels.shape[0]
    split = np.array(["train", "validation", "holdout"] * (n // 3), dtype=object)
    return TrainingDataset(
        task=task,
        features=features,
        labels=labels,
        site=np.full(n, "", dtype=object),
        time=np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"),
        split=split,
        source="test",
    )


def numbers(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {"a": rng.normal(size=n), "b": rng.normal(size=n)}


def test_a_starter_refuses_a_category_feature_naming_it() -> None:
    features = {**numbers(30), "colour": np.array(["red", "blue", "red"] * 10, dtype=object)}
    data = dataset(BinaryTask("risk", 0.5), features, np.array([0, 1, 1] * 10, dtype=np.int64))
    with pytest.raises(RecipeInputError, match=r"\['colour'\] are categories"):
        starter_binary.train(data, {})


def test_a_starter_refuses_a_class_without_training_rows() -> None:
    task = MulticlassTask(("ok", "scrap", "rework"), ("p_ok", "p_scrap", "p_rework"))
    # The rows cycle train, validation, holdout: "rework" lands in holdout only.
    labels = np.array(["ok", "scrap", "rework", "scrap", "ok", "rework"] * 5, dtype=object)
    with pytest.raises(RecipeInputError, match=r"no training rows labelled \['rework'\]"):
        starter_multiclass.train(dataset(task, numbers(30), labels), {})


def test_a_starter_refuses_an_unknown_parameter_and_another_task() -> None:
    data = dataset(RegressionTask("prediction"), numbers(30), np.linspace(1, 2, 30))
    with pytest.raises(RecipeInputError, match="unknown parameters"):
        starter_regression.train(data, {"alpah": 2.0})
    with pytest.raises(RecipeInputError, match="trains binary models"):
        starter_binary.train(data, {})
