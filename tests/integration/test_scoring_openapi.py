"""The scoring app's OpenAPI document agrees with the app.

schemathesis fuzzes the documented operations in-process (over ASGI, no network): every one
with the binary demo model, and those a model's task changes (the rows scored, the prediction
answered, the label reported) with the multiclass and regression example bundles too. Valid
requests as the document describes them, and invalid ones: every answer must be documented
(status code, content type, body schema) and none a 5xx.
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
# The session's bundle fixture (tests/integration/conftest.py) of each task's model.
BUNDLE_PER_TASK = {
    "binary": "demo_bundle_dir",
    "multiclass": "failure_mode_bundle_dir",
    "regression": "tool_life_bundle_dir",
}
# What differs by task; the demo's run covers the other operations.
TASK_OPERATIONS = ["/api/v1/score", "/api/v1/feedback", "/api/v1/model"]
# The demo's run draws 150 cases over 7 operations: about as many per operation for these 3.
TASK_RUN_CASES = 64


@pytest.fixture(scope="module", params=sorted(BUNDLE_PER_TASK))
def fuzzed(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[schemathesis.BaseSchema, int | None]]:
    """The app's document to fuzz with a model of the task, and how many cases (None: the default)."""
    bundle: Path = request.getfixturevalue(BUNDLE_PER_TASK[request.param])
    tmp = tmp_path_factory.mktemp(f"openapi-{request.param}")
    app = create_app(
        ScoringSettings(
            model_dir=bundle,
            outbox_path=tmp / "outbox.sqlite3",
            api_key=API_KEY,
            api_key_file=tmp / "api-key",
            relay_enabled=False,
            site_id="site-openapi",
        )
    )
    whole = schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the app (its lifespan)
    if request.param == "binary":
        yield whole, None
    else:
        task_part = whole.include(path=TASK_OPERATIONS)
        # A renamed route would leave this run nothing to fuzz.
        assert sorted(op.ok().path for op in task_part.get_all_operations()) == sorted(TASK_OPERATIONS)
        yield task_part, TASK_RUN_CASES
    shutdown_lifespans()


@pytest.mark.parametrize("mode", MODES)
def test_the_app_answers_as_its_document_says(
    fuzzed: tuple[schemathesis.BaseSchema, int | None], mode: schemathesis.GenerationMode
) -> None:
    document, cases = fuzzed
    fuzz_document(document, mode, headers={"X-API-Key": API_KEY}, max_examples=cases)


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
