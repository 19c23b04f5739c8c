"""Integration fixtures: real model bundles (trained demo, synthetic second model) and the edge host."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.bundles import build_defect_bundle, demo_bundle
from support.edge_host import EdgeHost
from support.example_bundles import example_bundle

from localdev.azurite import Azurite


@pytest.fixture(scope="session")
def demo_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained AI4I bundle (``var/models/demo`` when valid, else trained once for the session)."""
    return demo_bundle(tmp_path_factory.mktemp("demo-bundle"))


@pytest.fixture(scope="session")
def defect_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bring-your-own-model bundle: different features, outputs and ONNX layout."""
    return build_defect_bundle(tmp_path_factory.mktemp("defect-bundle") / "press-defect")


@pytest.fixture(scope="session")
def failure_mode_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The multiclass example: the AI4I failure mode (edgeloop/recipes/ai4i_failure_mode.py)."""
    return example_bundle("failure-mode", tmp_path_factory.mktemp("failure-mode-bundle"))


@pytest.fixture(scope="session")
def tool_life_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The regression example: tool life from the cutting conditions (edgeloop/recipes/tool_life.py)."""
    return example_bundle("tool-life", tmp_path_factory.mktemp("tool-life-bundle"))


@pytest.fixture
def edge_host(azurite: Azurite, tmp_path: Path) -> EdgeHost:
    """The root function app's edge role under the local Functions host (see support.edge_host)."""
    return EdgeHost(azurite, tmp_path)
