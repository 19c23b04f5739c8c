"""The scoring form for a multiclass and a regression model, in a real headless Chromium.

The result shows what the task predicts (the class and its probability; the value with its unit
and interval) and the "actual outcome" control follows the task (a choice of the classes; a
number). Real onnxruntime graphs (tests/support/task_bundles.py), real SQLite outbox.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, expect
from support.browser import HIGH_RISK_READING, ScoringServer, ServeScoringApp, fill_reading, label_before
from support.task_bundles import (
    CLASSES,
    WEAR_UNIT,
    build_multiclass_bundle,
    build_regression_bundle,
    multiclass_predicted,
    multiclass_reference,
    regression_reference,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

READING = {"type": "L", **{name: float(value) for name, value in HIGH_RISK_READING.items()}}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory: pytest.TempPathFactory, serve_scoring_app: ServeScoringApp) -> ScoringServer:
    work = tmp_path_factory.mktemp("form-multiclass")
    return serve_scoring_app(build_multiclass_bundle(work / "bundle"), work)


@pytest.fixture(scope="module")
def regression(tmp_path_factory: pytest.TempPathFactory, serve_scoring_app: ServeScoringApp) -> ScoringServer:
    work = tmp_path_factory.mktemp("form-regression")
    return serve_scoring_app(build_regression_bundle(work / "bundle"), work)


def feedback_labels(server: ScoringServer) -> list[object]:
    return [record["label"] for record in server.outbox.recent("feedback", 10)]


def test_a_multiclass_form_shows_the_class_and_offers_the_classes(
    browser: Browser, multiclass: ScoringServer
) -> None:
    probabilities = multiclass_reference([READING])[0]
    [expected] = multiclass_predicted([READING])
    assert expected == "OSF"  # high torque: an alert class
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(multiclass.url + "/")
    fill_reading(page)
    page.click("button.primary")
    expect(page.locator("#prediction")).to_have_text(expected)
    expect(page.locator("#prediction-detail")).to_have_text(f"probability {probabilities.max() * 100:.1f} %")
    expect(page.locator("#anomaly-badge")).to_have_text("Anomaly")
    expect(page.locator("#anomaly-reason")).to_contain_text("alert class")
    insight_id = page.inner_text("#result-insight")

    row = page.locator(f'#recent tr[data-insight-id="{insight_id}"]')
    expect(row).to_contain_text(expected)
    choice = row.locator("select[name=label]")
    assert choice.locator("option").all_inner_texts()[1:] == list(CLASSES)
    choice.select_option("TWF")
    row.locator("button", has_text="report").click()
    expect(page.locator("#flash")).to_contain_text(f"{insight_id} recorded as TWF")
    expect(page.locator(f'#recent tr[data-insight-id="{insight_id}"]')).to_contain_text("reported: TWF")
    assert feedback_labels(multiclass) == ["TWF"]
    page.close()


def test_a_regression_form_shows_the_value_and_takes_a_number(
    browser: Browser, regression: ScoringServer
) -> None:
    value, low, high = regression_reference([READING])[0]
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(regression.url + "/")
    fill_reading(page)
    page.click("button.primary")
    expect(page.locator("#prediction")).to_have_text(f"{value:.4g} {WEAR_UNIT}")
    expect(page.locator("#prediction-detail")).to_have_text(f"interval {low:.4g} to {high:.4g} {WEAR_UNIT}")
    expect(page.locator("#anomaly-reason")).to_contain_text("outside its band")  # above 2.0 mm/h
    insight_id = page.inner_text("#result-insight")

    row = page.locator(f'#recent tr[data-insight-id="{insight_id}"]')
    row.locator("input[name=label]").fill("2.5")
    row.locator("button", has_text="report").click()
    expect(page.locator("#flash")).to_contain_text(f"{insight_id} recorded as 2.5 {WEAR_UNIT}")
    assert feedback_labels(regression) == [2.5]
    page.close()


def multiclass_cell() -> str:
    [predicted] = multiclass_predicted([READING])
    return f"{predicted} (probability {multiclass_reference([READING]).max() * 100:.1f} %)"


def regression_cell() -> str:
    value, low, high = regression_reference([READING])[0]
    return f"{value:.4g} {WEAR_UNIT} (interval {low:.4g} to {high:.4g} {WEAR_UNIT})"


@pytest.mark.parametrize(
    ("task", "label", "expected_cell"),
    [("multiclass", "Prediction", multiclass_cell), ("regression", "Value", regression_cell)],
)
def test_on_a_phone_a_recent_row_says_what_the_task_predicts(
    browser: Browser, request: pytest.FixtureRequest, task: str, label: str, expected_cell: Callable[[], str]
) -> None:
    server: ScoringServer = request.getfixturevalue(task)
    page = browser.new_page(viewport=PHONE)
    page.goto(server.url + "/")
    fill_reading(page)
    page.click("button.primary")
    insight_id = page.inner_text("#result-insight")
    expect(page.locator("#recent thead")).to_be_hidden()  # the phone layout: rows as cards
    cells = page.locator(f'#recent tr[data-insight-id="{insight_id}"] td')
    expect(cells.nth(2)).to_have_text(expected_cell())
    assert label_before(cells.nth(2)) == f'"{label}: "'
    assert label_before(cells.nth(0)) == '"Scored (UTC): "'
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.close()
