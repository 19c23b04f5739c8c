"""The dashboard's chart as rendered: real SQLite store, real template, the SVG parsed as XML.

Three sites over three days with gaps: one sends every hour, one goes silent for six
hours, one has a single hour. The assertions read the produced SVG (paths, markers,
ticks, title/desc) and the accessible table beside it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from contract.insight_factory import insight
from fastapi.testclient import TestClient

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from global_app.app import create_app
from global_app.auth import OpenAccess
from global_app.chart import LEFT, RIGHT, WIDTH

T0 = datetime(2026, 11, 18, tzinfo=UTC)
RANGE = {"from": "2026-11-18T00:00Z", "to": "2026-11-21T00:00Z"}
SILENT = range(30, 36)  # hours site-b sent nothing
LONE_HOUR = 60  # site-c's only hour


def hours_of(site: str) -> list[int]:
    if site == "site-a":
        return list(range(72))
    if site == "site-b":
        return [h for h in range(72) if h not in SILENT]
    return [LONE_HOUR]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = SqliteInsightStore(tmp_path_factory.mktemp("chart") / "global.sqlite3")
    records = [
        insight(site, row=h * 4 + n, batch=site, at=T0 + timedelta(hours=h, minutes=n), anomaly=n < s % 3 + 1)
        for s, site in enumerate(("site-a", "site-b", "site-c"))
        for h in hours_of(site)
        for n in range(4)
    ]
    store.upsert(records)
    with TestClient(create_app(store, OpenAccess())) as test_client:
        yield test_client
    store.close()


def chart_svg(html: str) -> ET.Element:
    match = re.search(r'<svg id="rate-chart".*?</svg>', html, re.S)
    assert match is not None, "no chart on the page"
    return ET.fromstring(match.group(0))


def marker_paths(group: ET.Element) -> list[ET.Element]:
    return [p for p in group.iter("path") if "mk" in p.get("class", "").split()]


def test_lines_break_at_missing_hours_and_a_lone_hour_is_a_full_size_marker(client: TestClient) -> None:
    svg = chart_svg(client.get("/", params=RANGE).text)
    groups = [g for g in svg.iter("g") if g.get("class") in ("series", "lone-hours")]
    series = {g.get("data-site"): g for g in groups if g.get("class") == "series"}
    assert list(series) == ["site-a", "site-b", "site-c"]
    lines = {site: [p for p in g.iter("path") if p.get("class") == "line"] for site, g in series.items()}
    moves = {site: "".join(p.get("d", "") for p in paths).count("M") for site, paths in lines.items()}
    assert moves == {"site-a": 1, "site-b": 2, "site-c": 1}  # site-b's line stops at its silent hours
    markers = {
        site: [p for g in groups if g.get("data-site") == site for p in marker_paths(g)] for site in series
    }
    assert {site: len(paths) for site, paths in markers.items()} == {"site-a": 72, "site-b": 66, "site-c": 1}
    (lone,) = markers["site-c"]
    assert lone.get("class") == "mk lone"
    assert lone.findtext("title") == "site-c 2026-11-20 12:00 UTC: 75.0% of 4"
    assert {p.get("class") for p in markers["site-a"] + markers["site-b"]} == {"mk"}
    # Each marker is drawn from the middle of its hour: 72 hours across the plot.
    xs = [float(p.get("d", "")[1:].split()[0]) for p in markers["site-a"]]
    hour_width = (WIDTH - RIGHT - LEFT) / 72
    assert xs[1] - xs[0] == pytest.approx(hour_width, abs=0.1)
    assert xs[0] == pytest.approx(LEFT + hour_width / 2, abs=0.1)


def test_axes_are_round_and_the_chart_describes_itself(client: TestClient) -> None:
    svg = chart_svg(client.get("/", params=RANGE).text)
    y_labels = [t.text for t in svg.iter("text") if t.get("class", "").startswith("tick y")]
    assert y_labels == ["0%", "20%", "40%", "60%", "80%"]  # site-c peaks at 75 %
    x_labels = [
        "/".join(s.text or "" for s in t.iter("tspan")) for t in svg.iter("text") if t.get("class") == "tick"
    ]
    assert x_labels[:3] == ["00:00/11-18", "12:00", "00:00/11-19"]
    assert x_labels[-1] == "00:00/11-21"
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "chart-title chart-desc"
    assert svg.findtext("title") == "Anomaly rate per hour and site"
    desc = svg.findtext("desc") or ""
    assert "3 sites, Wed 18 Nov 2026 00:00 to Sat 21 Nov 2026 00:00 UTC (72 hours)" in desc
    assert "Highest: 75.0% at site-c, 2026-11-20 12:00 UTC" in desc


def test_the_chart_data_table_and_the_range_in_words(client: TestClient) -> None:
    html = client.get("/", params=RANGE).text
    table = re.search(r'<div class="visually-hidden">.*?<table id="chart-data">(.*?)</table>', html, re.S)
    assert table is not None
    rows = [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]
    ]
    first, last = "50.0% at 2026-11-18 00:00", "50.0% at 2026-11-20 23:00"
    assert rows[1] == ["site-b", "66", "6", first, last, last]  # lowest, highest, latest hour
    assert rows[2][:3] == ["site-c", "1", "71"]
    note = re.search(r'<p class="range-note" id="range-note">(.*?)</p>', html, re.S)
    assert note is not None
    assert re.sub(r"<[^>]+>", "", note.group(1)).startswith(
        "Showing Wed 18 Nov 2026 00:00 to Sat 21 Nov 2026 00:00 UTC (3 days)"
    )


def test_without_a_range_the_inputs_show_examples_not_values(client: TestClient) -> None:
    html = client.get("/").text
    inputs = dict(re.findall(r'<input name="(from|to)" value="([^"]*)"', html))
    assert inputs == {"from": "", "to": ""}
    placeholders = re.findall(r'placeholder="([^"]*)"', html)
    assert placeholders == ["e.g. 2026-11-19T00:00Z", "e.g. 2026-11-21T00:00Z"]  # the chart's days
    assert "Showing <strong>all time</strong>" in html
    assert "The latest 2 days with data" in html
