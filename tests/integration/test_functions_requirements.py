"""requirements.txt alone makes the Functions app importable, for each role.

What a remote build does after a zip deploy: a fresh virtualenv, ``pip install
-r requirements.txt`` (every pin hashed, so each download is checked), then the
worker imports ``function_app`` from the unpacked package, not from this checkout.
The install here is uv's ``pip install --require-hashes`` (the project's pinned uv): the
same exact pins and hashes as pip would check, in a minute instead of pip's nine from an
empty cache; the venv is a plain ``python -m venv`` one, with nothing else in it.
Each role's composition modules are imported too: they are imported lazily, on
the first invocation, which is where a missing dependency would otherwise show.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from functions.registry import BLUEPRINTS_BY_ROLE, ROLES
from tools.functions_package import build_package

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
UV = Path(__file__).resolve().parents[2] / ".venv-uv" / "bin" / "uv"  # made by make install

COMPOSITION_MODULES = {
    "edge": ("edgeloop.bootstrap.edge", "edgeloop.adapters.onnx_model"),
    "cloud": (
        "edgeloop.bootstrap.cloud",
        "edgeloop.bootstrap.powerbi",
        "edgeloop.bootstrap.retraining",
        "edgeloop.adapters.local_trainer",
        "global_app.app",
        "functions.asgi",
    ),
}
CHILD = """
import importlib, json, sys
import function_app
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(f.get_function_name() for f in function_app.app.get_functions())))
"""


@pytest.fixture(scope="module")
def app_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wwwroot")
    package = root.parent / "functions.zip"
    build_package(package)
    zipfile.ZipFile(package).extractall(root)
    return root


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory, app_root: Path) -> Path:
    venv = tmp_path_factory.mktemp("remote-build") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
    install = [
        str(UV),
        "pip",
        "install",
        "--quiet",
        "--require-hashes",
        "--python",
        str(venv / "bin" / "python"),
    ]
    subprocess.run([*install, "-r", str(app_root / "requirements.txt")], check=True, timeout=1800)
    return venv / "bin" / "python"


def function_names(python: Path, app_root: Path, role: str) -> list[str]:
    modules = [m for r, names in COMPOSITION_MODULES.items() if role in (r, "all") for m in names]
    env = {"EDGELOOP_ROLE": role, "PATH": "/usr/bin:/bin", "HOME": str(app_root)}
    result = subprocess.run(
        [str(python), "-c", CHILD, *modules],
        cwd=app_root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    names: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return names


def test_the_fresh_venv_holds_only_requirements_txt(fresh_python: Path) -> None:
    """The project is not installed there: the package's source is what the worker imports."""
    shown = subprocess.run([str(fresh_python), "-m", "pip", "show", "edgeloop"], capture_output=True)
    assert shown.returncode != 0


@pytest.mark.parametrize("role", ROLES)
def test_function_app_imports_for_each_role(fresh_python: Path, app_root: Path, role: str) -> None:
    names = function_names(fresh_python, app_root, role)
    assert names, f"role {role} registers no function"
    if role == "all":
        assert len(names) == len(set(names))
        assert set(names) == set(function_names(fresh_python, app_root, "edge")) | set(
            function_names(fresh_python, app_root, "cloud")
        )


def test_the_roles_register_their_own_blueprints_only(fresh_python: Path, app_root: Path) -> None:
    edge = set(function_names(fresh_python, app_root, "edge"))
    cloud = set(function_names(fresh_python, app_root, "cloud"))
    assert edge
    assert cloud
    assert not edge & cloud
    assert len(BLUEPRINTS_BY_ROLE) == 2
