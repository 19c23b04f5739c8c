"""The notebook's data path: a real SQLite global store -> DataFrame -> QuickVisualize dataset config.

``get_dataset_config`` is powerbiclient's own (no copy of it): it runs in the
notebook's virtualenv (``.venv-notebook``, built on first use, see
tests/support/notebook_venv.py) because powerbiclient imports pyspark. Nothing
reaches Power BI: the configuration is what QuickVisualize would send.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.notebook_venv import REPO_ROOT, notebook_python

from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.records import FeedbackRecord, InsightRecord, ModelRef
from edgeloop.reports.insights_frame import insights_frame

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def fill_store(path: Path, count: int = 30, start: datetime = T0) -> None:
    store = SqliteInsightStore(path)
    insights = [
        InsightRecord(
            insight_id=f"{i:032x}-{i:05d}",
            site_id="site-a" if i % 2 else "site-b",
            scored_at=start + timedelta(minutes=i),
            model=ModelRef("ai4i", "1", "0" * 64),
            inputs={"torque_nm": 30.0 + i, "tool_wear_min": i, "type": "LMH"[i % 3]},
            outputs={"risk": i / 100},
            anomaly=i % 5 == 0,
            anomaly_kinds=("risk",) if i % 5 == 0 else (),
        )
        for i in range(count)
    ]
    feedback = [
        FeedbackRecord(f"{i:032x}-{i:05d}f", f"{i:032x}-{i:05d}", "site-a", 1, start + timedelta(hours=1))
        for i in range(1, 6, 2)
    ]
    store.upsert([*insights, *feedback])
    store.close()


def test_the_frame_has_one_typed_row_per_insight(tmp_path: Path) -> None:
    path = tmp_path / "global.sqlite3"
    fill_store(path)
    store = SqliteInsightStore(path)
    frame = insights_frame(store, limit=25)
    assert len(frame) == 25  # paged (500 per page) and capped
    assert frame["scored_at"].iloc[0] == T0 + timedelta(minutes=29)  # newest first
    assert str(frame["scored_at"].dtype) == "datetime64[ns, UTC]"
    assert frame["anomaly"].dtype == bool
    assert frame["risk"].dtype == "float64"
    assert frame["input_tool_wear_min"].dtype == "float64"
    assert set(frame["input_type"]) == {"L", "M", "H"}
    assert frame.loc[frame["insight_id"] == f"{5:032x}-{5:05d}", "feedback"].item() == "failure"
    assert (frame["feedback"] == "").sum() == 25 - 1  # of the insights with feedback (1, 3, 5) only 5 is here
    only_a = insights_frame(store, site_id="site-a")
    assert set(only_a["site_id"]) == {"site-a"}
    assert len(only_a) == 15
    store.close()


def test_an_empty_store_gives_an_empty_frame_with_the_columns(tmp_path: Path) -> None:
    store = SqliteInsightStore(tmp_path / "empty.sqlite3")
    frame = insights_frame(store)
    assert frame.empty
    assert {"insight_id", "scored_at", "risk", "feedback"} <= set(frame.columns)
    store.close()


NOTEBOOK_SCRIPT = """
import json, sys
from pathlib import Path
from powerbiclient import get_dataset_config
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.reports.insights_frame import insights_frame

frame = insights_frame(SqliteInsightStore(Path(sys.argv[1])))
print(json.dumps(get_dataset_config(frame)))
"""


@pytest.mark.slow
def test_powerbiclient_builds_the_quick_visualize_dataset_from_the_frame(tmp_path: Path) -> None:
    path = tmp_path / "global.sqlite3"
    fill_store(path)
    python = notebook_python()
    done = subprocess.run(
        [str(python), "-c", NOTEBOOK_SCRIPT, str(path)],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    (table,) = config["tableSchemaList"]
    types = {c["name"]: c["dataType"] for c in table["columns"]}
    assert types["scored_at"] == "DateTimeZone"
    assert types["anomaly"] == "Logical"
    assert types["risk"] == types["input_torque_nm"] == types["output_risk"] == "Number"
    assert types["insight_id"] == types["feedback"] == types["input_type"] == "Text"
    (data,) = config["data"]
    assert len(data["rows"]) == 30
    names = [c["name"] for c in table["columns"]]
    first = dict(zip(names, data["rows"][0], strict=True))
    assert first["anomaly"] in ("true", "false")
    assert first["insight_id"] == f"{29:032x}-{29:05d}"


NOTEBOOK = REPO_ROOT / "reports" / "insights.ipynb"


def code_cells() -> list[str]:
    document = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert document["nbformat"] == 4
    return ["".join(cell["source"]) for cell in document["cells"] if cell["cell_type"] == "code"]


def test_the_notebook_is_committed_clean_and_compiles() -> None:
    document = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    for cell in document["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], "commit the notebook without outputs"
            assert cell["execution_count"] is None
    for index, source in enumerate(code_cells()):
        compile(source, f"insights.ipynb cell {index}", "exec")


@pytest.mark.slow
def test_the_notebooks_data_cells_run_against_a_real_store(tmp_path: Path) -> None:
    """Runs the notebook's own cells, except the three that sign in or call Power BI and the lake's."""
    path = tmp_path / "global.sqlite3"
    fill_store(path, start=datetime.now(UTC) - timedelta(hours=2))
    # The lake cell reads a Delta table in Azurite: tests/integration/test_lake_feed.py runs its calls.
    online = ("Report(", "DeviceCodeLoginAuthentication(", "QuickVisualize(", "build_lake_table(")
    offline = [s for s in code_cells() if not any(k in s for k in online)]
    assert len(offline) == 3  # the imports, the frame and the cameras' frame
    script = "\n".join([*offline, "print(json.dumps(get_dataset_config(frame)))"])
    done = subprocess.run(
        [str(notebook_python()), "-c", "import json\n" + script],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT, check=False,
        env={"PATH": "/usr/bin:/bin", "CLOUD_STORE": "sqlite", "CLOUD_SQLITE_PATH": str(path),
             "EDGELOOP_LOCAL_SETTINGS": str(tmp_path / "absent.json"), "HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    assert len(config["data"][0]["rows"]) == 30
