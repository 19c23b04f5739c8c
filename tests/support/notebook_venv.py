"""The notebook's virtualenv (``.venv-notebook``): the project plus the ``powerbi-notebook`` extra.

powerbiclient imports pyspark at module load and brings Jupyter widgets, so it
never goes into the dev venv. Built by ``make notebook-tools`` (from
requirements/notebook.lock, the one recipe), reused while the lock and
pyproject.toml are unchanged.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_VENV = REPO_ROOT / ".venv-notebook"
STAMP = NOTEBOOK_VENV / ".installed"
INPUTS = (REPO_ROOT / "pyproject.toml", REPO_ROOT / "requirements" / "notebook.lock")


def notebook_python() -> Path:
    """The venv's interpreter, building or refreshing the venv when its lock or pyproject.toml is newer."""
    python = NOTEBOOK_VENV / "bin" / "python"
    newest_input = max(path.stat().st_mtime for path in INPUTS)
    if STAMP.exists() and python.exists() and STAMP.stat().st_mtime >= newest_input:
        return python
    subprocess.run(
        ["make", "--no-print-directory", "notebook-tools"], check=True, timeout=1800, cwd=REPO_ROOT
    )
    return python
