"""Write docs/manifest.schema.json from the manifest's document model (``make schema``).

python -m tools.manifest_schema           # (re)write the file
python -m tools.manifest_schema --check   # exit 1 if the file differs from what the code makes
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from edgeloop.domain.manifest_schema import manifest_json_schema

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO_ROOT / "docs" / "manifest.schema.json"


def schema_text() -> str:
    """The file's content: the schema, indented, keys in the generator's order, a final newline."""
    return json.dumps(manifest_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = schema_text()
    if "--check" in argv:
        current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
        if current != text:
            print(f"{SCHEMA_FILE.relative_to(REPO_ROOT)} is stale: run `make schema`", file=sys.stderr)
            return 1
        return 0
    SCHEMA_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_FILE.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
