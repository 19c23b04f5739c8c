"""The example models' feedback loops (multiclass failure mode, regression tool life): data, settings.

Small and fast on purpose: the example's CSV is cut in two at random (stratified by class
for the classifier, so the rare failure modes are in both halves): a few thousand base
rows, and the rest as the sites' "new" rows, replayed from their own CSV (same header).
The champion is trained by the recipe on the base rows with small parameters, split as
retraining splits them (so the base held-out rows are unseen by every model); its recipe
block keeps those parameters, so the retraining runs are small too.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.model_selection import train_test_split

from edgeloop.bootstrap.first_bundle import train_first_bundle
from edgeloop.domain.recipes import BaseDataSpec, RecipeSpec
from edgeloop.domain.tasks import Task
from edgeloop.recipes import ai4i_failure_mode, tool_life
from localdev.azurite import REPO_ROOT
from localdev.example_models import EXAMPLE_MODELS

SPLIT_SEED = 7


@dataclass(frozen=True)
class ExampleLoop:
    key: str  # localdev's EXAMPLE_MODELS (make run EXAMPLE_MODEL=...)
    entry_point: str
    base_data: BaseDataSpec
    task: Task
    parameters: Mapping[str, Any]  # small and fast
    metric: str  # the primary metric the run reports (the task's default)
    promotion_margin: str  # RETRAIN_PROMOTION_MARGIN: room for the noise of a small held-out set
    base_rows: int  # of the example's CSV; the rest are the sites' new rows
    stratify: bool

    @property
    def model_name(self) -> str:
        return EXAMPLE_MODELS[self.key].model_name

    @property
    def data(self) -> Path:
        return REPO_ROOT / self.base_data.uri


LOOPS: Mapping[str, ExampleLoop] = {
    "failure-mode": ExampleLoop(
        "failure-mode",
        ai4i_failure_mode.ENTRY_POINT,
        ai4i_failure_mode.BASE_DATA,
        ai4i_failure_mode.task(),
        {"n_estimators": 15, "max_depth": 3},
        "macro_f1",
        "0.15",  # absolute; a rare class has 2 or 3 held-out rows
        base_rows=4000,  # half the file: RNF (13 rows in all) keeps enough rows to stratify on
        stratify=True,
    ),
    "tool-life": ExampleLoop(
        "tool-life",
        tool_life.ENTRY_POINT,
        tool_life.BASE_DATA,
        tool_life.task(),
        {},  # a linear fit: already fast
        "mae",
        "0.1",  # relative to the champion's MAE
        base_rows=1200,
        stratify=False,
    ),
}


def split_csv(loop: ExampleLoop, work: Path) -> tuple[Path, Path]:
    """``(base CSV, new CSV)``: the loop's ``base_rows`` rows of the example's data at random, the rest."""
    with loop.data.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or ())
        records = list(reader)
    strata = [record[loop.base_data.label] for record in records] if loop.stratify else None
    base, new = train_test_split(records, train_size=loop.base_rows, stratify=strata, random_state=SPLIT_SEED)
    paths = (work / f"{loop.key}-base.csv", work / f"{loop.key}-new.csv")
    for path, part in zip(paths, (base, new), strict=True):
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(part)
    return paths


def champion_bundle(loop: ExampleLoop, out_dir: Path, base_csv: Path, version: str = "1") -> Path:
    """The first champion: the recipe on ``base_csv`` with the loop's parameters, as ``edgeloop train``."""
    recipe = RecipeSpec(loop.entry_point, dict(loop.parameters), base_data=loop.base_data)
    train_first_bundle(
        recipe, loop.model_name, out_dir, task=loop.task, version=version, base_data_uri=str(base_csv)
    )
    return out_dir


def system_settings(loop: ExampleLoop, champion: Path, base_csv: Path, site: str) -> dict[str, str]:
    """The local system serving ``champion`` of the example's line, retraining every 10 s on ``base_csv``."""
    return {
        "EDGELOOP_SITE_ID": site,
        "SCORING_MODEL_DIR": str(champion),
        "SCORING_MODEL_NAME": loop.model_name,
        "SCORING_MODEL_POLL_SECONDS": "0.5",
        "MODEL_NAME": loop.model_name,
        "RETRAIN_BASE_DATA": str(base_csv),
        "RETRAIN_SCHEDULE": "*/10 * * * * *",
        "RETRAIN_MIN_NEW_LABELS": "100",
        "RETRAIN_PROMOTION_MARGIN": loop.promotion_margin,
    }
