"""Shared fixtures: a real Azurite per test session (per xdist worker), on free ports; the run's order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.azurite import Azurite

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker, the modules with ``slow`` tests first, each module's tests still together.

    ``make pytest`` hands out whole modules (``--dist loadfile --no-loadscope-reorder``) in this
    order: a long module started last would leave the other workers idle while it runs.
    """
    if not hasattr(config, "workerinput"):
        return
    slow_modules = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_modules)  # stable: the rest keep their order


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
