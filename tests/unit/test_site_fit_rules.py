"""Per-site fit verdicts (edgeloop.domain.site_fit, service_layer.site_fit) and champion lines
(edgeloop.domain.model_lines)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from edgeloop.domain.metrics import DEFAULT_EVALUATION, EvaluationSpec
from edgeloop.domain.model_lines import Cohort, ModelLines, ModelLinesError, parse_cohorts
from edgeloop.domain.site_fit import SiteFitPolicy, SiteSlice, judge_site_fit
from edgeloop.service_layer.site_fit import judge_sites

AUC = DEFAULT_EVALUATION["binary"]  # roc_auc, absolute margin 0.01
MAE = DEFAULT_EVALUATION["regression"]  # mae, 5 % of the champion's


def auc_slice(site: str, rows: int, challenger: float, current: float) -> SiteSlice:
    return SiteSlice(site, rows, {"roc_auc": challenger}, {"roc_auc": current}, "1.0.0")


def test_a_site_where_the_challenger_is_worse_beyond_the_margin_is_excluded_with_the_figures() -> None:
    report = judge_site_fit(
        [auc_slice("site-b", 80, 0.62, 0.91), auc_slice("site-a", 90, 0.93, 0.90)],
        AUC,
        "binary",
        SiteFitPolicy(),
    )
    assert [(v.site_id, v.verdict) for v in report.verdicts] == [("site-a", "fits"), ("site-b", "worse")]
    excluded = report.excluded()
    assert list(excluded) == ["site-b"]
    assert "worse by 0.2900" in excluded["site-b"]
    assert "on 80 rows" in excluded["site-b"]
    assert "1.0.0" in excluded["site-b"]
    assert report.to_dict()["excluded"] == excluded


def test_within_the_margin_fits_and_the_tolerance_setting_replaces_the_margin() -> None:
    close = auc_slice("site-a", 50, 0.895, 0.90)
    assert judge_site_fit([close], AUC, "binary", SiteFitPolicy()).excluded() == {}
    strict = judge_site_fit([close], AUC, "binary", SiteFitPolicy(tolerance=0.001))
    assert list(strict.excluded()) == ["site-a"]
    assert strict.tolerance == "0.001"


def test_too_few_rows_or_an_undefined_metric_is_not_judged_and_not_excluded() -> None:
    report = judge_site_fit(
        [
            auc_slice("small", 29, 0.1, 0.9),
            SiteSlice("one-class", 60, {"roc_auc": float("nan")}, {"roc_auc": float("nan")}),
            SiteSlice("no-rows", 0, {}, {}),
        ],
        AUC,
        "binary",
        SiteFitPolicy(min_rows=30),
    )
    assert {v.site_id: v.verdict for v in report.verdicts} == dict.fromkeys(
        ("no-rows", "one-class", "small"), "too_few_rows"
    )
    assert report.excluded() == {}
    reasons = {v.site_id: v.reason for v in report.verdicts}
    assert reasons["small"] == "29 labelled held-out rows, at least 30 needed to judge"
    assert "undefined" in reasons["one-class"]


def test_lower_is_better_metrics_use_the_relative_margin() -> None:
    def mae_slice(site: str, challenger: float) -> SiteSlice:
        return SiteSlice(site, 40, {"mae": challenger}, {"mae": 10.0})

    report = judge_site_fit(
        [mae_slice("ok", 10.4), mae_slice("bad", 10.6)], MAE, "regression", SiteFitPolicy()
    )
    assert report.excluded().keys() == {"bad"}
    assert report.tolerance == "0.05 of the site model's"
    custom = EvaluationSpec("mae", 1.0, "absolute")
    assert judge_site_fit([mae_slice("bad", 10.6)], custom, "regression", SiteFitPolicy()).excluded() == {}


def test_lines_route_each_site_to_one_line_and_the_base_keeps_the_rest() -> None:
    lines = parse_cohorts("ai4i-failure", [{"line": "ai4i-failure-hot", "sites": ["site-3"]}])
    assert lines.names == ("ai4i-failure", "ai4i-failure-hot")
    assert lines.line_of("site-3") == "ai4i-failure-hot"
    assert lines.line_of("site-1") == "ai4i-failure"
    assert lines.learns_from("ai4i-failure-hot", "site-3")
    assert not lines.learns_from("ai4i-failure", "site-3")
    assert lines.learns_from("ai4i-failure", "site-1")
    assert lines.parent("ai4i-failure-hot") == "ai4i-failure"
    assert lines.parent("ai4i-failure") is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([{"line": "base", "sites": ["s"]}], "must differ"),
        ([{"line": "a", "sites": ["s"]}, {"line": "b", "sites": ["s"]}], "'s' is in cohorts"),
        ([{"line": "a", "sites": []}], "lists no sites"),
        ([{"line": "", "sites": ["s"]}], "'line' must be"),
        ([{"line": "a", "sites": "s"}], "'sites' must be"),
    ],
)
def test_inconsistent_cohorts_are_refused_naming_the_problem(document: list[dict], message: str) -> None:
    with pytest.raises(ModelLinesError, match=message):
        parse_cohorts("base", document)


def test_a_cohort_is_found_by_its_line() -> None:
    lines = ModelLines("base", (Cohort("north", frozenset({"n1", "n2"})),))
    cohort = lines.cohort("north")
    assert cohort is not None
    assert cohort.sites == {"n1", "n2"}
    assert lines.cohort("base") is None


class SliceScores:
    """A TrainingData double (the real one needs base data and a recipe: covered on Azurite by
    tests/integration/test_site_fit_azurite.py): each model's ROC AUC by its version."""

    def __init__(self, auc_by_version: dict[str, float]) -> None:
        self.auc_by_version = auc_by_version

    def sites(self) -> list[str]:
        return ["site-1", "site-2"]

    def slice_scores(self, models: dict, sites: list[str]) -> tuple[int, dict[str, dict[str, float]]]:
        return 100, {key: {"roc_auc": self.auc_by_version[m.manifest.version]} for key, m in models.items()}


def versioned(version: str) -> object:
    return SimpleNamespace(manifest=SimpleNamespace(version=version))


def test_a_site_kept_on_another_version_is_judged_against_the_model_it_serves() -> None:
    training = SliceScores({"2.0.0": 0.80, "1.0.0": 0.79, "0.9.0": 0.95})
    training.counts = SimpleNamespace(task="binary")  # type: ignore[attr-defined]
    report = judge_sites(
        training,  # type: ignore[arg-type]
        versioned("2.0.0"),  # type: ignore[arg-type]
        versioned("1.0.0"),  # type: ignore[arg-type]
        AUC,
        SiteFitPolicy(),
        serving={"site-2": versioned("0.9.0")},  # type: ignore[dict-item]
    )
    assert {v.site_id: v.verdict for v in report.verdicts} == {"site-1": "fits", "site-2": "worse"}
    assert "0.9.0" in report.excluded()["site-2"]
