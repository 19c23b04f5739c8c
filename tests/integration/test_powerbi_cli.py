"""``edgeloop powerbi dataset generate|create|update`` against the local Power BI stand-in.

No Power BI exists here: tests/support/fake_powerbi_server.py serves the REST
endpoints on 127.0.0.1 and enforces the push-dataset limits. ``generate --champion``
reads a real registry on Azurite.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_powerbi_server import FakePowerBI
from support.task_bundles import build_multiclass_bundle, build_regression_bundle
from typer.testing import CliRunner

from edgeloop.adapters.ed25519_signing import generate_key_pair
from edgeloop.bootstrap.retraining import publish_first_champion
from edgeloop.cli import app
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.manifest import load_manifest
from edgeloop.domain.powerbi_dataset import PowerBIDataset, service_body
from edgeloop.domain.powerbi_schema import FEEDBACK_TABLE, INSIGHTS_TABLE
from localdev.azurite import Azurite

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMITTED = REPO_ROOT / "powerbi" / "dataset.json"


def dataset_definition() -> dict[str, Any]:
    """What `create` sends for the committed (demo model's) definition."""
    return service_body(json.loads(COMMITTED.read_text(encoding="utf-8")))


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakePowerBI]:
    with FakePowerBI(token="cli-token") as fake:
        monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
        monkeypatch.setenv("POWERBI_MODE", "service")
        monkeypatch.setenv("POWERBI_API_BASE_URL", fake.base_url)
        monkeypatch.setenv("POWERBI_GROUP_ID", fake.group_id)
        monkeypatch.setenv("POWERBI_ACCESS_TOKEN", fake.token)
        monkeypatch.delenv("POWERBI_DATASET_ID", raising=False)
        yield fake


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_create_makes_the_push_dataset_once_and_prints_its_id(server: FakePowerBI) -> None:
    code, out, err = run("powerbi", "dataset", "create")
    assert code == 0, err
    dataset_id = out.strip()
    created = server.datasets[dataset_id]
    assert created.name == "edgeloop-insights"
    assert created.retention == "basicFIFO"
    assert set(created.tables) == {t["name"] for t in dataset_definition()["tables"]}
    assert created.tables[INSIGHTS_TABLE]["risk_score"] == "double"  # the demo is a binary model
    assert f"POWERBI_DATASET_ID={dataset_id}" in err

    code, out, err = run("powerbi", "dataset", "create")  # idempotent: finds it by name
    assert (code, out.strip()) == (0, dataset_id)
    assert "already exists" in err
    assert len(server.datasets) == 1


def test_update_puts_every_tables_schema(server: FakePowerBI, tmp_path: Path) -> None:
    dataset_id = server.add_dataset(dataset_definition())
    grown = dataset_definition()
    grown["tables"][0]["columns"].append({"name": "line", "dataType": "String"})
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(grown), encoding="utf-8")
    code, out, err = run("powerbi", "dataset", "update", "--definition", str(path))
    assert code == 0, err
    assert out.strip() == dataset_id
    assert server.datasets[dataset_id].tables[INSIGHTS_TABLE]["line"] == "string"
    assert server.statuses("PUT", "") == [200, 200, 200]


def test_update_without_a_dataset_says_create_first(server: FakePowerBI) -> None:
    code, _, err = run("powerbi", "dataset", "update")
    assert code == 1
    assert "dataset create" in err


def test_a_refused_definition_reports_the_services_reason(server: FakePowerBI, tmp_path: Path) -> None:
    wide = dataset_definition()
    wide["tables"][0]["columns"] = [{"name": f"c{i}", "dataType": "Int64"} for i in range(80)]
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(wide), encoding="utf-8")
    code, _, err = run("powerbi", "dataset", "create", "--definition", str(path))
    assert code == 1
    assert "80 columns exceed 75" in err
    assert server.datasets == {}


def test_missing_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    monkeypatch.setenv("POWERBI_MODE", "service")
    monkeypatch.delenv("POWERBI_GROUP_ID", raising=False)
    code, _, err = run("powerbi", "dataset", "create")
    assert code == 2
    assert "POWERBI_GROUP_ID must be set" in err


def test_generate_from_the_demo_manifest_writes_the_committed_definition(
    tmp_path: Path, demo_bundle_dir: Path
) -> None:
    out = tmp_path / "dataset.json"
    code, _, err = run(
        "powerbi", "dataset", "generate", "--manifest", str(demo_bundle_dir), "--out", str(out)
    )
    assert code == 0, err
    assert "a binary model" in err
    assert out.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8"), (
        "regenerate with: edgeloop powerbi dataset generate --manifest var/models/demo"
    )


