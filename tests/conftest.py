"""Shared fixtures: a real Azurite per test session, on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.azurite import Azurite

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One Azurite for the session, with the ``edge`` and ``cloud`` accounts.

    Tests isolate themselves by using unique queue and container names.
    """
    emulator = Azurite.on_free_ports(tmp_path_factory.mktemp("azurite"))
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def fresh_azurite(tmp_path: Path) -> Iterator[Azurite]:
    """An Azurite of the test's own, for tests that stop and restart it."""
    emulator = Azurite.on_free_ports(tmp_path / "azurite")
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
