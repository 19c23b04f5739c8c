"""docs/ARCHITECTURE.md names only paths that exist; docs/CONTRACTS.md only modules and names that exist.

Every backquoted path in it (with a ``/`` or a file suffix) must be a file or folder of the
repository. The doc writes paths relative to what it is talking about (``domain/tasks.py``
under ``edgeloop/``, ``routes/api.py`` under ``scoring_app/``), so a path resolves when some
repository path ends with it; ``module.Name`` stands for ``module.py``.
"""

from __future__ import annotations

import ast
import os
import re
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "ARCHITECTURE.md"
CONTRACTS = REPO_ROOT / "docs" / "CONTRACTS.md"
PACKAGES = ("edgeloop", "scoring_app", "global_app", "functions", "localdev", "tools", "bench")
# A dotted name of ours, not inside a quoted string ("edgeloop.pack" is a format name, not a module).
DOTTED = re.compile(rf"""(?<![\w."/])((?:{"|".join(PACKAGES)})(?:\.[A-Za-z_]\w*)+)""")
# A bare path of ours (CONTRACTS.md names some outside backquotes).
BARE_PATH = re.compile(rf"""(?<![\w./])((?:{"|".join(PACKAGES)})/[\w/*]+\.py)\b""")
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
    assert resolves("edgeloop/training/challenger_trainer.RecipeChallengerTrainer")
    assert resolves("scoring_app/routes/")
    assert not resolves("domain/task.py")
    assert not resolves("edgeloop/domain/tasks.py/")
    assert not resolves("training/tasks.py")
    assert named_paths("`blob://c/p` `x.y` `make schema` `a/b.py`") == ["a/b.py"]


def top_level_names(module: Path) -> set[str]:
    """What ``module`` defines or imports at its top level (or in an ``if TYPE_CHECKING`` there)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def dotted_resolves(dotted: str) -> bool:
    """``a.b.c``: the longest prefix that is a module or package, then (if any is left) a name in it."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        base = REPO_ROOT.joinpath(*parts[:end])
        module = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if module.is_file():
            rest = parts[end:]
            return not rest or rest[0] in top_level_names(module) or (base / f"{rest[0]}.py").is_file()
    return False


def test_every_module_and_path_the_contracts_doc_names_exists() -> None:
    text = CONTRACTS.read_text(encoding="utf-8")
    dotted = set(DOTTED.findall(text))
    # Of the paths, those in our packages (the rest are blob names, routes and files of a bundle).
    paths = {path for path in named_paths(text) if path.split("/")[0] in PACKAGES}
    paths |= set(BARE_PATH.findall(text))
    assert len(dotted) > 10  # finding few means a pattern broke
    assert len(paths) > 10
    missing = sorted({name for name in dotted if not dotted_resolves(name)})
    missing += sorted({path for path in paths if not resolves(path)})
    assert not missing, f"docs/CONTRACTS.md names modules or paths that do not exist: {missing}"


def test_the_contracts_check_tells_a_real_name_from_a_made_up_one() -> None:
    assert dotted_resolves("edgeloop.wire.servicebus_envelope.encode_envelope")
    assert dotted_resolves("edgeloop.bootstrap.first_bundle")
    assert not dotted_resolves("localdev.functions_host.messages.encode_envelope")
    assert not dotted_resolves("edgeloop.bootstrap_scoring")
    assert DOTTED.findall('`edgeloop.cli` `{"format":"edgeloop.pack"}` b"edgeloop.golden"') == [
        "edgeloop.cli"
    ]
    assert BARE_PATH.findall("(in edgeloop/ports.py, and `x`)") == ["edgeloop/ports.py"]
    assert not resolves("edgeloop/ports.py")
