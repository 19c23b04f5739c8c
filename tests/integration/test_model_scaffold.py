"""``edgeloop models init`` for real: scaffold, train, publish, score, retrain, roll back, per task.

For each task kind a model is scaffolded into a fresh folder, a small CSV matching its
declared features is generated here (a known rule plus noise, so a working model is
recognisable), and the commands docs/byom.md names run as a data scientist would run
them from that folder: ``edgeloop train --manifest-template`` trains the first bundle
with the scaffolded recipe (in its child process), ``edgeloop models publish`` validates
it and registers it as the champion in a registry on Azurite, the bundle scores through
onnxruntime as a site loads it, ``edgeloop models train`` retrains it with the sites'
labelled rows, and ``edgeloop models rollback`` returns the champion to the first version.
"""

from __future__ import annotations

import csv
import gzip
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.ed25519_signing import generate_key_pair
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.bootstrap.retraining import build_registry
from edgeloop.cli import app
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.manifest import manifest_file_problems
from edgeloop.domain.validation import validate_rows
from localdev.azurite import Azurite

pytestmark = pytest.mark.slow  # three trainings and a fleet of CLI steps: about 90 s

FEATURES = ("speed", "force", "temperature")
CLASSES = ("ok", "scrap", "rework")


@dataclass(frozen=True)
class Case:
    """A task kind: its ``init`` options, the rule its labels follow, and how a fit is recognised."""

    kind: str
    options: tuple[str, ...]
    label: Callable[[np.ndarray, np.random.Generator], list[Any]]
    learnt: Callable[[dict[str, np.ndarray], list[Any]], bool]


def _binary(x: np.ndarray, rng: np.random.Generator) -> list[Any]:
    return [int(v) for v in (x[:, 0] + x[:, 1] + rng.normal(0, 0.3, len(x)) > 0)]


def _multiclass(x: np.ndarray, rng: np.random.Generator) -> list[Any]:
    score = x[:, 0] + x[:, 1] + rng.normal(0, 0.2, len(x))
    return [CLASSES[1] if s > 0.6 else CLASSES[2] if s < -0.6 else CLASSES[0] for s in score]


def _regression(x: np.ndarray, rng: np.random.Generator) -> list[Any]:
    return [float(v) for v in 20 + 3 * x[:, 0] - 2 * x[:, 2] + rng.normal(0, 0.1, len(x))]


def _binary_learnt(outputs: dict[str, np.ndarray], truth: list[Any]) -> bool:
    risk, labels = outputs["risk"], np.asarray(truth)
    return bool(risk[labels == 1].mean() > 0.7 > 0.3 > risk[labels == 0].mean())


def _multiclass_learnt(outputs: dict[str, np.ndarray], truth: list[Any]) -> bool:
    probabilities = np.column_stack([outputs[f"p_{name}"] for name in CLASSES])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    predicted = [CLASSES[i] for i in probabilities.argmax(axis=1)]
    accuracy = float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)]))
    return accuracy > 0.7  # each class is about a third of the rows


def _regression_learnt(outputs: dict[str, np.ndarray], truth: list[Any]) -> bool:
    errors = np.abs(outputs["prediction"] - np.asarray(truth))
    return float(errors.mean()) < 0.5  # the target's spread is ~3.6: a mean predictor is far off


CASES = {
    "binary": Case("binary", ("--classes", "pass,fail"), _binary, _binary_learnt),
    "multiclass": Case("multiclass", ("--classes", ",".join(CLASSES)), _multiclass, _multiclass_learnt),
    "regression": Case("regression", (), _regression, _regression_learnt),
}


def labelled_rows(case: Case, count: int, seed: int) -> tuple[list[dict[str, float]], list[Any]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (count, len(FEATURES)))
    rows = [dict(zip(FEATURES, (float(v) for v in values), strict=True)) for values in x]
    return rows, case.label(x, rng)


