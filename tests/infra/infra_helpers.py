"""Helpers for the infrastructure tests: rendered kustomizations and the infra tool venv.

Everything here runs offline: ``kubectl kustomize`` needs no cluster, and the linters
(checkov, hadolint) come from ``.venv-infra`` (``make infra-tools``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
K8S = INFRA / "k8s"
KUSTOMIZATIONS = {"base": K8S / "base", "example-site": K8S / "sites" / "example-site"}
INFRA_BIN = REPO_ROOT / ".venv-infra" / "bin"
BICEP = INFRA / "bicep"

Manifest = dict[str, Any]
Parsed = dict[str, Any]


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail("kubectl is not installed: run `make system-tools`")
    return path


def infra_tool(name: str) -> Path:
    path = INFRA_BIN / name
    if not path.exists():
        pytest.fail(f"{path.relative_to(REPO_ROOT)} is missing: run `make infra-tools`")
    return path


def kustomize_build(directory: Path) -> list[Manifest]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def container_env(deployment: Manifest) -> dict[str, dict[str, Any]]:
    """The first container's env, by name (each entry as written: value or valueFrom)."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {entry["name"]: entry for entry in container.get("env", [])}


def parse_bicep() -> dict[str, Parsed]:
    """Every .bicep file under infra/bicep parsed by pycep (in the infra venv), by relative path."""
    result = subprocess.run(
        [str(infra_tool("python")), str(Path(__file__).with_name("bicep_dump.py")), str(BICEP)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"a Bicep file does not parse:\n{result.stderr[-4000:]}"
    parsed: dict[str, Parsed] = json.loads(result.stdout)
    return parsed
