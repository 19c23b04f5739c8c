"""Run in a fresh interpreter: load function_app.py for one role (EDGELOOP_ROLE from the
environment, as the Functions host does) and print its functions and their bindings as JSON."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path


def main(repo_root: Path) -> None:
    sys.path.insert(0, str(repo_root))
    app = runpy.run_path(str(repo_root / "function_app.py"))["app"]
    functions = {
        function.get_function_name(): [binding.get_dict_repr() for binding in function.get_bindings()]
        for function in app.get_functions()
    }
    json.dump(functions, sys.stdout, default=str)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
