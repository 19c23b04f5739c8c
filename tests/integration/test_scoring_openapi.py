"""The scoring app's OpenAPI document agrees with the app.

schemathesis fuzzes every documented operation in-process (over ASGI, no network) with the
demo model: valid requests as the document describes them, and invalid ones. Every answer
must be documented (status code, content type, body schema) and none a 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.python.asgi import shutdown_lifespans
from support.bundles import build_defect_bundle
from support.openapi_fuzz import MODES, fuzz_document

from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.config.scoring import ScoringSettings
from edgeloop.domain.records import ON_SITE_CONTEXT_FIELDS
from scoring_app import create_app

API_KEY = "test-key-0123456789"


@pytest.fixture(scope="module")
def document(
    tmp_path_factory: pytest.TempPathFactory, demo_bundle_dir: Path
) -> Iterator[schemathesis.BaseSchema]:
    tmp = tmp_path_factory.mktemp("openapi")
    app = create_app(
        ScoringSettings(
            model_dir=demo_bundle_dir,
            outbox_path=tmp / "outbox.sqlite3",
            api_key=API_KEY,
            api_key_file=tmp / "api-key",
            relay_enabled=False,
            site_id="site-openapi",
        )
    )
    yield schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the app (its lifespan)
    shutdown_lifespans()


@pytest.mark.parametrize("mode", MODES)
def test_the_app_answers_as_its_document_says(
    document: schemathesis.BaseSchema, mode: schemathesis.GenerationMode
) -> None:
    fuzz_document(document, mode, headers={"X-API-Key": API_KEY})


def test_the_score_body_schema_is_the_served_models(tmp_path: Path, demo_bundle_dir: Path) -> None:
    """Generated per manifest: after a model swap the document describes the new model's rows,
    and its example is a body the app accepts."""
    app = create_app(
        ScoringSettings(
            model_dir=demo_bundle_dir,
            outbox_path=tmp_path / "outbox.sqlite3",
            api_key=API_KEY,
            api_key_file=tmp_path / "api-key",
            relay_enabled=False,
        )
    )
    with TestClient(app) as client:
        holder = app.state.ctx.components.model
        for model in (holder.current, OnnxModel.load(build_defect_bundle(tmp_path / "defect"))):
            holder.swap(model)
            media = client.get("/openapi.json").json()["paths"]["/api/v1/score"]["post"]["requestBody"]
            media = media["content"]["application/json"]
            row_schema = media["schema"]["properties"]["rows"]["items"]
            assert row_schema["required"] == list(model.manifest.feature_names)
            assert row_schema["additionalProperties"] is False
            assert set(row_schema["properties"]) == {*model.manifest.feature_names, *ON_SITE_CONTEXT_FIELDS}
            answer = client.post("/api/v1/score", json=media["example"], headers={"X-API-Key": API_KEY})
            assert answer.status_code == 200, answer.text
            assert answer.json()["model"]["version"] == model.manifest.version
