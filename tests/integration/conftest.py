"""Integration fixtures: real model bundles (trained demo, synthetic second model) and the edge host."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.bundles import build_defect_bundle, demo_bundle
from support.edge_host import EdgeHost

from localdev.azurite import Azurite


@pytest.fixture(scope="session")
def demo_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained AI4I bundle (``var/models/demo`` when valid, else trained once for the session)."""
    return demo_bundle(tmp_path_factory.mktemp("demo-bundle"))


@pytest.fixture(scope="session")
def defect_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bring-your-own-model bundle: different features, outputs and ONNX layout."""
    return build_defect_bundle(tmp_path_factory.mktemp("defect-bundle") / "press-defect")


@pytest.fixture
def edge_host(azurite: Azurite, tmp_path: Path) -> EdgeHost:
    """The root function app's edge role under the local Functions host (see support.edge_host)."""
    return EdgeHost(azurite, tmp_path)
