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
from hypothesis import HealthCheck, given, settings
from schemathesis.python.asgi import shutdown_lifespans

from edgeloop.config.scoring import ScoringSettings
from scoring_app import create_app

API_KEY = "test-key-0123456789"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)


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


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_the_app_answers_as_its_document_says(
    document: schemathesis.BaseSchema, mode: schemathesis.GenerationMode
) -> None:
    @FUZZ
    @given(case=document.as_strategy(generation_mode=mode))
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"X-API-Key": API_KEY})

    answers_as_documented()
