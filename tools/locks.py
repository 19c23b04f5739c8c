"""The lock files: one per virtualenv, every transitive version with its hashes.

pyproject.toml stays the one place for pins; each lock is resolved from some of
them by uv (``uv pip compile --universal``, so one file serves Python 3.11 and
3.12 on any platform). Each lock's header records a digest of the pins it was
made from, so a pin added, changed or removed without ``make lock`` is seen.

    python tools/locks.py compile [LOCK...]   # make lock: regenerate (network: PyPI)
    python tools/locks.py check               # exit 1, naming each disagreement
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = REPO_ROOT / "pyproject.toml"
UV = Path(os.environ.get("UV", REPO_ROOT / ".venv-uv" / "bin" / "uv"))
# The oldest Python the locks serve; universal resolution covers the newer ones too.
PYTHON_VERSION = "3.11"
DIGEST_LINE = "# pins-digest: "
PROJECT = "project"  # the project's own dependencies, as a group name


@dataclass(frozen=True)
class Lock:
    """One virtualenv's lock: the pyproject groups it is resolved from."""

    path: str
    groups: tuple[str, ...]
    purpose: str
    replaces: tuple[str, ...] = ()  # pins of the groups left out: a variant build stands in for them


LOCKS = (
    Lock("requirements/bootstrap.lock", ("bootstrap",), "uv itself (.venv-uv), installed with pip"),
    Lock("requirements/dev.lock", (PROJECT, "train", "dev"), ".venv: the project with [train,dev]"),
    Lock("requirements/notebook.lock", (PROJECT, "powerbi-notebook"), ".venv-notebook"),
    Lock("requirements/infra.lock", ("infra-lint",), ".venv-infra (checkov, hadolint)"),
    Lock("requirements/bench.lock", ("bench-peer",), ".venv-bench (the benchmark's peer server)"),
    # The site images (infra/docker): the project's own dependencies, nothing for training or tests.
    Lock("requirements/images.lock", (PROJECT,), "the site container images (infra/docker)"),
    # The scoring image with another onnxruntime build (build arg ONNXRUNTIME): the same versions
    # as images.lock but for onnxruntime itself and what the other build brings.
    Lock(
        "requirements/images-gpu.lock",
        (PROJECT, "image-gpu"),
        "the scoring image with onnxruntime-gpu (ONNXRUNTIME=gpu)",
        replaces=("onnxruntime",),
    ),
    Lock(
        "requirements/images-openvino.lock",
        (PROJECT, "image-openvino"),
        "the scoring image with onnxruntime-openvino (ONNXRUNTIME=openvino)",
        replaces=("onnxruntime",),
    ),
    # The Functions remote build (`func azure functionapp publish`) installs this file alone;
    # the project's source travels in the package (.funcignore says what stays out).
    Lock("requirements.txt", (PROJECT, "train"), "the Azure Functions app (remote build)"),
)


def group_pins(pyproject: dict[str, object], group: str) -> list[str]:
    project = pyproject["project"]
    assert isinstance(project, dict)
    if group == PROJECT:
        return list(project["dependencies"])
    if group in project.get("optional-dependencies", {}):
        return list(project["optional-dependencies"][group])
    groups = pyproject.get("dependency-groups", {})
    assert isinstance(groups, dict)
    return list(groups[group])


def lock_pins(lock: Lock, pyproject: dict[str, object] | None = None) -> list[str]:
    """The pins a lock is made from, deduplicated, sorted."""
    pyproject = pyproject or tomllib.loads(PYPROJECT.read_text())
    pins = {pin for group in lock.groups for pin in group_pins(pyproject, group)}
    return sorted(pin for pin in pins if parse_pin(pin)[0] not in lock.replaces)


def pins_digest(pins: list[str]) -> str:
    return hashlib.sha256("\n".join(pins).encode()).hexdigest()


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pin(pin: str) -> tuple[str, str]:
    """``name[extra]==version`` -> (canonical name, version)."""
    match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;]+)\s*", pin)
    if match is None:
        raise ValueError(f"not an exact pin (name==version): {pin!r}")
    return canonical(match.group(1)), match.group(3)


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    hashes: int


def read_lock(text: str) -> list[LockedPackage]:
    """The ``name==version`` entries of a requirements file, with how many hashes each has."""
    packages: list[LockedPackage] = []
    for line in text.splitlines():
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line):
            packages.append(LockedPackage(canonical(match.group(1)), match.group(2), 0))
        elif line.strip().startswith("--hash=") and packages:
            last = packages[-1]
            packages[-1] = LockedPackage(last.name, last.version, last.hashes + 1)
    return packages


def disagreements(lock: Lock, text: str, pins: list[str]) -> list[str]:
    """What is wrong with one lock's text against the pins it should be made from."""
    problems: list[str] = []
    locked = {package.name: package for package in read_lock(text)}
    for pin in pins:
        name, version = parse_pin(pin)
        if name not in locked:
            problems.append(f"{lock.path}: {pin} is pinned in pyproject.toml but not locked")
        elif locked[name].version != version:
            problems.append(f"{lock.path}: pyproject.toml pins {pin}, the lock has {locked[name].version}")
    # Each pin is locked, yet the lock was made from other pins: one was removed since.
    if not problems and f"{DIGEST_LINE}{pins_digest(pins)}" not in text.splitlines():
        problems.append(f"{lock.path}: made from other pins than pyproject.toml's (one was removed?)")
    problems += [f"{lock.path}: {p.name}=={p.version} has no hash" for p in locked.values() if not p.hashes]
    return problems


def check(locks: tuple[Lock, ...] = LOCKS, root: Path = REPO_ROOT) -> list[str]:
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    problems: list[str] = []
    for lock in locks:
        path = root / lock.path
        if not path.exists():
            problems.append(f"{lock.path}: missing")
            continue
        problems += disagreements(lock, path.read_text(), lock_pins(lock, pyproject))
    return problems


def compile_lock(lock: Lock) -> None:
    pins = lock_pins(lock)
    print(f"locking {lock.path} ({lock.purpose}): {len(pins)} pins", flush=True)
    command = [str(UV), "pip", "compile", "-", "--universal", "--generate-hashes", "--quiet"]
    command += ["--python-version", PYTHON_VERSION, "--no-header"]
    result = subprocess.run(
        command, input="\n".join(pins) + "\n", capture_output=True, text=True, check=False, cwd=REPO_ROOT
    )
    if result.returncode != 0:
        raise SystemExit(f"uv could not lock {lock.path}:\n{result.stderr}")
    header = (
        f"# {lock.purpose}. Made by `make lock` (tools/locks.py) from pyproject.toml's pins: do not edit.\n"
        f"{DIGEST_LINE}{pins_digest(pins)}\n"
    )
    (REPO_ROOT / lock.path).write_text(header + result.stdout)


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        problems = check()
        if problems:
            print("\n".join([*problems, "run `make lock` and commit the locks"]), file=sys.stderr)
            return 1
        print(f"{len(LOCKS)} locks agree with pyproject.toml")
        return 0
    if argv[:1] == ["compile"]:
        wanted = set(argv[1:])
        for lock in LOCKS:
            if not wanted or lock.path in wanted:
                compile_lock(lock)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
