"""The notebook's virtualenv (``.venv-notebook``): the project plus the ``powerbi-notebook`` extra.

powerbiclient imports pyspark at module load and brings Jupyter widgets, so it
never goes into the dev venv. Built once (about 4 minutes from an empty pip
cache), reused while pyproject.toml is unchanged; ``make notebook-tools`` runs
the same commands.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_VENV = REPO_ROOT / ".venv-notebook"
STAMP = NOTEBOOK_VENV / ".installed"


def notebook_python() -> Path:
    """The venv's interpreter, building or refreshing the venv when pyproject.toml is newer."""
    python = NOTEBOOK_VENV / "bin" / "python"
    pyproject = REPO_ROOT / "pyproject.toml"
    if STAMP.exists() and python.exists() and STAMP.stat().st_mtime >= pyproject.stat().st_mtime:
        return python
    base = os.environ.get("PYTHON") or sys.executable
    subprocess.run([base, "-m", "venv", str(NOTEBOOK_VENV)], check=True, timeout=300)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-e", f"{REPO_ROOT}[powerbi-notebook]"],
        check=True,
        timeout=1800,
        cwd=REPO_ROOT,
    )
    STAMP.touch()
    return python
