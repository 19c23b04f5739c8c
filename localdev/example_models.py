"""Which example model `make run` serves: ``EXAMPLE_MODEL`` (make) = ``EDGELOOP_EXAMPLE_MODEL`` here.

- ``failure``: the binary AI4I demo (``make model``: var/models/demo);
- ``failure-mode``: the multiclass AI4I failure mode (edgeloop/recipes/ai4i_failure_mode.py);
- ``tool-life``: the regression tool-life model (edgeloop/recipes/tool_life.py);
- ``surface-defects``: the vision demo, images scored at /api/v1/score/images
  (edgeloop/recipes/surface_defects.py, docs/vision.md);
- ``surface-detection``: the detection demo, spots and scratches found in their boxes
  (edgeloop/recipes/surface_detection.py, docs/vision.md).

The bundles are built by the Makefile (tools/example_models.py for all but the first). The
choice sets the served bundle, the model the site follows in the registry, the model
line retraining works on and its base data, and the Power BI feed's dataset definition
(:func:`write_powerbi_definition`); a setting given explicitly still wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from localdev.azurite import REPO_ROOT

EXAMPLE_MODEL_ENV = "EDGELOOP_EXAMPLE_MODEL"
DEFAULT_EXAMPLE = "failure"


@dataclass(frozen=True)
class ExampleModel:
    bundle: str  # under var/models/
    model_name: str  # the manifest's name: the registry's model line
    base_data: str | None  # under data/; None: the recipe generates its data (the vision demo)

    def settings(self, models_var: Path, state_var: Path) -> dict[str, str]:
        """Bundles come from ``models_var`` (the repository's var/), state lives in ``state_var``."""
        # The site's cache of delivered bundles is keyed by version only: one per model line,
        # or a switch would serve the other model's cached champion. The demo keeps its old place.
        cache = "models" if self.bundle == "demo" else f"models-{self.bundle}"
        settings = {
            "SCORING_MODEL_DIR": str(models_var / "models" / self.bundle),
            "SCORING_MODEL_CACHE_DIR": str(state_var / "edge" / cache),
            "SCORING_MODEL_NAME": self.model_name,
            "MODEL_NAME": self.model_name,
        }
        if self.base_data is not None:
            settings["RETRAIN_BASE_DATA"] = str(REPO_ROOT / "data" / self.base_data)
        return settings


EXAMPLE_MODELS = {
    "failure": ExampleModel("demo", "ai4i-failure", "ai4i2020-train.csv"),
    "failure-mode": ExampleModel("failure-mode", "ai4i-failure-mode", "ai4i2020-failure-mode.csv"),
    "tool-life": ExampleModel("tool-life", "tool-life", "tool-life.csv"),
    "surface-defects": ExampleModel("surface-defects", "surface-defects", None),
    "surface-detection": ExampleModel("surface-detection", "surface-detection", None),
}


def example_model(choice: str | None) -> ExampleModel:
    """The example named by ``choice`` (empty or None: the binary demo); ValueError naming the choices."""
    key = (choice or DEFAULT_EXAMPLE).strip()
    if key not in EXAMPLE_MODELS:
        known = ", ".join(EXAMPLE_MODELS)
        raise ValueError(f"{EXAMPLE_MODEL_ENV}={key!r}: must be one of {known}")
    return EXAMPLE_MODELS[key]


def write_powerbi_definition(env: dict[str, str], var: Path) -> None:
    """The feed's dataset definition is the served model's (its task's columns), unless set."""
    from edgeloop.domain.manifest import load_manifest
    from edgeloop.domain.powerbi_dataset import PowerBIDataset

    if "POWERBI_DATASET_DEFINITION" in env:
        return
    path = var / "cloud" / "powerbi-dataset.json"
    definition = PowerBIDataset.for_manifest(load_manifest(Path(env["SCORING_MODEL_DIR"]))).definition()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(definition, indent=2) + "\n", encoding="utf-8")
    env["POWERBI_DATASET_DEFINITION"] = str(path)
