"""The zip a Functions zip deploy uploads: the app directory less what .funcignore names.

``func azure functionapp publish`` packs the app's root directory, leaving out
the paths that match ``.funcignore`` (gitignore syntax); this builds the same
package so tests can check what would leave the machine, and how much.

    python tools/functions_package.py OUT.zip
"""

from __future__ import annotations

import fnmatch
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class IgnoreRule:
    """One .funcignore line."""

    pattern: str
    negated: bool
    directories_only: bool
    anchored: bool

    @classmethod
    def parse(cls, line: str) -> IgnoreRule | None:
        line = line.rstrip()
        if not line or line.startswith("#"):
            return None
        negated = line.startswith("!")
        line = line.removeprefix("!")
        directories_only = line.endswith("/")
        line = line.rstrip("/")
        # As in git: a slash at the start or in the middle ties the pattern to the root.
        anchored = "/" in line
        return cls(line.lstrip("/"), negated, directories_only, anchored)

    def matches(self, path: str, is_dir: bool) -> bool:
        if self.directories_only and not is_dir:
            return False
        if self.anchored:
            return fnmatch.fnmatchcase(path, self.pattern)
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], self.pattern)


def read_rules(ignore_file: Path) -> list[IgnoreRule]:
    if not ignore_file.exists():
        return []
    rules = (IgnoreRule.parse(line) for line in ignore_file.read_text().splitlines())
    return [rule for rule in rules if rule is not None]


def ignored(path: str, is_dir: bool, rules: list[IgnoreRule]) -> bool:
    """The last rule that matches decides (a later ``!pattern`` brings a path back)."""
    verdict = False
    for rule in rules:
        if rule.matches(path, is_dir):
            verdict = not rule.negated
    return verdict


def package_files(root: Path = REPO_ROOT) -> list[str]:
    """The package's files, relative POSIX paths, sorted; an ignored directory is not entered."""
    rules = read_rules(root / ".funcignore")
    files: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        base = Path(directory).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        dirnames[:] = sorted(d for d in dirnames if not ignored(prefix + d, True, rules))
        files += [prefix + f for f in filenames if not ignored(prefix + f, False, rules)]
    return sorted(files)


def build_package(out: Path, root: Path = REPO_ROOT) -> list[str]:
    """Write the zip; returns the paths it holds."""
    files = package_files(root)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in files:
            archive.write(root / name, name)
    return files


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    files = build_package(out)
    print(f"{out}: {len(files)} files, {out.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