def write_csv(path: Path, rows: list[dict[str, float]], labels: list[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, [*FEATURES, "outcome"])
        writer.writeheader()
        writer.writerows({**row, "outcome": label} for row, label in zip(rows, labels, strict=True))


def write_site_feedback(
    store: AzureBlobStore, container: str, rows: list[dict[str, float]], labels: list[Any]
) -> None:
    """The sites' scored rows with their reported outcomes, as filter_insights writes them."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    records: list[dict[str, Any]] = []
    for index, (row, label) in enumerate(zip(rows, labels, strict=True)):
        insight_id = f"{index:032x}-00000"  # fixed ids: a row's split follows from its id
        records.append({"kind": "insight", "insight_id": insight_id, "site_id": "site-t", "inputs": row})
        records.append(
            {
                "kind": "feedback",
                "insight_id": insight_id,
                "label": label,
                "recorded_at": stamp,
                "site_id": "site-t",
            }
        )
    body = gzip.compress(b"".join(json.dumps(record).encode() + b"\n" for record in records))
    name = f"site=site-t/date={now:%Y-%m-%d}/hour={now:%H}/{uuid.uuid4().hex}.jsonl.gz"
    store.put(container, name, body, content_type="application/gzip")


def invoke(*arguments: str) -> str:
    result = CliRunner().invoke(app, list(arguments))
    assert result.exit_code == 0, f"{arguments}: {result.output}"
    return result.output


@pytest.fixture
def registry_settings(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> RetrainingSettings:
    """A registry of its own on Azurite; the settings the CLI reads from the environment."""
    private, _ = generate_key_pair()
    environment = {
        "CloudStorage": azurite.connection_string("cloud"),
        "MODEL_REGISTRY_CONTAINER": f"models-{uuid.uuid4().hex[:10]}",
        "RETRAIN_COMPLIANT_CONTAINER": f"compliant-{uuid.uuid4().hex[:10]}",
        "RETRAIN_MIN_NEW_LABELS": "60",
        "MODEL_SIGNING_PRIVATE_KEY": private,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return RetrainingSettings()


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_scaffolded_model_trains_publishes_scores_and_retrains(
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    registry_settings: RetrainingSettings,
    azurite: Azurite,
) -> None:
    case, name = CASES[kind], f"press-{kind}"
    folder = tmp_path / name
    features = ",".join(FEATURES)
    invoke(
        "models",
        "init",
        name,
        "--task",
        kind,
        "--features",
        features,
        "--label",
        "outcome",
        *case.options,
        "--out",
        str(folder),
    )
    write_csv(folder / "data" / f"{name}.csv", *labelled_rows(case, 240, seed=1))
    monkeypatch.chdir(folder)  # as the scaffold's README says: commands run from the model's folder
    monkeypatch.syspath_prepend(str(folder))  # PYTHONPATH=$PWD: the recipe child inherits the path
    monkeypatch.setenv("MODEL_NAME", name)

    invoke("train", "--manifest-template", "model.json", "--out", "bundle")
    assert manifest_file_problems(folder / "bundle") == []
    model = OnnxModel.load(folder / "bundle")
    assert model.manifest.task.kind == kind
    assert model.manifest.recipe is not None
    assert model.manifest.recipe.entry_point == f"press_{kind}.recipe:train"
    fresh, truth = labelled_rows(case, 200, seed=2)
    assert case.learnt(model.predict(validate_rows(model.manifest, fresh)), truth)

    assert invoke("models", "publish", "--bundle", "bundle").strip() == "registered 1.0.0 (now champion)"
    registry = build_registry(registry_settings)
    assert (registry.champion(name) or pytest.fail("no champion"))[0].version == "1.0.0"

    store = AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))
    write_site_feedback(store, registry_settings.compliant_container, *labelled_rows(case, 80, seed=3))
    invoke("models", "train", "--reason", "test")
    (report_name,) = registry.run_reports(name)
    report = json.loads(registry.read_blob(report_name))
    # More rows of the same process: the challenger is no worse than the margin allows.
    assert report["outcome"] == "promoted", report["decision"]
    versions = registry.versions(name)
    assert versions == ["1.0.0", report["version"]]
    challenger = json.loads(registry.read(name, report["version"], "manifest.json"))
    assert challenger["recipe"]["entry_point"] == f"press_{kind}.recipe:train"
    assert challenger["training_data"]["rows"] == 240 + 80
    assert (registry.champion(name) or pytest.fail("no champion"))[0].version == report["version"]

    invoke("models", "rollback", "--reason", "test")
    assert (registry.champion(name) or pytest.fail("no champion"))[0].version == "1.0.0"
    invoke("models", "promote", report["version"], "--reason", "test")
    assert (registry.champion(name) or pytest.fail("no champion"))[0].version == report["version"]
