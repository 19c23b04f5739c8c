"""The global app's OpenAPI document agrees with the app.

schemathesis fuzzes every documented operation in-process (over ASGI, no network) against
a real SQLite store with a few sites: valid requests as the document describes them, and
invalid ones. Every answer must be documented (status code, content type, headers, body
schema) and none a 5xx. Unlike the scoring app's body, what these parameters accept is
not all a schema can say (a cursor is valid only as this API issued it, ``from`` must be
before ``to``), so the checks that a schema-valid request is accepted and a schema-violating
one refused are not run here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from contract.insight_factory import detection_insight, feedback, seed_sites, seed_tasks
from contract.vision_factory import detection_frame, frame
from fastapi.testclient import TestClient
from schemathesis.checks import CheckFunction
from schemathesis.python.asgi import shutdown_lifespans
from support.openapi_fuzz import MODES, fuzz_document

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.records import ModelRef, utc_now
from edgeloop.domain.shadow_records import ServedOutcome, ShadowInsightRecord
from edgeloop.domain.site_status import DriftSummary, SiteStatusRecord
from global_app.app import create_app
from global_app.auth import OpenAccess

CONFORMANCE: list[CheckFunction] = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    store = SqliteInsightStore(tmp_path_factory.mktemp("global-openapi") / "global.sqlite3")
    store.upsert([*seed_sites(sites=2, hours=3, per_hour=5), *seed_tasks(hours=2)])  # every task's bodies
    now = utc_now()  # image insights in the vision view's default range, from a camera and uploaded
    store.upsert([frame("line-1", start=now), frame(None, "scratch", kinds=("alert_class",), start=now)])
    judged, boxed, box = (
        detection_insight(),
        detection_frame("line-9", 2, start=now),
        "scratch@0.1,0.2,0.3,0.4",
    )
    store.upsert([judged, boxed, feedback(judged, f"accept;{box}"), feedback(boxed, f"accept,reject;{box}")])
    drift = DriftSummary("watch", 300, {"torque_nm": {"psi": 0.15}})
    model = ModelRef("failure-risk", "1.1.0", "ab" * 32)
    store.upsert_site_status([SiteStatusRecord("s" * 32, "site-0", utc_now(), model=model, drift=drift)])
    served = ServedOutcome("1.0.0", anomaly=False)
    store.upsert_shadow(
        [
            ShadowInsightRecord(f"{n:032x}-00000", "site-0", utc_now(), model, served, {"risk": 0.2}, True)
            for n in range(3)
        ]
    )  # the shadow report has a body to check
    yield schemathesis.openapi.from_asgi("/api/openapi.json", create_app(store, OpenAccess()))
    shutdown_lifespans()
    store.close()


@pytest.mark.parametrize("mode", MODES)
def test_the_app_answers_as_its_document_says(
    document: schemathesis.BaseSchema, mode: schemathesis.GenerationMode
) -> None:
    fuzz_document(document, mode, checks=CONFORMANCE)


@pytest.mark.parametrize(
    "when",
    [
        "0999-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:30:00Z",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_times_beyond_four_digit_years_are_refused_naming_the_parameter(tmp_path: Path, when: str) -> None:
    """Found by the fuzzer: such times were a 500 (hour buckets of a three-digit year, or overflow)."""
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    with TestClient(create_app(store, OpenAccess())) as client:
        for path in ("/api/v1/summary", "/api/v1/models/hours", "/api/v1/vision"):
            for name in ("from", "to"):
                response = client.get(path, params={name: when})
                assert response.status_code == 400, (path, name, when, response.text)
                assert response.json()["parameter"] == name
    store.close()
