"""Fixtures of the infrastructure tests (helpers: infra_helpers.py, code_settings.py)."""

from __future__ import annotations

from typing import Any

import pytest
from code_settings import function_app
from infra_helpers import KUSTOMIZATIONS, Manifest, Parsed, kustomize_build, parse_bicep


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    """``kubectl kustomize`` output of the base and of the example site overlay."""
    return {name: kustomize_build(path) for name, path in KUSTOMIZATIONS.items()}


@pytest.fixture(scope="session")
def site(rendered: dict[str, list[Manifest]]) -> list[Manifest]:
    return rendered["example-site"]


@pytest.fixture(scope="session")
def bicep() -> dict[str, Parsed]:
    return parse_bicep()


@pytest.fixture(scope="session")
def edge_functions() -> dict[str, list[dict[str, Any]]]:
    """function_app.py's functions and bindings for EDGELOOP_ROLE=edge."""
    return function_app("edge")


@pytest.fixture(scope="session")
def cloud_functions() -> dict[str, list[dict[str, Any]]]:
    """function_app.py's functions and bindings for EDGELOOP_ROLE=cloud."""
    return function_app("cloud")
