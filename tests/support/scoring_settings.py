"""The settings of an in-process scoring app under test: one home for the tests' site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeloop.config.scoring import ScoringSettings

API_KEY = "test-key-0123456789"


def scoring_settings(tmp_path: Path, bundle: Path, **overrides: Any) -> ScoringSettings:
    """The model at ``bundle``, the outbox and key file under ``tmp_path``, the relay and the
    site's heartbeat off (so the outbox keeps what a request recorded, and only that);
    ``overrides`` set or replace any field."""
    values: dict[str, Any] = {
        "model_dir": bundle,
        "outbox_path": tmp_path / "outbox.sqlite3",
        "api_key": API_KEY,
        "api_key_file": tmp_path / "api-key",
        "relay_enabled": False,
        "heartbeat_interval_seconds": 0,
        **overrides,
    }
    return ScoringSettings(**values)
