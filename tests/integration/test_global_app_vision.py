"""The vision view of the global app, in process, on a real SQLite store: the JSON API, the pages,
the range and the refusals. Frames are written relative to the time now (the default range is the
last 24 hours). A detection model's cameras show its feedback: precision, recall, missed defects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from contract.insight_factory import feedback, insight
from contract.vision_factory import detection_frame, frame
from fastapi.testclient import TestClient

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.records import format_timestamp, utc_now
from global_app.app import create_app
from global_app.auth import OpenAccess

DEFECT = ("alert_class",)


@pytest.fixture(scope="module")
def hour() -> datetime:
    """The first hour with frames: two hours ago."""
    return utc_now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, hour: datetime) -> Iterator[TestClient]:
    store = SqliteInsightStore(tmp_path_factory.mktemp("vision") / "global.sqlite3")
    store.upsert(
        [
            *(frame("line-1", "ok", minutes=n, row=n, start=hour) for n in range(6)),
            frame("line-1", "scratch", minutes=7, kinds=DEFECT, start=hour),
            frame("line-1", "scratch", minutes=61, kinds=DEFECT, start=hour),
            frame("line-1", "ok", minutes=62, start=hour),
            frame(None, "dent", minutes=5, kinds=DEFECT, start=hour),
            frame("dock/2", "ok", site="plant b", minutes=3, start=hour),
            frame("line-1", "ok", minutes=5, start=hour - timedelta(days=3)),  # out of the default range
            insight("plant-tabular", at=hour),
        ]
    )
    with TestClient(create_app(store, OpenAccess())) as test_client:
        yield test_client
    store.close()


def test_the_api_lists_each_sites_cameras_with_their_hours_and_class_mix(
    client: TestClient, hour: datetime
) -> None:
    body = client.get("/api/v1/vision").json()
    assert [site["site_id"] for site in body["sites"]] == ["plant b", "site-a"]
    site = body["sites"][1]
    assert (site["frames"], site["defects"]) == (10, 3)
    line, uploads = site["cameras"]
    assert (line["camera_id"], line["source"], uploads["camera_id"], uploads["source"]) == (
        "line-1", "camera", None, "upload",
    )  # fmt: skip
    assert line["classes"] == {"ok": 7, "scratch": 2}
    assert line["models"] == ["surface-defects 1.0.0"]
    first, second = line["hours"]
    assert first["hour"] == format_timestamp(hour)
    assert (first["frames"], first["defects"], first["defect_rate"]) == (7, 1, pytest.approx(1 / 7))
    assert (second["frames"], second["defects"], second["defect_rate"]) == (2, 1, 0.5)
    assert uploads["classes"] == {"dent": 1}


def test_the_api_takes_a_site_and_a_range(client: TestClient, hour: datetime) -> None:
    one = client.get("/api/v1/vision", params={"site": "plant b"}).json()
    assert [site["site_id"] for site in one["sites"]] == ["plant b"]
    start = hour - timedelta(days=4)
    older = client.get("/api/v1/vision", params={"site": "site-a", "from": format_timestamp(start)}).json()
    assert older["sites"][0]["frames"] == 11
    assert client.get("/api/v1/vision", params={"site": "nowhere"}).json()["sites"] == []


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"from": "yesterday"}, "from"), ({"camera": "x"}, "camera"), ({"site": "a\x00b"}, "site")],
)
def test_bad_parameters_are_a_400_naming_them(
    client: TestClient, params: dict[str, str], parameter: str
) -> None:
    for path in ("/api/v1/vision", "/vision"):
        response = client.get(path, params=params)
        assert response.status_code == 400, (path, params)
        if path.startswith("/api/"):
            assert response.json()["parameter"] == parameter


def test_the_pages_show_the_cameras_a_chart_per_camera_and_the_class_mix(client: TestClient) -> None:
    overview = client.get("/vision")
    assert overview.status_code == 200
    assert 'data-camera="line-1"' in overview.text
    assert 'href="/vision/plant%20b"' in overview.text
    page = client.get("/vision/site-a")
    assert page.status_code == 200
    assert 'id="chart-defect-rate-0"' in page.text
    assert 'data-points="2"' in page.text
    assert 'data-class="scratch"' in page.text
    assert "Uploaded images" in page.text
    missing = client.get("/vision/nowhere")
    assert missing.status_code == 200
    assert 'id="no-vision"' in missing.text


def test_a_detection_cameras_feedback_shows_its_precision_recall_and_missed_defects(
    tmp_path: Path, hour: datetime
) -> None:
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    two, none = detection_frame("line-9", 2, start=hour), detection_frame("line-9", 0, minutes=5, start=hour)
    box = "scratch@0.1,0.62,0.3,0.8"
    store.upsert([two, none, frame("line-1", "ok", start=hour)])
    store.upsert([feedback(two, f"accept,reject;{box}"), feedback(none, f";{box}")])
    with TestClient(create_app(store, OpenAccess())) as detection_client:
        [site] = detection_client.get("/api/v1/vision").json()["sites"]
        overview, page = detection_client.get("/vision").text, detection_client.get("/vision/site-a").text
    store.close()
    line_1, line_9 = site["cameras"]
    assert [line_9[k] for k in ("accepted", "rejected", "missed", "precision", "recall")] == [
        1,
        1,
        2,
        0.5,
        1 / 3,
    ]
    assert [line_9["hours"][0][k] for k in ("accepted", "rejected", "missed")] == [1, 1, 2]
    assert (line_1["accepted"], line_1["missed"], line_1["precision"], line_1["recall"]) == (0, 0, None, None)
    rows = dict(
        re.findall(r'data-camera="([^"]+)".*?<td class="detection-feedback">(.*?)</td>', overview, re.S)
    )
    assert rows == {"line-1": "—", "line-9": "precision 50.0% (of 2), recall 33.3% (of 3), missed 2"}
    assert "Detection feedback: precision 50.0% (of 2), recall 33.3% (of 3), missed 2" in page
    assert page.count("Detection feedback:") == 1  # line-1's model has no detections
