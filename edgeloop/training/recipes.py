"""Running a training recipe (the data scientists' own code) in a child process, within its time limit.

The recipe's entry point ``package.module:function`` is imported and called as
``function(dataset, parameters)`` in a fresh Python process (edgeloop.training.recipe_child),
so a recipe that crashes, leaks memory or hangs cannot take the retraining worker with
it. The child gets the parent's import path (a recipe importable here is importable
there), the dataset and parameters through a pickle in a private temporary folder, and
returns the ONNX bytes and the manifest fields (which must be JSON) as files. What the
recipe prints goes, line by line, to ``on_output`` (progress) and to the failure's detail.

The time limit is the recipe's ``time_limit_seconds`` (default
:data:`~edgeloop.domain.recipes.DEFAULT_TIME_LIMIT_SECONDS`, 30 minutes), counted from
the child's start (its imports included); past it the child's process group is killed.
Whatever goes wrong raises :class:`~edgeloop.ports.TrainingFailed` with the reason
and, where there is one, the tail of the recipe's traceback or output.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edgeloop.domain.recipes import RecipeResult, RecipeSpec, TrainingDataset
from edgeloop.ports import TrainingFailed
from edgeloop.training.input_profile import with_drift_profile

CHILD_MODULE = "edgeloop.training.recipe_child"
JOB_FILE = "job.pickle"
ERROR_FILE = "error.json"
MODEL_FILE = "model.onnx"
FIELDS_FILE = "manifest_fields.json"
OUTPUT_FILE = "output.log"
TAIL_CHARACTERS = 2000


def run_recipe(
    recipe: RecipeSpec,
    dataset: TrainingDataset,
    parameters: Mapping[str, Any] | None = None,
    time_limit_seconds: float | None = None,
    on_output: Callable[[str], None] = lambda line: None,
) -> RecipeResult:
    """The recipe's result; :class:`TrainingFailed` if it raised, timed out, died or returned junk."""
    limit = recipe.time_limit_seconds if time_limit_seconds is None else time_limit_seconds
    with tempfile.TemporaryDirectory(prefix="edgeloop-recipe-") as directory:
        work = Path(directory)
        job = {
            "entry_point": recipe.entry_point,
            "parameters": dict(recipe.parameters if parameters is None else parameters),
            "dataset": dataset,
            "sys_path": [entry for entry in sys.path if entry],
            "parent_pid": os.getpid(),
        }
        (work / JOB_FILE).write_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        returncode = _run_child(work, recipe.entry_point, limit, on_output)
        if returncode != 0:
            raise _failure(work, recipe.entry_point, returncode)
        try:
            fields = json.loads((work / FIELDS_FILE).read_text(encoding="utf-8"))
            model = (work / MODEL_FILE).read_bytes()
        except (OSError, ValueError) as exc:
            raise TrainingFailed(f"recipe {recipe.entry_point} left no result: {exc}") from None
    # The training profile drift is measured against (edgeloop.training.input_profile).
    return RecipeResult(model, with_drift_profile(fields, dataset) if isinstance(fields, dict) else fields)


def _run_child(work: Path, entry_point: str, limit: float, on_output: Callable[[str], None]) -> int:
    # A session of its own: on a timeout the whole group goes, grandchildren included.
    child = subprocess.Popen(
        [sys.executable, "-m", CHILD_MODULE, str(work)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    relay = threading.Thread(target=_relay, args=(child, work / OUTPUT_FILE, on_output), daemon=True)
    relay.start()
    try:
        returncode = child.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        relay.join()
        raise TrainingFailed(
            f"recipe {entry_point} ran past its time limit of {limit:g} s and was stopped",
            _tail(work / OUTPUT_FILE),
        ) from None
    relay.join()
    return returncode


def _relay(child: subprocess.Popen[bytes], log: Path, on_output: Callable[[str], None]) -> None:
    """The child's output into ``log`` and, line by line, to ``on_output``, until it closes."""
    assert child.stdout is not None
    with log.open("wb") as out:
        for line in child.stdout:
            out.write(line)
            out.flush()
            on_output(line.decode("utf-8", errors="replace").rstrip())


def _failure(work: Path, entry_point: str, returncode: int) -> TrainingFailed:
    try:
        error = json.loads((work / ERROR_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return TrainingFailed(
            f"recipe {entry_point} ended with exit code {returncode} and no result", _tail(work / OUTPUT_FILE)
        )
    return TrainingFailed(f"recipe {entry_point} failed: {error['error']}", str(error.get("traceback", "")))


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text[-TAIL_CHARACTERS:]
