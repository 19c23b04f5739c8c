"""Python 3.12 from the same lock: requirements/dev.lock (universal) installs there and the unit tests pass
(all but the few that cannot depend on the interpreter: INTERPRETER_INDEPENDENT).

Needs a Python 3.12 interpreter: ``PYTHON312`` if set, else ``python3.12`` on PATH,
else one that pyenv holds; skipped (saying so) on a machine with none. The
virtualenv is built with the Makefile's own recipe (``make VENV=... PYTHON=...``).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tools.locks import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
# Left out on 3.12: the benchmarks' harness tests (a minute of servers and load, the same code paths
# as the scoring tests kept) and checks that read the source as text, which no interpreter changes.
INTERPRETER_INDEPENDENT = (
    "tests/unit/test_bench_*.py",
    "tests/unit/test_code_shape.py",
    "tests/unit/test_architecture_doc.py",
    "tests/unit/test_byom_doc.py",
    "tests/unit/test_test_names.py",
)


def runs_python312(candidate: str) -> bool:
    try:
        result = subprocess.run([candidate, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.startswith("Python 3.12")


def python312() -> str | None:
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [os.environ.get("PYTHON312", ""), shutil.which("python3.12") or ""]
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/3.12*/bin/python3.12"), reverse=True)
    return next((c for c in candidates if c and runs_python312(c)), None)


def test_the_unit_tests_pass_on_python_312_from_the_lock(tmp_path: Path) -> None:
    interpreter = python312()
    if interpreter is None:
        pytest.skip("no Python 3.12 interpreter on this machine (set PYTHON312)")
    venv = tmp_path / "venv-py312"
    make = ["make", "--no-print-directory", f"VENV={venv}", f"PYTHON={interpreter}", f"{venv}/.installed"]
    subprocess.run(make, cwd=REPO_ROOT, check=True, timeout=1500)
    version = subprocess.run([f"{venv}/bin/python", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("Python 3.12")
    tests = [f"{venv}/bin/python", "-m", "pytest", "-p", "no:cacheprovider", "-q", "-x", "tests/unit"]
    tests += [f"--ignore-glob={pattern}" for pattern in INTERPRETER_INDEPENDENT]
    # An xdist worker's variables would tell the inner pytest it is one of our workers.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
    result = subprocess.run(
        tests, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
