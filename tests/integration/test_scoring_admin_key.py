"""The scoring app's admin routes need their own key (X-Admin-Key), never the scoring API key.

In-process with the real model and outbox; model delivery is off here, so an accepted admin
request reaches the rollback route and answers 409 (nothing to go back to): that the key was
accepted is what these tests look at (the rollback itself: test_model_delivery.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.bundles import demo_bundle
from support.scoring_settings import API_KEY, scoring_settings

from scoring_app import create_app

ADMIN_KEY = "admin-key-abcdefghij"
ROLLBACK = "/api/v1/admin/model/rollback"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_bundle(tmp_path_factory.mktemp("bundle"))


def test_rollback_takes_the_admin_key_and_refuses_the_scoring_key(tmp_path: Path, bundle: Path) -> None:
    with TestClient(create_app(scoring_settings(tmp_path, bundle, admin_api_key=ADMIN_KEY))) as client:
        scoring_key = client.post(ROLLBACK, headers={"X-API-Key": API_KEY})
        assert scoring_key.status_code == 403
        assert "cannot administer" in scoring_key.json()["detail"]
        missing = client.post(ROLLBACK)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "X-Admin-Key"
        assert client.post(ROLLBACK, headers={"X-Admin-Key": API_KEY}).status_code == 401
        accepted = client.post(ROLLBACK, headers={"X-Admin-Key": ADMIN_KEY})
        assert accepted.status_code == 409, accepted.text
        assert "model delivery is off" in accepted.json()["detail"]


def test_the_admin_key_can_come_from_a_file(tmp_path: Path, bundle: Path) -> None:
    key_file = tmp_path / "admin-key"
    key_file.write_text(ADMIN_KEY + "\n", encoding="utf-8")
    with TestClient(create_app(scoring_settings(tmp_path, bundle, admin_api_key_file=key_file))) as client:
        assert client.post(ROLLBACK, headers={"X-Admin-Key": ADMIN_KEY}).status_code == 409


def test_without_an_admin_key_admin_routes_are_off(tmp_path: Path, bundle: Path) -> None:
    with TestClient(create_app(scoring_settings(tmp_path, bundle))) as client:
        for headers in ({}, {"X-API-Key": API_KEY}, {"X-Admin-Key": "anything"}):
            response = client.post(ROLLBACK, headers=headers)
            assert response.status_code == 403
            assert "SCORING_ADMIN_API_KEY" in response.json()["detail"]
        # The scoring API itself is unaffected.
        assert client.get("/api/v1/model", headers={"X-API-Key": API_KEY}).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"admin_api_key": API_KEY}, "must differ from SCORING_API_KEY"),
        ({"admin_api_key_file": Path("no-such-dir/admin-key")}, "SCORING_ADMIN_API_KEY_FILE: cannot read"),
    ],
    ids=["same-as-api-key", "missing-file"],
)
def test_a_bad_admin_key_setting_fails_at_start_up(
    tmp_path: Path, bundle: Path, overrides: dict[str, Any], message: str
) -> None:
    with (
        pytest.raises(ValueError, match=message),
        TestClient(create_app(scoring_settings(tmp_path, bundle, **overrides))),
    ):
        pass
