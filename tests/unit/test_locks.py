"""The lock files agree with pyproject.toml's pins, and a disagreement is named (tools/locks.py).

The checks read the committed files; the disagreements are made on copies in a
temporary directory, so no test needs the network.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools.locks import LOCKS, REPO_ROOT, check, lock_pins, parse_pin, read_lock


def copy_of_the_repository_files(tmp_path: Path) -> Path:
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for lock in LOCKS:
        (tmp_path / lock.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / lock.path, tmp_path / lock.path)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_every_committed_lock_agrees_with_pyproject() -> None:
    assert check() == [], "run `make lock` and commit the result"


def test_every_lock_entry_is_an_exact_version_with_hashes() -> None:
    for lock in LOCKS:
        packages = read_lock((REPO_ROOT / lock.path).read_text())
        assert len(packages) >= len(lock_pins(lock)), lock.path
        assert all(package.hashes for package in packages), lock.path


def test_a_changed_pin_is_named(tmp_path: Path) -> None:
    root = copy_of_the_repository_files(tmp_path)
    edit(root / "pyproject.toml", '"fastapi==0.165.0"', '"fastapi==0.165.1"')
    problems = check(root=root)
    assert "requirements/dev.lock: pyproject.toml pins fastapi==0.165.1, the lock has 0.165.0" in problems
    assert any(problem.startswith("requirements.txt: pyproject.toml pins fastapi") for problem in problems)
    assert not any("infra.lock" in problem for problem in problems)  # checkov's venv has no fastapi


def test_an_added_pin_is_named(tmp_path: Path) -> None:
    root = copy_of_the_repository_files(tmp_path)
    edit(root / "pyproject.toml", '"checkov==3.3.30",', '"checkov==3.3.30",\n    "cowsay==6.1",')
    problems = check(root=root)
    assert "requirements/infra.lock: cowsay==6.1 is pinned in pyproject.toml but not locked" in problems


def test_a_removed_pin_is_seen(tmp_path: Path) -> None:
    root = copy_of_the_repository_files(tmp_path)
    edit(root / "pyproject.toml", '    "pyyaml==6.0.3",\n', "")
    problems = check(root=root)
    assert any(p.startswith("requirements/dev.lock: made from other pins") for p in problems), problems


def test_an_entry_without_hashes_is_named(tmp_path: Path) -> None:
    root = copy_of_the_repository_files(tmp_path)
    lock = root / "requirements" / "bench.lock"
    lock.write_text("\n".join(line for line in lock.read_text().splitlines() if "--hash=" not in line))
    assert "requirements/bench.lock: bentoml==1.4.38 has no hash" in check(root=root)


def test_a_missing_lock_is_named(tmp_path: Path) -> None:
    root = copy_of_the_repository_files(tmp_path)
    (root / "requirements" / "notebook.lock").unlink()
    assert check(root=root) == ["requirements/notebook.lock: missing"]


@pytest.mark.parametrize(
    ("pin", "parsed"),
    [("pyjwt[crypto]==2.15.1", ("pyjwt", "2.15.1")), ("types-PyYAML==6.0.12", ("types-pyyaml", "6.0.12"))],
)
def test_pins_are_read_with_extras_and_any_spelling(pin: str, parsed: tuple[str, str]) -> None:
    assert parse_pin(pin) == parsed


def test_a_loose_pin_is_refused() -> None:
    with pytest.raises(ValueError, match="not an exact pin"):
        parse_pin("requests>=2")


def test_the_makefile_installs_each_virtualenv_from_its_lock() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    # requirements.txt is the Functions remote build's, images*.lock the images' (Dockerfiles).
    for lock in LOCKS:
        if lock.path != "requirements.txt" and not lock.path.startswith("requirements/images"):
            assert lock.path in makefile, f"no Makefile step installs {lock.path}"
