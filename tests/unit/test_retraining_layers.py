"""The use cases know no training code and no AI4I: retraining reaches recipes through a port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_use_cases_import_no_training_code() -> None:
    # Every use case module, so none pulls in the demo's dataset or model (edgeloop.training.*).
    modules = sorted(
        p.stem for p in (REPO_ROOT / "edgeloop" / "service_layer").glob("*.py") if p.stem != "__init__"
    )
    probe = (
        "import sys, importlib\n"
        f"for name in {modules!r}: importlib.import_module('edgeloop.service_layer.' + name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'skl2onnx', 'matplotlib')"
        " or m.startswith('edgeloop.training') or m.startswith('edgeloop.adapters')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_no_use_case_mentions_the_demo_data() -> None:
    for path in (REPO_ROOT / "edgeloop" / "service_layer").glob("*.py"):
        text = path.read_text(encoding="utf-8").lower()
        assert "ai4i" not in text, path.name
        assert "edgeloop.training" not in text, path.name
