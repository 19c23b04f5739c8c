"""A site's heartbeat on the whole compliant path, as `make run` starts it (real processes, Azurite):

scoring app -> outbox -> edge queue -> filter_insights (the default compliance policy) -> compliant
blob + claim-check event -> ingest_insights -> the global store -> /api/v1/fleet. The cloud feeds
that read the same blobs (Power BI, the lake) take the heartbeats without failing, and nothing is
quarantined on site.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from azure.storage.blob import BlobServiceClient
from support.bundles import valid_rows
from support.local_system import SystemUnderTest, running_system

from edgeloop.domain.manifest import load_manifest

pytestmark = pytest.mark.slow

SITE = "site-heartbeat"
EDGE, CLOUD = "edge functions", "cloud functions"
PUBLISHED = re.compile(r"edgeloop\.service_layer\.filtering: message \w+: .*, (\d+) blobs$", re.MULTILINE)


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, demo_bundle_dir: Path
) -> Iterator[SystemUnderTest]:
    with running_system(
        tmp_path_factory.mktemp("heartbeat") / "var",
        request,
        SCORING_MODEL_DIR=str(demo_bundle_dir),
        EDGELOOP_SITE_ID=SITE,
        SCORING_HEARTBEAT_INTERVAL_SECONDS="1",
    ) as running:
        yield running


def fleet_row(system: SystemUnderTest) -> dict[str, Any] | None:
    response = httpx.get(f"{system.global_url}/api/v1/fleet", timeout=30)
    assert response.status_code == 200, response.text
    return next((row for row in response.json()["sites"] if row["site_id"] == SITE), None)


def blob_records(system: SystemUnderTest, account: str, container: str) -> list[dict[str, Any]]:
    with BlobServiceClient.from_connection_string(system.connection_string(account)) as service:
        client = service.get_container_client(container)
        if not client.exists():
            return []
        found = []
        for blob in client.list_blobs():
            data = client.download_blob(blob.name).readall()
            text = gzip.decompress(data) if blob.name.endswith(".gz") else data
            found += [orjson.loads(line) for line in text.splitlines() if line.strip()]
        return found


def test_the_heartbeat_reaches_the_fleet_view_and_the_feeds_take_it(
    system: SystemUnderTest, demo_bundle_dir: Path
) -> None:
    version = load_manifest(demo_bundle_dir).version
    system.score(valid_rows(load_manifest(demo_bundle_dir), 3, seed=5))

    def reported() -> bool:
        row = fleet_row(system)
        return row is not None and row["state"] == "ok" and row["scored"] == 3

    system.wait_until(reported, 90, "the site to show in the fleet view, ok, with its 3 insights")

    row = fleet_row(system)
    assert row is not None
    assert row["serving_version"] == version
    assert row["champion_version"] in (None, version)
    assert row["drift_status"] == "unavailable"  # no drift monitor wired on this site
    history = httpx.get(f"{system.global_url}/api/v1/fleet/{SITE}", timeout=30).json()
    assert history["statuses"], "the site's history holds its heartbeats"
    assert all(status["site_id"] == SITE for status in history["statuses"])

    # The compliant blobs hold the heartbeats whole: the default policy drops nothing of them.
    statuses = [r for r in blob_records(system, "cloud", "compliant") if r["kind"] == "site_status"]
    assert statuses
    assert set(statuses[0]) >= {"status_id", "reported_at", "model", "outbox_depth", "drift", "relay_lag_s"}
    assert not [
        r for r in blob_records(system, "edge", "quarantine") if r["record"].get("kind") == "site_status"
    ]

    def settled() -> bool:
        published = sum(int(count) for count in PUBLISHED.findall(system.log(EDGE)))
        return all(
            system.succeeded(CLOUD, function) >= published
            for function in ("ingest_insights", "feed_powerbi", "feed_lake")
        )

    system.wait_until(settled, 90, "every cloud function to have taken every blob")
    assert "(Failed" not in system.log(CLOUD)
