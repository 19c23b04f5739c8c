"""Run by ``.venv-infra/bin/python``: parse every .bicep file under a folder with pycep (the
parser checkov uses) and print ``{relative path: parsed JSON}``. A syntax error fails the run.

It lives in the tests because pycep sits in the infra virtualenv, not in the project's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pycep import BicepParser


def main(root: Path) -> None:
    parser = BicepParser(cache=True)  # lark caches the compiled grammar in the temp dir
    paths = sorted(root.rglob("*.bicep"))
    parsed = {path.relative_to(root).as_posix(): parser.parse(file_path=path) for path in paths}
    json.dump(parsed, sys.stdout, default=str)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
