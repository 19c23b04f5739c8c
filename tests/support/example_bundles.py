"""The example models' bundles for tests: ``var/models/<name>`` when valid, else trained now."""

from __future__ import annotations

from pathlib import Path

from edgeloop.adapters.onnx_model import BundleError, OnnxModel
from tools.example_models import REPO_ROOT, build_bundle


def example_bundle(key: str, work_dir: Path) -> Path:
    """``var/models/<key>`` if it loads (``make example-models`` built it), else trained into ``work_dir``."""
    built = REPO_ROOT / "var" / "models" / key
    try:
        OnnxModel.load(built)
    except BundleError:
        build_bundle(key, work_dir / key)
        return work_dir / key
    return built
