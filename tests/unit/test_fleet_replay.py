"""``edgeloop replay --fleet`` and ``--drift``: the fleet file, each site's rows, a recalibrated sensor.

Pure parts on real rows of the demo's base data (data/ai4i2020-train.csv); driving real sites
is tested with `make run`'s fleet (tests/integration/test_make_run.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgeloop.cli.fleet_replay import FleetSite, deal_rows, read_fleet
from edgeloop.cli.recalibration import Recalibration
from edgeloop.cli.replayer import ReplayError, read_rows
from localdev.azurite import REPO_ROOT

ROWS = read_rows(REPO_ROOT / "data" / "ai4i2020-train.csv", limit=10)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("torque_nm+5@3", Recalibration("torque_nm", 1.0, 5.0, 3)),
        ("torque_nm-2.5@0", Recalibration("torque_nm", 1.0, -2.5, 0)),
        ("air_temperature_k*1.02@60s", Recalibration("air_temperature_k", 1.02, 0.0, 300)),
        ("torque_nm*1.1+2@7", Recalibration("torque_nm", 1.1, 2.0, 7)),
    ],
)
def test_a_drift_spec_names_the_sensor_the_change_and_when(spec: str, expected: Recalibration) -> None:
    assert Recalibration.parse(spec, rate=5.0) == expected


@pytest.mark.parametrize("spec", ["torque_nm@3", "torque_nm+5", "+5@3", "torque_nm+x@3", "torque_nm*1e999@0"])
def test_a_malformed_drift_spec_is_refused_saying_the_form(spec: str) -> None:
    with pytest.raises(ReplayError, match="--drift"):
        Recalibration.parse(spec, rate=5.0)


def test_the_recalibrated_sensor_reads_shifted_from_its_row_on_and_the_labels_stay_true() -> None:
    shifted = Recalibration("torque_nm", 1.1, 2.0, 4).apply(ROWS)
    assert shifted[:4] == ROWS[:4]
    for before, after in zip(ROWS[4:], shifted[4:], strict=True):
        assert after.row["torque_nm"] == pytest.approx(before.row["torque_nm"] * 1.1 + 2.0)
        assert {k: v for k, v in after.row.items() if k != "torque_nm"} == {
            k: v for k, v in before.row.items() if k != "torque_nm"
        }
        assert after.label == before.label


def test_only_a_numeric_input_can_be_recalibrated() -> None:
    with pytest.raises(ReplayError, match="'type' is not a numeric input"):
        Recalibration("type", 1.0, 1.0, 0).apply(ROWS)
    with pytest.raises(ReplayError, match="'pressure_bar' is not a numeric input"):
        Recalibration("pressure_bar", 1.0, 1.0, 0).apply(ROWS)


def test_each_site_gets_its_own_consecutive_rows() -> None:
    slices = deal_rows(ROWS, 3)
    assert [len(part) for part in slices] == [4, 3, 3]
    assert [row for part in slices for row in part] == ROWS
    assert deal_rows(ROWS[:2], 3) == [ROWS[:1], ROWS[1:2], []]


def test_the_fleet_file_lists_the_sites_or_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    with pytest.raises(ReplayError, match="no fleet file"):
        read_fleet(path)
    path.write_text(json.dumps({"sites": [{"site_id": "site-1", "url": "http://127.0.0.1:8000"}]}))
    assert read_fleet(path) == [FleetSite("site-1", "http://127.0.0.1:8000")]
    path.write_text(json.dumps({"sites": [{"url": "http://127.0.0.1:8000"}]}))
    with pytest.raises(ReplayError, match="not a fleet file"):
        read_fleet(path)
    path.write_text(json.dumps({"sites": []}))
    with pytest.raises(ReplayError, match="lists no site"):
        read_fleet(path)
