"""Shared fixtures: a real Azurite per test session (per xdist worker), on free ports; the run's order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadFileScheduling

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


# Modules whose module fixture is parametrized, a whole system per parameter (several minutes each):
# under xdist each parameter's tests are a unit of their own, so the systems run side by side.
SPLIT_BY_PARAMETER = frozenset({"tests/integration/test_example_loops.py"})


class ModulesAndSplitParameters(LoadFileScheduling):
    """``--dist loadfile``, but a module of SPLIT_BY_PARAMETER is one unit per parameter."""

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        if module in SPLIT_BY_PARAMETER and nodeid.endswith("]"):
            return f"{module}[{nodeid.rsplit('[', 1)[1]}"
        return str(super()._split_scope(nodeid))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> LoadFileScheduling | None:
    if config.getoption("dist") != "loadfile":
        return None  # xdist's own scheduler for the other modes
    return ModulesAndSplitParameters(config, log)


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
