"""Power BI feed settings and the sink they compose (edgeloop.config.powerbi, powerbi_bootstrap)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from edgeloop.adapters.powerbi_client import PowerBIPushSink
from edgeloop.adapters.powerbi_local_sink import LocalRowSink
from edgeloop.bootstrap.powerbi import build_sink
from edgeloop.config.powerbi import PowerBISettings


@pytest.fixture(autouse=True)
def no_local_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    for name in ("MODE", "GROUP_ID", "DATASET_ID", "ACCESS_TOKEN", "TENANT_ID", "CLIENT_ID", "CLIENT_SECRET"):
        monkeypatch.delenv(f"POWERBI_{name}", raising=False)


def test_local_mode_is_the_default_and_writes_files(tmp_path: Path) -> None:
    settings = PowerBISettings(sink_dir=tmp_path)
    sink = build_sink(settings)
    assert isinstance(sink, LocalRowSink)
    assert sink.directory == tmp_path / "edgeloop-insights"


def test_service_mode_needs_the_workspace_and_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERBI_MODE", "service")
    monkeypatch.setenv("POWERBI_GROUP_ID", "g-1")
    with pytest.raises(ValidationError, match="POWERBI_TENANT_ID must be set"):
        PowerBISettings()
    monkeypatch.setenv("POWERBI_ACCESS_TOKEN", "t")
    settings = PowerBISettings()
    with pytest.raises(ValueError, match="POWERBI_DATASET_ID must be set"):
        build_sink(settings)
    monkeypatch.setenv("POWERBI_DATASET_ID", "d-1")
    assert isinstance(build_sink(PowerBISettings()), PowerBIPushSink)


def test_limits_cannot_exceed_the_services(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERBI_MAX_ROWS_PER_POST", "10001")
    with pytest.raises(ValidationError, match="max_rows_per_post"):
        PowerBISettings()
    monkeypatch.setenv("POWERBI_MAX_ROWS_PER_POST", "500")
    monkeypatch.setenv("POWERBI_REQUESTS_PER_MINUTE", "121")
    with pytest.raises(ValidationError, match="requests_per_minute"):
        PowerBISettings()
