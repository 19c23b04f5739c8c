"""The benchmark chart draws the ratio figures that have a lower-bound target."""

from pathlib import Path

from bench.chart import draw, ratio_figures

RESULTS = {
    "started_at": "2026-11-21T00:00:00Z",
    "machine": {"cpus": 2, "python": "3.11.7"},
    "figures": [
        {"name": "batch", "value": 0.3, "unit": "x", "target": ">= 0.25"},
        {"name": "memory", "value": 200.0, "unit": "MiB", "target": "<= 250"},
        {"name": "p99", "value": 0.5, "unit": "x", "target": "<= 1.0"},
        {"name": "peer", "value": None, "unit": "x", "target": ">= 5"},
        {"name": "freshness", "value": 1.1, "unit": "s", "target": ""},
    ],
}


def test_only_measured_ratios_with_a_lower_bound_or_none_are_drawn() -> None:
    assert ratio_figures(RESULTS) == [("batch", 0.3, 0.25)]


def test_draw_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "chart.png"
    draw(RESULTS, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_ratio_without_a_target_is_drawn_grey_in_its_place_as_a_share_of_the_limit(tmp_path: Path) -> None:
    results = {
        "figures": [
            {"name": "2. ours / naive", "value": 1.9, "unit": "x", "target": ">= 1.8"},
            {"name": "2. ours / the HTTP stack's limit", "value": 0.05, "unit": "x", "target": ""},
            {"name": "4. relay on / off", "value": 1.1, "unit": "x", "target": ">= 0.9"},
        ]
    }
    assert ratio_figures(results) == [
        ("2. ours / naive", 1.9, 1.8),
        ("2. ours / the HTTP stack's limit", 0.05, None),
        ("4. relay on / off", 1.1, 0.9),
    ]
    out = tmp_path / "chart.png"
    draw(results, out)  # no target to divide by: the bar is the share itself
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
