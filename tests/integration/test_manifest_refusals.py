"""A bad manifest is refused where a bundle comes in, naming the field: ``edgeloop models
publish`` (prints every fault, exits non-zero, registers nothing) and the scoring app's start-up
(a log line naming the bundle and the field; the app does not start). Real Azurite and bundles."""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from edgeloop.adapters.blob_model_registry import BlobModelRegistry
from edgeloop.adapters.onnx_model import BundleError
from edgeloop.cli import app
from edgeloop.config.scoring import ScoringSettings
from localdev.azurite import Azurite
from scoring_app.app import create_app


def broken_copy(source: Path, target: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    shutil.copytree(source, target)
    document = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    change(document)
    (target / "manifest.json").write_text(json.dumps(document), encoding="utf-8")
    return target


def two_faults(document: dict[str, Any]) -> None:
    document["inputs"][1]["min"] = "low"
    document["onnx_outputs"][0]["column"] = -1


def test_models_publish_prints_every_fault_by_field_and_registers_nothing(
    azurite: Azurite, demo_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = f"models-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("CloudStorage", azurite.connection_string("cloud"))
    monkeypatch.setenv("MODEL_REGISTRY_CONTAINER", container)
    bundle = broken_copy(demo_bundle_dir, tmp_path / "bundle", two_faults)

    published = CliRunner().invoke(app, ["models", "publish", "--bundle", str(bundle)])

    assert published.exit_code == 1
    assert "manifest field inputs[1].min: must be a number, got string" in published.output
    assert "manifest field onnx_outputs[0].column: must be >= 0" in published.output
    assert "nothing registered" in published.output
    registry = BlobModelRegistry.from_connection_string(azurite.connection_string("cloud"), container)
    name = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))["name"]
    assert registry.versions(name) == []


def test_models_publish_names_a_rule_across_fields(demo_bundle_dir: Path, tmp_path: Path) -> None:
    bundle = broken_copy(
        demo_bundle_dir, tmp_path / "bundle", lambda d: d["onnx_outputs"][0].update(output="nope")
    )
    published = CliRunner().invoke(app, ["models", "publish", "--bundle", str(bundle)])
    assert published.exit_code == 1
    assert "manifest field onnx_outputs[0].output: 'nope' is not one of the outputs" in published.output


def test_the_scoring_app_refuses_to_start_on_a_bad_bundle_naming_the_field(
    demo_bundle_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bundle = broken_copy(demo_bundle_dir, tmp_path / "bundle", two_faults)
    settings = ScoringSettings(
        model_dir=bundle,
        outbox_path=tmp_path / "outbox.sqlite3",
        api_key="test-key-0123456789",
        api_key_file=tmp_path / "api-key",
        relay_enabled=False,
    )
    refused = pytest.raises(BundleError, match=r"manifest field inputs\[1\]\.min")
    with caplog.at_level(logging.ERROR), refused, TestClient(create_app(settings)):
        pass
    assert any(
        "refusing to start" in record.getMessage() and "inputs[1].min" in record.getMessage()
        for record in caplog.records
    )
