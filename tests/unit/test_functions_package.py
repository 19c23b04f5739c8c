"""The package a Functions zip deploy uploads (tools/functions_package.py, .funcignore).

Built from this checkout, which holds .venv, node_modules and var/ after `make`:
the package must carry the app and nothing of those, and stay small.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tools.functions_package import IgnoreRule, build_package, ignored, package_files

# The app: the entry point, the host's settings, what the remote build installs, the code it imports
# and the data files it opens by relative path.
REQUIRED = (
    "function_app.py",
    "host.json",
    "requirements.txt",
    "edgeloop/__init__.py",
    "functions/registry.py",
    "global_app/app.py",
    "policies/compliance.yaml",
    "powerbi/dataset.json",
    "data/ai4i2020-train.csv",
)
NEVER = (
    "tests/", ".venv", "node_modules/", "var/", ".git", "bench/", "infra/", "localdev/", "docs/", "tools/",
    "requirements/",
)  # fmt: skip
MAX_PACKAGE_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package") / "functions.zip"
    build_package(out)
    return out


def test_the_package_holds_the_app(package: Path) -> None:
    names = set(zipfile.ZipFile(package).namelist())
    assert set(REQUIRED) <= names, set(REQUIRED) - names
    assert any(name.startswith("functions/") and name.endswith("edge.py") for name in names)


def test_the_package_holds_no_tests_virtualenvs_state_or_tools(package: Path) -> None:
    names = zipfile.ZipFile(package).namelist()
    leaked = [name for name in names if name.startswith(NEVER)]
    assert not leaked, leaked
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in names if name.rsplit("/", 1)[-1].startswith("local.settings")]


def test_the_package_is_small(package: Path) -> None:
    assert package.stat().st_size < MAX_PACKAGE_BYTES, f"{package.stat().st_size} bytes"


def test_an_ignored_directory_is_not_entered(tmp_path: Path) -> None:
    (tmp_path / ".funcignore").write_text("# comment\nbuild/\n*.log\n/top.txt\n!keep.log\n")
    for name in ("build/a.py", "src/build/b.py", "src/app.py", "x.log", "keep.log", "top.txt", "src/top.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert package_files(tmp_path) == [".funcignore", "keep.log", "src/app.py", "src/top.txt"]


def test_a_directory_rule_does_not_match_a_file() -> None:
    rules = [rule for rule in (IgnoreRule.parse("var/"),) if rule]
    assert ignored("var", True, rules)
    assert not ignored("var", False, rules)
