"""A model line's first bundle, trained by its recipe on its base data (``edgeloop train``).

:func:`train_first_bundle` loads the recipe's base data (edgeloop.training.base_data),
splits it as retraining will (so the base held-out rows stay unseen by every champion),
runs the recipe in a child process (edgeloop.training.recipes), completes the manifest
(name, version, created_at, the recipe block), checks that onnxruntime loads the graph
as the manifest describes it and that its outputs on the held-out rows are finite, and
writes the bundle atomically. :func:`template_from_file` reads a manifest template:
``{"name", "task", "recipe", "evaluation"?, "description"?}`` (the demo's:
edgeloop.recipes.ai4i_failure.manifest_template). Needs the ``train`` extra.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edgeloop.adapters.onnx_model import BundleError, OnnxModel
from edgeloop.domain.manifest import ManifestError, ModelManifest
from edgeloop.domain.manifest_validation import validate_recipe_document, validate_task_document
from edgeloop.domain.recipes import RecipeSpec, TrainingDataset, parse_recipe
from edgeloop.domain.records import format_timestamp, utc_now
from edgeloop.domain.retraining_data import complete_manifest_fields
from edgeloop.domain.tasks import Task, parse_task
from edgeloop.domain.validation import validate_rows
from edgeloop.ports import BlobReader, TrainingFailed
from edgeloop.training.base_data import load_base_data
from edgeloop.training.bundle import write_bundle
from edgeloop.training.evaluation import unfit_outputs
from edgeloop.training.recipes import run_recipe
from edgeloop.training.training_set import first_dataset

OnStep = Callable[[str], None]


@dataclass(frozen=True)
class ManifestTemplate:
    name: str
    task: Task  # what the base data's labels are (the recipe's manifest states its own)
    recipe: RecipeSpec
    defaults: Mapping[str, Any]  # evaluation, description: used where the recipe sets none


def parse_template(data: Mapping[str, Any]) -> ManifestTemplate:
    """A template's parts; :class:`ManifestError` names the field at fault."""
    task_data = data.get("task")
    if not isinstance(task_data, Mapping):
        raise ManifestError("task", "missing (an object: kind and its outputs)")
    named = ("risk_output", "value_output", "lower_output", "upper_output")
    outputs = [str(task_data[key]) for key in named if task_data.get(key)]
    outputs += [str(name) for name in task_data.get("probability_outputs") or []]
    recipe = None if data.get("recipe") is None else parse_recipe(validate_recipe_document(data["recipe"]))
    if recipe is None:
        raise ManifestError("recipe", "missing (entry_point and base_data at least)")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ManifestError("name", "missing or empty")
    defaults = {key: data[key] for key in ("evaluation", "description") if key in data}
    return ManifestTemplate(name, parse_task(validate_task_document(task_data), outputs), recipe, defaults)


def template_from_file(path: Path) -> ManifestTemplate:
    try:
        return parse_template(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise ManifestError("manifest template", f"{path}: {exc}") from None


def train_first_bundle(
    recipe: RecipeSpec,
    model_name: str,
    out_dir: Path,
    *,
    task: Task,
    version: str = "1.0.0",
    seed: int = 7,
    base_data_uri: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    reader: BlobReader | None = None,
    on_step: OnStep = lambda step: None,
) -> ModelManifest:
    """Train and write ``out_dir``; :class:`TrainingFailed` (nothing written) if the recipe fails,
    or its graph, manifest or outputs are unfit. ``base_data_uri`` replaces the recipe's uri."""
    if recipe.base_data is None:
        raise TrainingFailed(f"recipe {recipe.entry_point} declares no base_data to train on")
    on_step(f"Loading base data {base_data_uri or recipe.base_data.uri}")
    dataset = first_dataset(
        load_base_data(recipe.base_data, task, reader=reader, uri=base_data_uri), task, seed
    )
    on_step(f"Running recipe {recipe.entry_point} (time limit {recipe.time_limit_seconds:g} s)")
    result = run_recipe(recipe, dataset, on_output=on_step)
    if base_data_uri is not None:  # the bundle's recipe block says where its base data was
        recipe = replace(recipe, base_data=replace(recipe.base_data, uri=base_data_uri))
    fields = complete_manifest_fields(
        result.manifest_fields,
        name=model_name,
        version=version,
        created_at=format_timestamp(utc_now()),
        recipe=recipe.to_dict(),
        training_data={"split_seed": seed},
        defaults=defaults or {},
    )
    files = {str(fields["model_file"]): result.onnx_model}
    on_step("Checking the exported graph on the held-out rows")
    with tempfile.TemporaryDirectory(prefix="edgeloop-first-bundle-") as directory:
        _check(Path(directory) / "bundle", fields, files, dataset)
    on_step(f"Writing bundle to {out_dir}")
    return write_bundle(out_dir, fields, files)


def _check(staging: Path, fields: dict[str, Any], files: dict[str, bytes], dataset: TrainingDataset) -> None:
    try:
        write_bundle(staging, fields, files)
        model = OnnxModel.load(staging)
    except (ManifestError, BundleError) as exc:
        raise TrainingFailed(f"the recipe's bundle is unfit: {exc}") from None
    holdout = dataset.indices("holdout")
    outputs = model.predict(validate_rows(model.manifest, dataset.rows(holdout)))
    problem = unfit_outputs(model.manifest.task, dataset.task, outputs)
    if problem is not None:
        raise TrainingFailed(f"the recipe's model cannot be used: {problem}")
