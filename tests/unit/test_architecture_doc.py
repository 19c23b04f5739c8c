"""docs/ARCHITECTURE.md names only paths that exist.

Every backquoted path in it (with a ``/`` or a file suffix) must be a file or folder of the
repository. The doc writes paths relative to what it is talking about (``domain/tasks.py``
under ``edgeloop/``, ``routes/api.py`` under ``scoring_app/``), so a path resolves when some
repository path ends with it; ``module.Name`` stands for ``module.py``.
"""

from __future__ import annotations

import os
import re
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "ARCHITECTURE.md"
FILE_SUFFIXES = (".py", ".json", ".md", ".html", ".css", ".js", ".mjs", ".toml", ".yaml", ".bicep")
SKIPPED_FOLDERS = {"node_modules", "var", "__pycache__"}
# Paths the doc names that are not the repository's, each with its reason.
NOT_REPOSITORY_PATHS = {
    "lake/insights": "a Delta table in the cloud storage account",
    "lake/feedback": "a Delta table in the cloud storage account",
}


@cache
def repository_paths() -> tuple[str, ...]:
    """Every file and folder (folders with a trailing ``/``), relative to the root, dot-folders left out."""
    found: list[str] = []
    for folder, folders, files in os.walk(REPO_ROOT):
        folders[:] = [name for name in folders if not name.startswith(".") and name not in SKIPPED_FOLDERS]
        here = Path(folder).relative_to(REPO_ROOT).as_posix()
        prefix = "" if here == "." else here + "/"
        found += [prefix + name + "/" for name in folders] + [prefix + name for name in files]
    return tuple(found)


def named_paths(text: str) -> list[str]:
    """The backquoted tokens that are paths (a URL or a dotted name without a folder is not)."""
    tokens = re.findall(r"`([^`\s]+)`", text)
    return [t for t in tokens if "://" not in t and ("/" in t or t.endswith(FILE_SUFFIXES))]


def as_file(path: str) -> str:
    """``a/module.Name`` -> ``a/module.py``; anything else as it is."""
    folder, _, last = path.rpartition("/")
    if path.endswith("/") or last.endswith(FILE_SUFFIXES) or "." not in last:
        return path
    module = last.split(".")[0] + ".py"
    return f"{folder}/{module}" if folder else module


def resolves(path: str) -> bool:
    wanted = as_file(path)
    return any(fnmatch(known, wanted) or fnmatch(known, "*/" + wanted) for known in repository_paths())


def test_every_path_the_architecture_doc_names_exists() -> None:
    named = [
        path for path in named_paths(DOC.read_text(encoding="utf-8")) if path not in NOT_REPOSITORY_PATHS
    ]
    assert len(named) > 50  # the doc is mostly paths: finding few means the pattern broke
    missing = sorted({path for path in named if not resolves(path)})
    assert not missing, f"docs/ARCHITECTURE.md names paths that do not exist: {missing}"


def test_the_check_tells_a_real_path_from_a_made_up_one() -> None:
    assert resolves("domain/tasks.py")
    assert resolves("edgeloop/domain/compliance*.py")
    assert resolves("edgeloop/training/challenger_trainer.Ai4iChallengerTrainer")
    assert resolves("scoring_app/routes/")
    assert not resolves("domain/task.py")
    assert not resolves("edgeloop/domain/tasks.py/")
    assert not resolves("training/tasks.py")
    assert named_paths("`blob://c/p` `x.y` `make schema` `a/b.py`") == ["a/b.py"]
