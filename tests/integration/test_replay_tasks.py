"""``edgeloop replay`` against a multiclass and a regression model: typed labels reach the site's outbox.

In-process scoring app (real onnxruntime, real SQLite outbox) serving each example's small
champion (tests/support/example_loop.py). The replayer reads the CSV as the model's
description lays it out and reports each row's label as the task has it, or a poisoned one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.example_loop import LOOPS, champion_bundle, split_csv

from edgeloop.cli.replayer import Replayer, layout_of, read_rows, wrong_label
from edgeloop.config.scoring import ScoringSettings
from edgeloop.domain.records import FeedbackRecord, record_from_wire
from scoring_app import create_app

API_KEY = "test-key-0123456789"
ROWS = 40


@pytest.fixture(scope="module", params=sorted(LOOPS))
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """``(example key, the new rows' CSV)`` with the example's small champion in ``<work>/champion``."""
    loop = LOOPS[request.param]
    work = tmp_path_factory.mktemp(f"replay-{loop.key}")
    base_csv, new_csv = split_csv(loop, work)
    champion_bundle(loop, work / "champion", base_csv)
    return loop.key, new_csv


@pytest.fixture
def client(served: tuple[str, Path], tmp_path: Path) -> Iterator[TestClient]:
    settings = ScoringSettings(
        model_dir=served[1].parent / "champion",
        outbox_path=tmp_path / "outbox.sqlite3",
        api_key=API_KEY,
        api_key_file=tmp_path / "api-key",
        relay_enabled=False,
        site_id="site-replay",
    )
    with TestClient(create_app(settings), headers={"X-API-Key": API_KEY}) as test_client:
        yield test_client


def reported_labels(client: TestClient) -> list[object]:
    outbox = client.app.state.ctx.components.outbox  # type: ignore[attr-defined]
    records = [record_from_wire(raw) for raw in outbox.recent("feedback", 10 * ROWS)]
    return [r.label for r in reversed(records) if isinstance(r, FeedbackRecord)]


def test_the_replayer_reports_each_rows_typed_label(served: tuple[str, Path], client: TestClient) -> None:
    key, new_csv = served
    replayer = Replayer(client, rate=1000, feedback_delay=0)
    model = replayer.model()
    assert model["base_data"]["label"] == LOOPS[key].base_data.label
    rows = read_rows(new_csv, limit=ROWS, layout=layout_of(model))
    stats = replayer.run(rows)
    assert (stats.scored, stats.refused, stats.feedback_sent) == (ROWS, 0, ROWS)
    labels = reported_labels(client)
    assert labels == [row.label for row in rows]
    assert {type(label) for label in labels} == ({str} if key == "failure-mode" else {float})


def test_a_poisoned_replay_reports_the_wrong_label_of_the_task(
    served: tuple[str, Path], client: TestClient
) -> None:
    key, new_csv = served
    replayer = Replayer(client, rate=1000, feedback_delay=0)
    model = replayer.model()
    rows = read_rows(new_csv, limit=ROWS, layout=layout_of(model))
    replayer.run(rows, poison=wrong_label(model["task"]))
    labels = reported_labels(client)
    truth = [row.label for row in rows]
    assert all(reported != true for reported, true in zip(labels, truth, strict=True))
    if key == "failure-mode":
        classes = model["task"]["classes"]
        assert labels == [classes[(classes.index(t) + 1) % len(classes)] for t in truth]
    else:
        assert labels == pytest.approx([60 * float(t) for t in truth])
