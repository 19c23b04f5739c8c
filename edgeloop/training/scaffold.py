"""A new model line's starting point (``edgeloop models init``): a recipe and a manifest template.

:func:`write_scaffold` fills a folder that is absent or empty with

- ``<package>/recipe.py`` (and ``__init__.py``): a copy of the task's starter recipe
  (edgeloop/recipes/starter_<kind>.py, scikit-learn + skl2onnx), entry point
  ``<package>.recipe:train``, where ``<package>`` is the model's name with ``_`` for ``-``;
- ``model.json``: the manifest template ``edgeloop train --manifest-template`` reads (name,
  task, recipe with its base data's columns and label, evaluation, description), checked
  by the manifest's own parsers before anything is written;
- ``README.md``: what to edit, and the commands from there to a site (docs/byom.md).

A bad option raises :class:`ScaffoldError` naming it; nothing is written then.
"""

from __future__ import annotations

import importlib.util
import json
import keyword
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from edgeloop.domain.document_types import IDENTIFIER_PATTERN
from edgeloop.domain.manifest_specs import RESERVED_FIELD_NAMES
from edgeloop.domain.manifest_validation import validate_recipe_document, validate_task_document
from edgeloop.domain.metrics import DEFAULT_EVALUATION
from edgeloop.domain.recipes import parse_recipe
from edgeloop.domain.tasks import TaskKind, parse_task
from edgeloop.recipes.recipe_parts import TIME_LIMIT_SECONDS
from edgeloop.training.scaffold_readme import readme_text

MODEL_NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]{1,62}")  # a registry folder, a setting, a cache name
TEMPLATE_FILE = "model.json"
RECIPE_MODULE = "recipe"
RISK_OUTPUT = "risk"
VALUE_OUTPUT = "prediction"


class ScaffoldError(ValueError):
    """A bad ``models init`` option; ``option`` names it (``--features``)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


@dataclass(frozen=True)
class ScaffoldSpec:
    name: str
    kind: TaskKind
    features: tuple[str, ...]
    label: str
    classes: tuple[str, ...] = ()

    @property
    def package(self) -> str:
        return self.name.replace("-", "_")

    @property
    def entry_point(self) -> str:
        return f"{self.package}.{RECIPE_MODULE}:train"

    @property
    def data_uri(self) -> str:
        return f"data/{self.name}.csv"


def check_spec(spec: ScaffoldSpec) -> None:
    """Each option's rules; :class:`ScaffoldError` names the first one broken."""
    if not MODEL_NAME_PATTERN.fullmatch(spec.name):
        raise ScaffoldError("NAME", f"{spec.name!r}: lowercase letters, digits and -, a letter first (2-63)")
    if keyword.iskeyword(spec.package) or importlib.util.find_spec(spec.package) is not None:
        raise ScaffoldError("NAME", f"{spec.name!r}: its package {spec.package!r} would shadow a module")
    if not spec.features:
        raise ScaffoldError("--features", "name at least one feature")
    for feature in spec.features:
        if not re.fullmatch(IDENTIFIER_PATTERN, feature):
            raise ScaffoldError("--features", f"{feature!r} must be an identifier (letters, digits, _)")
        if feature in RESERVED_FIELD_NAMES:
            raise ScaffoldError("--features", f"{feature!r} is reserved for on-site context")
    if len(set(spec.features)) != len(spec.features):
        raise ScaffoldError("--features", "a feature is named twice")
    if not spec.label.strip() or spec.label in spec.features:
        raise ScaffoldError("--label", f"{spec.label!r} must be a column of its own, not a feature")
    _check_classes(spec)


def _check_classes(spec: ScaffoldSpec) -> None:
    if spec.kind == "regression" and spec.classes:
        raise ScaffoldError("--classes", "a regression model has no classes")
    if spec.kind == "binary" and spec.classes and len(spec.classes) != 2:
        raise ScaffoldError("--classes", "a binary model names two outcomes (what 0 and 1 mean), or none")
    if spec.kind == "multiclass" and len(spec.classes) < 2:
        raise ScaffoldError("--classes", "a multiclass model needs at least two classes")
    if any(not name.strip() for name in spec.classes) or len(set(spec.classes)) != len(spec.classes):
        raise ScaffoldError("--classes", "class names must be non-empty and different")


def probability_outputs(classes: tuple[str, ...]) -> list[str]:
    """One output name per class: ``p_<class>`` made an identifier, numbered where that is ambiguous."""
    names = [re.sub(r"\W", "_", name.lower()).strip("_")[:60] for name in classes]
    if len(set(names)) != len(names) or not all(names):
        return [f"p_{index}" for index in range(len(classes))]
    return [f"p_{name}" for name in names]


def task_document(spec: ScaffoldSpec) -> dict[str, Any]:
    if spec.kind == "binary":
        task: dict[str, Any] = {"kind": "binary", "risk_output": RISK_OUTPUT, "threshold": 0.5}
        if spec.classes:
            task["label_names"] = list(spec.classes)
        return task
    if spec.kind == "multiclass":
        outputs = probability_outputs(spec.classes)
        return {"kind": "multiclass", "classes": list(spec.classes), "probability_outputs": outputs}
    return {
        "kind": "regression",
        "value_output": VALUE_OUTPUT,
        "band": {"low": None, "high": None},
        "unit": "",
    }


def template_document(spec: ScaffoldSpec) -> dict[str, Any]:
    """``model.json``: checked by the manifest's parsers (a fault here is a bug, not the user's)."""
    check_spec(spec)
    task = task_document(spec)
    document = {
        "name": spec.name,
        "description": f"{spec.name}: a {spec.kind} model (describe what it predicts, for the operators)",
        "task": task,
        "evaluation": DEFAULT_EVALUATION[spec.kind].to_dict(),
        "recipe": {
            "entry_point": spec.entry_point,
            "parameters": {},
            "requirements": [],
            "time_limit_seconds": TIME_LIMIT_SECONDS,
            "base_data": {
                "uri": spec.data_uri,
                "format": "csv",
                "columns": {feature: feature for feature in spec.features},
                "label": spec.label,
                "time": None,
            },
        },
    }
    parse_task(validate_task_document(task), _task_outputs(task))
    parse_recipe(validate_recipe_document(document["recipe"]))
    return document


def _task_outputs(task: dict[str, Any]) -> list[str]:
    named = [task[key] for key in ("risk_output", "value_output") if key in task]
    return [*named, *task.get("probability_outputs", [])]


def write_scaffold(spec: ScaffoldSpec, out_dir: Path) -> list[Path]:
    """Write the folder (absent or empty, else :class:`ScaffoldError` on ``--out``); the files written."""
    document = template_document(spec)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ScaffoldError("--out", f"{out_dir} exists and is not an empty folder; choose a new one")
    starter = resources.files("edgeloop.recipes").joinpath(f"starter_{spec.kind}.py").read_text("utf-8")
    files = {
        Path(spec.package) / "__init__.py": f'"""The training code of the model {spec.name}."""\n',
        Path(spec.package) / f"{RECIPE_MODULE}.py": starter,
        Path(TEMPLATE_FILE): json.dumps(document, indent=2) + "\n",
        Path("README.md"): readme_text(spec.name, spec.kind, spec.entry_point, spec.data_uri, spec.package),
    }
    written = []
    for relative, text in files.items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
