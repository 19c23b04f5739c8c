"""The example models' data files are exactly what their generators write (tools/*_data.py)."""

from __future__ import annotations

import csv
import io

from tools import failure_mode_data, tool_life_data


def test_the_tool_life_csv_is_reproduced_byte_for_byte() -> None:
    assert tool_life_data.tool_life_csv() == tool_life_data.OUT.read_bytes()


def test_the_failure_mode_csv_is_reproduced_byte_for_byte() -> None:
    assert failure_mode_data.failure_mode_csv() == failure_mode_data.OUT.read_bytes()


def test_a_row_with_several_modes_takes_the_first_by_priority() -> None:
    def row(*modes: str) -> dict[str, str]:
        return {mode: "1" if mode in modes else "0" for mode in ("TWF", "HDF", "PWF", "OSF", "RNF")}

    assert failure_mode_data.failure_mode(row()) == "none"
    assert failure_mode_data.failure_mode(row("OSF", "HDF")) == "HDF"
    assert failure_mode_data.failure_mode(row("TWF", "OSF")) == "OSF"
    assert failure_mode_data.failure_mode(row("TWF", "RNF")) == "TWF"
    assert failure_mode_data.failure_mode(row("RNF")) == "RNF"


def test_the_failure_mode_csv_keeps_every_source_row_and_reading() -> None:
    source = list(csv.DictReader(io.StringIO(failure_mode_data.SOURCE.read_text(encoding="utf-8-sig"))))
    derived = list(csv.DictReader(io.StringIO(failure_mode_data.OUT.read_text(encoding="utf-8"))))
    assert len(derived) == len(source) == 8000
    for original, row in zip(source, derived, strict=True):
        assert all(row[column] == original[column] for column in failure_mode_data.KEPT_COLUMNS)


def test_the_generated_tool_life_follows_taylors_law_within_the_noise() -> None:
    rows = list(csv.DictReader(io.StringIO(tool_life_data.OUT.read_text(encoding="utf-8"))))
    assert len(rows) == tool_life_data.ROWS
    ratios = sorted(
        float(row["Tool life [min]"])
        / tool_life_data.taylor_life_min(
            float(row["Cutting speed [m/min]"]), float(row["Feed [mm/rev]"]), float(row["Depth of cut [mm]"])
        )
        for row in rows
    )
    median = ratios[len(ratios) // 2]
    assert 0.95 < median < 1.05  # lognormal noise with median 1
