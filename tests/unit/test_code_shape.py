"""The code's shape, read from the source: sizes and the direction of imports.

Sizes: no module over 300 lines, no function over 60 (the project's rules), except the
entries of ``ALLOWED_OVERSIZE``, each with its reason; an entry that no longer offends fails
too, so the list cannot go stale. Imports run down the layers only (``FORBIDDEN_IMPORTS``):
the domain imports no wire format, use case, adapter, settings, sqlite3, onnxruntime, web or
Azure library; the use cases no adapter, settings, sqlite3, onnxruntime, web or Azure library; nothing
deployable imports the development tools in ``localdev/``. Imports inside functions and under
``TYPE_CHECKING`` count: they run back up all the same.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("edgeloop", "localdev", "scoring_app", "global_app", "functions", "bench")
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60

# "path" for a module, "path:qualified.name" for a function, each with its reason.
ALLOWED_OVERSIZE: dict[str, str] = {}

WEB = ("fastapi", "starlette", "uvicorn", "jinja2", "httpx", "scoring_app", "global_app", "functions")
AZURE = ("azure", "msal")
TRACING = ("opentelemetry",)  # the core sees the Tracer port only (edgeloop/observability/tracing.py)
# What only adapters and composition roots may import.
OUTWARD = (
    "edgeloop.adapters",
    "edgeloop.bootstrap",
    "edgeloop.cli",
    "edgeloop.config",
    "sqlite3",
    "onnxruntime",
    *WEB,
    *AZURE,
    *TRACING,
)
PORTS_FORBIDDEN = ("edgeloop.service_layer", "edgeloop.training", *OUTWARD)
FORBIDDEN_IMPORTS: dict[str, tuple[str, ...]] = {
    "edgeloop/domain": ("edgeloop.wire", *PORTS_FORBIDDEN),
    "edgeloop/ports": PORTS_FORBIDDEN,
    "edgeloop/service_layer": OUTWARD,
    "edgeloop/wire": TRACING,
    "edgeloop/observability/tracing.py": TRACING,
    "edgeloop": ("localdev",),
    "scoring_app": ("localdev",),
    "global_app": ("localdev",),
    "functions": ("localdev",),
    "function_app.py": ("localdev",),
}


def python_files(package: str) -> list[Path]:
    root = REPO_ROOT / package
    return [root] if root.is_file() else sorted(root.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


@cache
def parsed(path: Path) -> tuple[int, ast.Module]:
    text = path.read_text(encoding="utf-8")
    return len(text.splitlines()), ast.parse(text, filename=str(path))


def functions(
    tree: ast.AST, prefix: str = ""
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method with its qualified name (``Class.method``, ``outer.inner``)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node
            yield from functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from functions(node, f"{prefix}{node.name}.")
        else:
            yield from functions(node, prefix)


def oversize() -> dict[str, str]:
    """Every module and function over its bound: key (as in ALLOWED_OVERSIZE) -> what it measures."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in python_files(package):
            lines, tree = parsed(path)
            name = relative(path)
            if lines > MAX_MODULE_LINES:
                found[name] = f"module of {lines} lines (at most {MAX_MODULE_LINES})"
            for qualified, node in functions(tree):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found[f"{name}:{qualified}"] = (
                        f"function of {length} lines (at most {MAX_FUNCTION_LINES})"
                    )
    return found


def imported_modules(tree: ast.AST, package: str) -> Iterator[tuple[int, str]]:
    """``(line, dotted module)`` for every import under ``tree``, relative ones resolved against
    ``package``; for ``from a import b`` both ``a`` and ``a.b`` (``b`` may be a module)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    package = ".".join(relative(path).removesuffix(".py").split("/")[:-1])
    return imported_modules(parsed(path)[1], package)


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_code_walk_sees_every_package() -> None:
    for package in PACKAGES:
        assert python_files(package), f"{package}: no Python files found"
    names = {qualified for qualified, _ in functions(parsed(REPO_ROOT / "edgeloop/domain/manifest.py")[1])}
    assert {"load_manifest", "ModelManifest.from_dict", "_parse_manifest"} <= names


def test_modules_and_functions_stay_within_their_bounds() -> None:
    offenders = {key: what for key, what in oversize().items() if key not in ALLOWED_OVERSIZE}
    assert not offenders, (
        "over the bound (split it, or name it with a reason in ALLOWED_OVERSIZE):\n"
        + "\n".join(f"  {key}: {what}" for key, what in sorted(offenders.items()))
    )


def test_every_allowed_oversize_entry_still_offends() -> None:
    found = oversize()
    stale = sorted(key for key in ALLOWED_OVERSIZE if key not in found)
    assert not stale, "within the bound now, remove from ALLOWED_OVERSIZE:\n" + "\n".join(
        f"  {key}" for key in stale
    )


@pytest.mark.parametrize("layer", sorted(FORBIDDEN_IMPORTS))
def test_imports_run_down_the_layers(layer: str) -> None:
    forbidden = FORBIDDEN_IMPORTS[layer]
    offenders: dict[str, str] = {}  # "path:line" -> the most specific module imported there
    for path in python_files(layer):
        for line, module in imports_of(path):
            if any(within(module, prefix) for prefix in forbidden):
                where = f"{relative(path)}:{line}"
                offenders[where] = max(offenders.get(where, ""), module, key=len)
    assert not offenders, f"{layer} must not import {', '.join(forbidden)}:\n" + "\n".join(
        f"  {where} imports {module}" for where, module in offenders.items()
    )


def test_the_import_check_resolves_relative_and_from_imports() -> None:
    tree = ast.parse("from ..adapters import onnx_model\nfrom . import records\nfrom edgeloop import wire\n")
    found = {module for _, module in imported_modules(tree, "edgeloop.domain")}
    assert {"edgeloop.adapters", "edgeloop.adapters.onnx_model", "edgeloop.domain.records"} <= found
    assert "edgeloop.wire" in found
    assert within("edgeloop.adapters.onnx_model", "edgeloop.adapters")
    assert not within("edgeloop.adapters_extra", "edgeloop.adapters")


def test_the_development_tools_are_not_packaged() -> None:
    """``localdev`` runs from the repository root (``python -m localdev...``), never from an install."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packaged = [
        name for name in ("localdev", "localdev.functions_host") if any(fnmatch(name, p) for p in include)
    ]
    assert not packaged, f"pyproject.toml packages {packaged} (include = {include})"
    assert any(fnmatch("edgeloop.service_layer", pattern) for pattern in include)
