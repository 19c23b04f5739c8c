"""Print one optional-dependency group of pyproject.toml, for a virtualenv of its own."""

import sys
import tomllib
from pathlib import Path

pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
print(" ".join(pyproject["project"]["optional-dependencies"][sys.argv[1]]))
