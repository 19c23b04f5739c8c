"""One scoring's trace across the processes: scoring app (request, group, relay) -> filter_insights
(edge Functions host) -> ingest_insights (cloud Functions host), parent to child at every hop.

Real processes on a real Azurite (tests/support/local_system.py) with the SDK's OTLP/HTTP
exporter in each, posting to an OTLP receiver in the test (tests/support/otlp_receiver.py,
the protobuf wire a collector reads). The client sends a W3C ``traceparent``, so the trace id
is known before the first span exists. LOG_FORMAT=json: the Functions' log lines carry it too.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.bundles import valid_rows
from support.local_system import SystemUnderTest, running_system
from support.otlp_receiver import OtlpReceiver, ReceivedSpan

from edgeloop.domain.manifest import load_manifest

pytestmark = pytest.mark.slow

SITE = "site-traces"
TIMEOUT = 60.0
SCORING, EDGE, CLOUD = "edgeloop-scoring", "edgeloop-edge-functions", "edgeloop-cloud-functions"
EXPECTED = {
    (SCORING, "POST /api/v1/score", None),
    (SCORING, "edgeloop.score", None),
    (SCORING, "edgeloop.relay.send", None),
    (EDGE, "edgeloop.filter_insights", None),
    (CLOUD, "edgeloop.ingest_insights", "compliant"),
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    demo_bundle_dir: Path,
    receiver: OtlpReceiver,
) -> Iterator[SystemUnderTest]:
    assert "OTEL_SERVICE_NAME" not in os.environ  # each process names itself
    with running_system(
        tmp_path_factory.mktemp("traces") / "var",
        request,
        SCORING_MODEL_DIR=str(demo_bundle_dir),
        EDGELOOP_SITE_ID=SITE,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="100",  # ms: export soon, the test waits on the spans
        LOG_FORMAT="json",
    ) as running:
        yield running


def only(spans: list[ReceivedSpan], service: str, name: str, **attributes: object) -> ReceivedSpan:
    found = [
        s
        for s in spans
        if s.service == service
        and s.name == name
        and all(s.attributes.get(k) == v for k, v in attributes.items())
    ]
    assert len(found) == 1, f"{service} {name} {attributes}: {found}"
    return found[0]


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_one_scoring_is_one_trace_from_the_request_to_the_global_store(
    system: SystemUnderTest, receiver: OtlpReceiver, demo_bundle_dir: Path
) -> None:
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    rows = valid_rows(load_manifest(demo_bundle_dir), 3, seed=5)
    response = httpx.post(
        f"{system.scoring_url}/api/v1/score",
        json={"rows": rows},
        headers={"X-API-Key": system.api_key, "traceparent": f"00-{trace_id}-{client_span}-01"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    insight_ids = [r["insight_id"] for r in response.json()["results"]]

    def all_exported() -> bool:
        found = {
            (s.service, s.name, s.attributes.get("edgeloop.container")) for s in receiver.spans(trace_id)
        }
        return found >= EXPECTED and len(system.insights()) == 3

    # Each process exports on its own schedule: wait for every span, not just the last hop's.
    system.wait_until(all_exported, TIMEOUT, "every span of the scoring and its insights")
    spans = receiver.spans(trace_id)
    assert {s.service for s in spans} == {SCORING, EDGE, CLOUD}

    request = only(spans, SCORING, "POST /api/v1/score")
    assert request.kind == "SPAN_KIND_SERVER"
    assert request.parent_span_id == client_span
    scoring = only(spans, SCORING, "edgeloop.score")
    assert scoring.parent_span_id == request.span_id
    relay = only(spans, SCORING, "edgeloop.relay.send")
    assert relay.kind == "SPAN_KIND_PRODUCER"
    assert relay.parent_span_id == scoring.span_id
    assert relay.attributes["edgeloop.records"] == 3
    filtering = only(spans, EDGE, "edgeloop.filter_insights")
    assert filtering.kind == "SPAN_KIND_CONSUMER"
    assert filtering.parent_span_id == relay.span_id
    # The scoring's own span travelled inside its column document, next to the message's header.
    assert (trace_id, scoring.span_id) in filtering.links
    ingest = only(spans, CLOUD, "edgeloop.ingest_insights", **{"edgeloop.container": "compliant"})
    assert ingest.parent_span_id == filtering.span_id
    assert {item["insight_id"] for item in system.insights()} == set(insight_ids)

    # The logs of each Function's work name the same trace (LOG_FORMAT=json).
    for component, logger in (("edge functions", "filtering"), ("cloud functions", "ingest")):
        lines = [line for line in json_lines(system.log(component)) if line["trace_id"] == trace_id]
        assert any(str(line["logger"]).endswith(logger) for line in lines), component
