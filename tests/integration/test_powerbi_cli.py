"""``edgeloop powerbi dataset generate|create|update`` against the local Power BI stand-in.

No Power BI exists here: tests/support/fake_powerbi_server.py serves the REST
endpoints on 127.0.0.1 and enforces the push-dataset limits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fake_powerbi_server import FakePowerBI
from typer.testing import CliRunner

from edgeloop.cli import app
from edgeloop.domain.powerbi_schema import INSIGHTS_TABLE, dataset_definition


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


def test_generate_writes_the_committed_definition(tmp_path: Path) -> None:
    out = tmp_path / "dataset.json"
    code, _, err = run("powerbi", "dataset", "generate", "--out", str(out))
    assert code == 0, err
    committed = Path(__file__).resolve().parents[2] / "powerbi" / "dataset.json"
    assert out.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")
