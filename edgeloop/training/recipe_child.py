"""The child process of edgeloop.training.recipes: import the recipe, call it, leave its result as files.

``python -m edgeloop.training.recipe_child WORKDIR``: reads ``WORKDIR/job.pickle`` (written
by the parent, in a private temporary folder), writes ``model.onnx`` and
``manifest_fields.json``, or ``error.json`` (the error and the traceback's tail) and
exits 1. Everything the recipe does happens here, never in the retraining worker.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edgeloop.training.recipes import ERROR_FILE, FIELDS_FILE, JOB_FILE, MODEL_FILE, TAIL_CHARACTERS

PR_SET_PDEATHSIG = 1  # prctl(2)


class RecipeContractError(TypeError):
    """The recipe returned something other than a RecipeResult with bytes and JSON fields."""


def _call(job: dict[str, Any]) -> tuple[bytes, str]:
    module_name, _, function_name = str(job["entry_point"]).partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(job["dataset"], job["parameters"])
    model = getattr(result, "onnx_model", None)
    fields = getattr(result, "manifest_fields", None)
    if not isinstance(model, bytes) or not isinstance(fields, Mapping):
        raise RecipeContractError(
            f"returned {type(result).__name__}, "
            "not a RecipeResult(onnx_model: bytes, manifest_fields: mapping)"
        )
    try:
        text = json.dumps(dict(fields))
    except (TypeError, ValueError) as exc:
        raise RecipeContractError(f"manifest_fields are not JSON: {exc}") from None
    return model, text


def _die_with_parent(parent_pid: int) -> None:
    """Linux: end this process when the worker that started it dies (no orphaned training)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # it died before the line above ran
        os._exit(1)


def main(work: Path) -> int:
    job = pickle.loads((work / JOB_FILE).read_bytes())
    _die_with_parent(int(job["parent_pid"]))
    # The parent's import path, so a recipe importable there is importable here.
    sys.path[:0] = [entry for entry in job["sys_path"] if entry not in sys.path]
    try:
        model, fields = _call(job)
    except BaseException as exc:  # noqa: BLE001 - whatever the recipe raised goes to the run report
        error = {
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc()[-TAIL_CHARACTERS:],
        }
        (work / ERROR_FILE).write_text(json.dumps(error), encoding="utf-8")
        return 1
    (work / MODEL_FILE).write_bytes(model)
    (work / FIELDS_FILE).write_text(fields, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
