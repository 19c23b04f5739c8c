"""The retraining use case knows no training code: it reaches the demo model through a port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_retraining_use_case_imports_no_training_code() -> None:
    probe = (
        "import sys, edgeloop.service_layer.retraining\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'skl2onnx', 'matplotlib')"
        " or m.startswith('edgeloop.training') or m.startswith('edgeloop.adapters')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
