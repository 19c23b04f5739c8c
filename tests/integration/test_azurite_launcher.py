"""The Azurite launcher (localdev/azurite.py) on the real emulator."""

from __future__ import annotations

import time
from pathlib import Path

from azure.storage.queue import QueueServiceClient

from localdev.azurite import Azurite


def test_azurite_sends_no_telemetry_and_stops_promptly(tmp_path: Path) -> None:
    emulator = Azurite.on_free_ports(tmp_path / "azurite")
    emulator.start()
    try:
        with QueueServiceClient.from_connection_string(emulator.connection_string("edge")) as queues:
            queues.create_queue("launcher-check")
        # Azurite's telemetry keeps an instance id file in its location once it is on (and flushing
        # it on SIGTERM held every stop after a few seconds of uptime for ~10 s).
        assert not (emulator.location / "AzuriteConfig").exists()
    finally:
        started = time.monotonic()
        emulator.stop()
    assert emulator.process is not None
    assert emulator.process.returncode is not None
    assert time.monotonic() - started < 5
