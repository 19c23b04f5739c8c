"""The scoring API end to end in-process: real model (onnxruntime), real SQLite outbox.

The relay is off here (queue delivery is covered by the durability tests), so the
outbox depth tells exactly what a request recorded.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from support.bundles import demo_bundle, valid_rows
from support.scoring_settings import API_KEY, scoring_settings

from edgeloop.config.scoring import ScoringSettings
from edgeloop.domain.manifest import ModelManifest, load_manifest
from edgeloop.domain.records import record_from_wire
from scoring_app import create_app

HEADERS = {"X-API-Key": API_KEY, "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="module")
def manifest(bundle: Path) -> ModelManifest:
    return load_manifest(bundle)


def make_settings(tmp_path: Path, bundle: Path, **overrides: Any) -> ScoringSettings:
    return scoring_settings(tmp_path, bundle, site_id="site-test", **overrides)


@pytest.fixture
def client(tmp_path: Path, bundle: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path, bundle))) as test_client:
        yield test_client


def depth(client: TestClient) -> int:
    return int(client.app.state.ctx.components.outbox.depth())  # type: ignore[attr-defined]


def score(client: TestClient, body: Any, headers: dict[str, str] | None = None) -> Any:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post("/api/v1/score", content=content, headers=headers or HEADERS)


def test_scores_rows_in_order_and_records_each_as_an_insight(
    client: TestClient, manifest: ModelManifest
) -> None:
    rows = valid_rows(manifest, 5, seed=7)
    rows[0]["product_id"] = "M14860"
    rows[0]["operator"] = "op-7"
    response = score(client, {"rows": rows})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["model"] == {"name": manifest.name, "version": manifest.version}
    results = body["results"]
    assert len(results) == 5
    ids = [result["insight_id"] for result in results]
    assert len(set(ids)) == 5
    assert all(id_.endswith(f"-{i:05d}") for i, id_ in enumerate(ids))
    for result in results:
        assert set(manifest.output_names) <= set(result)
        assert 0.0 <= result[manifest.risk_output] <= 1.0
        assert isinstance(result["anomaly"], bool)
        assert result["anomaly"] == bool(result["anomaly_kinds"])
    assert depth(client) == 5
    outbox = client.app.state.ctx.components.outbox  # type: ignore[attr-defined]
    records = [record_from_wire(raw) for raw in reversed(outbox.recent("insight", 5))]
    assert [r.insight_id for r in records] == ids
    first = records[0]
    assert first.site_id == "site-test"
    assert first.model.name == manifest.name
    assert first.model.sha256 == manifest.files[manifest.model_file]
    assert dict(first.context) == {"product_id": "M14860", "operator": "op-7"}
    assert first.inputs["type"] == rows[0]["type"]
    assert first.outputs[manifest.risk_output] == pytest.approx(results[0][manifest.risk_output])


def test_flags_high_risk_and_out_of_distribution(client: TestClient, manifest: ModelManifest) -> None:
    row = valid_rows(manifest, 1)[0]
    risky = {**row, "type": "L", "rotational_speed_rpm": 1300, "torque_nm": 72.8, "tool_wear_min": 240}
    odd = {**row, "air_temperature_k": 309.2, "process_temperature_k": 301.6, "rotational_speed_rpm": 3745}
    results = score(client, {"rows": [risky, odd]}).json()["results"]
    assert "high_risk" in results[0]["anomaly_kinds"]
    assert "out_of_distribution" in results[1]["anomaly_kinds"]
    assert results[1]["ood_score"] > manifest.ood_threshold


ROW_ERRORS = [
    ("missing field", lambda r: r.pop("torque_nm"), "torque_nm", "missing"),
    ("extra field", lambda r: r.update(colour="red"), "colour", "not a known field"),
    ("out of range", lambda r: r.update(torque_nm=500.0), "torque_nm", "between"),
    ("non-numeric", lambda r: r.update(torque_nm="lots"), "torque_nm", "number"),
    ("boolean", lambda r: r.update(tool_wear_min=True), "tool_wear_min", "number"),
    ("unknown type", lambda r: r.update(type="X"), "type", "one of"),
    ("wrong type category", lambda r: r.update(type=3), "type", "string"),
    ("context not a string", lambda r: r.update(operator=5), "operator", "string"),
]


@pytest.mark.parametrize(("case", "mutate", "field", "words"), ROW_ERRORS, ids=[c[0] for c in ROW_ERRORS])
def test_bad_row_is_refused_naming_row_and_field(
    client: TestClient, manifest: ModelManifest, case: str, mutate: Any, field: str, words: str
) -> None:
    rows = valid_rows(manifest, 3, seed=1)
    mutate(rows[2])
    response = score(client, {"rows": rows})
    assert response.status_code == 422, case
    detail = response.json()["detail"]
    assert any(item["row"] == 2 and item["field"] == field and words in item["message"] for item in detail), (
        detail
    )
    assert depth(client) == 0


BODY_ERRORS = [
    ("rows not a list", {"rows": {"a": 1}}, 422, "rows"),
    ("no rows", {"rows": []}, 422, "rows"),
    ("rows missing", {"lines": []}, 422, "lines"),
    ("not an object", [1, 2], 422, None),
    ("row not an object", {"rows": [5]}, 422, "row"),
]


@pytest.mark.parametrize(("case", "body", "status", "field"), BODY_ERRORS, ids=[c[0] for c in BODY_ERRORS])
def test_bad_body_shape_is_refused(
    client: TestClient, case: str, body: Any, status: int, field: str | None
) -> None:
    response = score(client, body)
    assert response.status_code == status, case
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert detail[0]["field"] == field
    assert depth(client) == 0


def test_too_many_rows(client: TestClient, manifest: ModelManifest) -> None:
    rows = valid_rows(manifest, 1) * 10_001
    response = score(client, {"rows": rows})
    assert response.status_code == 422
    assert "at most 10000 rows" in response.json()["detail"][0]["message"]
    assert depth(client) == 0


def test_invalid_json_wrong_type_and_too_large(tmp_path: Path, bundle: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, bundle, max_body_bytes=4096))) as client:
        bad_json = score(client, b'{"rows": [')
        assert bad_json.status_code == 400
        assert "not valid JSON" in bad_json.json()["detail"]
        wrong_type = client.post(
            "/api/v1/score", content=b"rows", headers={**HEADERS, "Content-Type": "text/plain"}
        )
        assert wrong_type.status_code == 415
        assert "application/json" in wrong_type.json()["detail"]
        too_large = score(client, b'{"rows": [' + b" " * 5000 + b"]}")
        assert too_large.status_code == 413
        # Without Content-Length (chunked), the limit holds while reading.
        chunked = client.post(
            "/api/v1/score", content=iter([b'{"rows": [', b" " * 5000, b"]}"]), headers=HEADERS
        )
        assert chunked.status_code == 413
        assert depth(client) == 0


def test_api_key_is_required(client: TestClient, manifest: ModelManifest) -> None:
    body = {"rows": valid_rows(manifest, 1)}
    missing = score(client, body, {"Content-Type": "application/json"})
    wrong = score(client, body, {"Content-Type": "application/json", "X-API-Key": "nope"})
    assert missing.status_code == wrong.status_code == 401
    assert "X-API-Key" in missing.json()["detail"]
    assert depth(client) == 0
    assert client.post("/api/v1/feedback", json={"items": []}).status_code == 401


def test_generated_api_key_is_kept_in_a_file(tmp_path: Path, bundle: Path, manifest: ModelManifest) -> None:
    settings = make_settings(tmp_path, bundle, api_key=None)
    with TestClient(create_app(settings)) as client:
        key = settings.api_key_file.read_text().strip()
        assert len(key) >= 24
        assert settings.api_key_file.stat().st_mode & 0o077 == 0
        ok = score(client, {"rows": valid_rows(manifest, 1)}, {**HEADERS, "X-API-Key": key})
        assert ok.status_code == 200
    with TestClient(create_app(settings)):
        assert settings.api_key_file.read_text().strip() == key  # the same key after a restart


def test_feedback_is_recorded_for_known_insights(client: TestClient, manifest: ModelManifest) -> None:
    ids = [r["insight_id"] for r in score(client, {"rows": valid_rows(manifest, 2)}).json()["results"]]
    response = client.post(
        "/api/v1/feedback",
        json={"items": [{"insight_id": ids[0], "label": 1}, {"insight_id": ids[1], "label": 0}]},
        headers=HEADERS,
    )
    assert response.status_code == 200
    assert response.json()["recorded"] == 2
    assert depth(client) == 4
    outbox = client.app.state.ctx.components.outbox  # type: ignore[attr-defined]
    records = [record_from_wire(raw) for raw in outbox.recent("feedback", 10)]
    assert sorted((r.insight_id, r.label) for r in records) == sorted([(ids[0], 1), (ids[1], 0)])  # type: ignore[union-attr]


def test_feedback_for_unknown_insight_records_nothing(client: TestClient, manifest: ModelManifest) -> None:
    known = score(client, {"rows": valid_rows(manifest, 1)}).json()["results"][0]["insight_id"]
    unknown = "0" * 32 + "-00000"
    beyond = known[:-5] + "00007"  # the batch exists, that row does not
    response = client.post(
        "/api/v1/feedback",
        json={
            "items": [
                {"insight_id": known, "label": 1},
                {"insight_id": unknown, "label": 0},
                {"insight_id": beyond, "label": 1},
            ]
        },
        headers=HEADERS,
    )
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert [(d["row"], d["field"]) for d in detail] == [(1, "insight_id"), (2, "insight_id")]
    assert unknown in detail[0]["message"]
    assert depth(client) == 1


@pytest.mark.parametrize(
    "item",
    [{"insight_id": "abc", "label": 1}, {"insight_id": "0" * 32 + "-00000", "label": 2}, {"label": 1}],
    ids=["bad id", "bad label", "missing id"],
)
def test_malformed_feedback_is_refused(client: TestClient, item: dict[str, Any]) -> None:
    response = client.post("/api/v1/feedback", json={"items": [item]}, headers=HEADERS)
    assert response.status_code == 422
    assert response.json()["detail"][0]["row"] == 0
    assert depth(client) == 0


def test_an_insight_id_with_a_trailing_newline_is_refused_naming_the_field(
    client: TestClient, manifest: ModelManifest
) -> None:
    """Found from outside: ``$`` matched before a final newline, so a known id plus "\\n" was
    recorded (and never joined its insight) and an unknown one answered 404, not 422."""
    known = score(client, {"rows": valid_rows(manifest, 1)}).json()["results"][0]["insight_id"]
    for insight_id in (known + "\n", "0" * 32 + "-00000\n"):
        response = client.post(
            "/api/v1/feedback", json={"items": [{"insight_id": insight_id, "label": 1}]}, headers=HEADERS
        )
        assert response.status_code == 422, insight_id
        assert [(d["row"], d["field"]) for d in response.json()["detail"]] == [(0, "insight_id")]
    assert depth(client) == 1


def test_full_outbox_refuses_with_retry_after_and_readyz_says_so(
    tmp_path: Path, bundle: Path, manifest: ModelManifest
) -> None:
    with TestClient(create_app(make_settings(tmp_path, bundle, outbox_capacity=3))) as client:
        assert client.get("/readyz").status_code == 200
        assert score(client, {"rows": valid_rows(manifest, 3)}).status_code == 200
        refused = score(client, {"rows": valid_rows(manifest, 1)})
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "30"
        assert "outbox is full" in refused.json()["detail"]
        assert depth(client) == 3
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "outbox full" in ready.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_a_locked_outbox_answers_503_with_retry_after_and_records_nothing(
    tmp_path: Path, bundle: Path, manifest: ModelManifest
) -> None:
    """Another process holding the outbox file's write lock past the busy timeout (a real SQLite
    lock): a 503 the client retries, not a 500; once the lock goes, scoring records again."""
    settings = make_settings(tmp_path, bundle, outbox_busy_timeout_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        token = _csrf(client.get("/").text)
        row = {k: str(v) for k, v in valid_rows(manifest, 1)[0].items()}
        locker = sqlite3.connect(settings.outbox_path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            refused = score(client, {"rows": valid_rows(manifest, 2)})
            form = client.post("/form/score", data={**row, "csrf_token": token})
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "30"
        assert "nothing was recorded" in refused.json()["detail"]
        assert form.status_code == 503
        assert "cannot be written just now" in form.text
        assert depth(client) == 0
        assert score(client, {"rows": valid_rows(manifest, 2)}).status_code == 200
        assert depth(client) == 2


def test_metrics_count_requests_rows_anomalies_and_outbox(
    client: TestClient, manifest: ModelManifest
) -> None:
    rows = valid_rows(manifest, 4)
    rows[0].update(type="L", rotational_speed_rpm=1300, torque_nm=72.8, tool_wear_min=240)
    score(client, {"rows": rows})
    score(client, {"rows": []})
    text = client.get("/metrics").text
    assert 'edgeloop_scoring_requests_total{method="POST",route="/api/v1/score",status="200"} 1.0' in text
    assert 'edgeloop_scoring_requests_total{method="POST",route="/api/v1/score",status="422"} 1.0' in text
    assert "edgeloop_scoring_rows_total 4.0" in text
    assert 'edgeloop_scoring_anomalies_total{kind="high_risk"}' in text
    assert "edgeloop_outbox_depth 4.0" in text
    (age,) = [
        line for line in text.splitlines() if line.startswith("edgeloop_outbox_oldest_pending_age_seconds ")
    ]
    assert float(age.split()[1]) > 0  # the four rows wait: this app's relay is off
    assert 'edgeloop_scoring_request_duration_seconds_bucket{le="0.5",route="/api/v1/score"}' in text
    assert "edgeloop_relay_sent_messages_total 0.0" in text


def test_concurrent_requests_are_batched_but_answered_each_with_own_rows(
    client: TestClient, manifest: ModelManifest
) -> None:
    """Many requests at once share batches; a bad one fails alone; every good row is recorded."""
    import concurrent.futures

    bodies = [{"rows": valid_rows(manifest, 1 + i % 3, seed=i)} for i in range(24)]
    bodies[5]["rows"][0]["torque_nm"] = -1
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda b: score(client, b), bodies))
    for index, (body, response) in enumerate(zip(bodies, responses, strict=True)):
        if index == 5:
            assert response.status_code == 422
            problem = response.json()["detail"][0]
            assert (problem["row"], problem["field"]) == (0, "torque_nm")
            continue
        assert response.status_code == 200
        assert len(response.json()["results"]) == len(body["rows"])
    all_ids = [
        r["insight_id"] for resp in responses if resp.status_code == 200 for r in resp.json()["results"]
    ]
    assert len(set(all_ids)) == len(all_ids)
    assert depth(client) == len(all_ids)


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert match is not None
    return match.group(1)


def test_form_scores_with_session_cookie_and_csrf_token(client: TestClient, manifest: ModelManifest) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "edgeloop_form" in page.cookies
    for spec in manifest.inputs:
        assert f'name="{spec.name}"' in page.text
    row = {k: str(v) for k, v in valid_rows(manifest, 1)[0].items()}
    forged = client.post("/form/score", data={**row, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert depth(client) == 0
    scored = client.post("/form/score", data={**row, "product_id": "P-1", "csrf_token": _csrf(page.text)})
    assert scored.status_code == 200
    assert 'id="risk"' in scored.text
    assert manifest.version in scored.text
    assert depth(client) == 1


def test_form_shows_server_side_errors_next_to_fields(client: TestClient, manifest: ModelManifest) -> None:
    token = _csrf(client.get("/").text)
    row = {k: str(v) for k, v in valid_rows(manifest, 1)[0].items()}
    response = client.post(
        "/form/score", data={**row, "torque_nm": "999", "tool_wear_min": "x", "csrf_token": token}
    )
    assert response.status_code == 422
    assert re.search(r'id="e-tool_wear_min"[^>]*>must be a number', response.text)
    response = client.post("/form/score", data={**row, "torque_nm": "999", "csrf_token": token})
    assert re.search(r'id="e-torque_nm"[^>]*>must be between', response.text)
    assert depth(client) == 0


def test_closed_form_refuses_form_posts(tmp_path: Path, bundle: Path, manifest: ModelManifest) -> None:
    with TestClient(create_app(make_settings(tmp_path, bundle, form_open=False))) as client:
        page = client.get("/")
        assert 'id="form-closed"' in page.text
        row = {k: str(v) for k, v in valid_rows(manifest, 1)[0].items()}
        assert client.post("/form/score", data={**row, "csrf_token": "x"}).status_code == 403
        assert depth(client) == 0


@pytest.mark.parametrize(("value", "expected"), [(None, "FULL"), ("NORMAL", "NORMAL"), ("FULL", "FULL")])
def test_outbox_durability_follows_the_setting(
    tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch, value: str | None, expected: str
) -> None:
    if value is not None:
        monkeypatch.setenv("SCORING_OUTBOX_SYNCHRONOUS", value)
    with TestClient(create_app(make_settings(tmp_path, bundle))) as client:
        assert client.app.state.ctx.components.outbox.synchronous == expected  # type: ignore[attr-defined]


def test_an_unknown_outbox_durability_is_refused_naming_the_setting(
    tmp_path: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCORING_OUTBOX_SYNCHRONOUS", "OFF")
    with pytest.raises(ValueError, match="outbox_synchronous"):
        make_settings(tmp_path, bundle)