@pytest.mark.parametrize(
    ("build", "insight_columns", "label_column"),
    [
        (build_multiclass_bundle, {"predicted_class": "string", "predicted_probability": "double"},
         "label_class"),
        (
            build_regression_bundle,
            {"predicted_value": "double", "predicted_lower": "double", "predicted_upper": "double"},
            "label_value",
        ),
    ],
    ids=["multiclass", "regression"],
)  # fmt: skip
def test_a_generated_definition_creates_the_models_dataset(
    server: FakePowerBI, tmp_path: Path, build: Any, insight_columns: dict[str, str], label_column: str
) -> None:
    bundle = build(tmp_path / "bundle")
    out = tmp_path / "dataset.json"
    code, _, err = run("powerbi", "dataset", "generate", "--manifest", str(bundle), "--out", str(out))
    assert code == 0, err
    assert PowerBIDataset.from_definition(json.loads(out.read_text(encoding="utf-8"))) == (
        PowerBIDataset.for_manifest(load_manifest(bundle))
    )
    code, stdout, err = run("powerbi", "dataset", "create", "--definition", str(out))
    assert code == 0, err
    tables = server.datasets[stdout.strip()].tables
    assert {name: tables[INSIGHTS_TABLE][name] for name in insight_columns} == insight_columns
    assert "risk_score" not in tables[INSIGHTS_TABLE]
    assert label_column in tables[FEEDBACK_TABLE]
    assert "label" not in tables[FEEDBACK_TABLE]


def test_generate_from_the_registrys_champion(
    azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = build_regression_bundle(tmp_path / "bundle")
    container = f"models-{uuid.uuid4().hex[:10]}"
    settings = RetrainingSettings(
        CloudStorage=azurite.connection_string("cloud"),  # type: ignore[arg-type]
        MODEL_REGISTRY_CONTAINER=container,
        MODEL_SIGNING_PRIVATE_KEY=generate_key_pair()[0],  # type: ignore[arg-type]
        MODEL_NAME="tool-wear-rate",
    )
    publish_first_champion(settings, bundle)
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    monkeypatch.setenv("CloudStorage", azurite.connection_string("cloud"))
    monkeypatch.setenv("MODEL_REGISTRY_CONTAINER", container)
    monkeypatch.setenv("MODEL_NAME", "tool-wear-rate")
    out = tmp_path / "dataset.json"
    code, _, err = run("powerbi", "dataset", "generate", "--champion", "--out", str(out))
    assert code == 0, err
    assert "tool-wear-rate 1.0.0, a regression model" in err
    definition = json.loads(out.read_text(encoding="utf-8"))
    assert PowerBIDataset.from_definition(definition) == PowerBIDataset.for_manifest(load_manifest(bundle))

    monkeypatch.setenv("MODEL_NAME", "no-such-model")
    code, _, err = run("powerbi", "dataset", "generate", "--champion", "--out", str(out))
    assert code == 1
    assert "no-such-model has no champion in the registry yet" in err


def test_generate_from_the_champion_says_when_the_registry_is_not_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    for name in (
        "CloudStorage",
        "CloudStorage__blobServiceUri",
        "CloudStorage__serviceUri",
        "AzureWebJobsStorage",
    ):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "dataset.json"
    code, _, err = run("powerbi", "dataset", "generate", "--champion", "--out", str(out))
    assert code == 2
    assert "the model registry is not reachable with this configuration" in err
    assert "--manifest PATH" in err
    assert not out.exists()


@pytest.mark.parametrize("args", [[], ["--manifest", "x", "--champion"]], ids=["neither", "both"])
def test_generate_takes_exactly_one_source(tmp_path: Path, args: list[str]) -> None:
    code, _, err = run("powerbi", "dataset", "generate", *args, "--out", str(tmp_path / "d.json"))
    assert code == 2
    assert "one of --manifest PATH or --champion" in err


def test_generate_names_the_field_of_a_bad_manifest(tmp_path: Path) -> None:
    bundle = build_multiclass_bundle(tmp_path / "bundle")
    document = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    document["task"]["probability_outputs"].pop()
    (bundle / "manifest.json").write_text(json.dumps(document), encoding="utf-8")
    code, _, err = run(
        "powerbi", "dataset", "generate", "--manifest", str(bundle), "--out", str(tmp_path / "d")
    )
    assert code == 2
    assert "task.probability_outputs" in err
