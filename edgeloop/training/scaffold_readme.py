"""The README that ``edgeloop models init`` leaves in a new model's folder: what to edit, what to run."""

from __future__ import annotations

from edgeloop.domain.tasks import TaskKind

TASK_NOTES: dict[TaskKind, str] = {
    "binary": (
        "`task.risk_output` names the output; the recipe chooses `threshold` on the validation rows\n"
        "(best F1), so the template's 0.5 is replaced. `label_names` say what 0 and 1 mean."
    ),
    "multiclass": (
        "One probability output per class, in the order of `task.classes`. Add `alert_classes`\n"
        "(a predicted class among them is an anomaly) and `min_confidence` (a top probability\n"
        "below it is an anomaly) as your site needs."
    ),
    "regression": (
        "`task.value_output` names the output; set `band` (`low`/`high`: outside it is an anomaly)\n"
        "and `unit`."
    ),
}


def readme_text(name: str, kind: TaskKind, entry_point: str, data_uri: str, package: str) -> str:
    return f"""# {name} ({kind})

Made by `edgeloop models init`. The whole walk, from here to a site and around the
retraining loop: docs/byom.md in the Edgeloop repository.

## What to edit

- `{package}/recipe.py`: the training recipe (`{entry_point}`). Change `make_estimator`
  (any scikit-learn estimator skl2onnx converts) and `DEFAULT_PARAMETERS`; keep `train`'s
  signature and what it returns.
- `model.json`: the manifest template.
  - `recipe.base_data`: `uri` (now `{data_uri}`, relative to where you run the commands),
    `columns` (your CSV's column -> feature name), `label` (the column with the outcome).
  - `recipe.parameters`: overrides of `DEFAULT_PARAMETERS` (an unknown name is an error).
  - `task`: {TASK_NOTES[kind]}
  - `evaluation`: the champion gate (primary metric and margin); `description`.

## Train, publish

```bash
export PYTHONPATH=$PWD    # the recipe package must be importable wherever it trains
edgeloop train --manifest-template model.json --out bundle    # --data FILE: other base data
edgeloop models publish --bundle bundle    # needs CloudStorage (the registry's account)
```
"""
