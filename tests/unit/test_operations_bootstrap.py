"""Which holding places ``edgeloop ops`` reaches from the settings given (no network is used:
clients connect on first call)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeloop.adapters.servicebus_dead_letters import ServiceBusDeadLetters
from edgeloop.bootstrap.operations import build_operations
from edgeloop.config.edge_functions import EdgeFunctionSettings

STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=edge;AccountKey=ZWRnZQ==;"
    "BlobEndpoint=http://127.0.0.1:1/edge;QueueEndpoint=http://127.0.0.1:2/edge"
)
NAMESPACE = "Endpoint=sb://example.servicebus.windows.net/;SharedAccessKeyName=ops;SharedAccessKey=a2V5"


@pytest.fixture(autouse=True)
def no_ambient_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    for name in ("EdgeStorage", "CloudStorage", "ServiceBusConnection", "INSIGHTS_QUEUE"):
        monkeypatch.delenv(name, raising=False)


def test_an_edge_operator_gets_the_edge_places_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EdgeStorage", STORAGE)
    operations = build_operations(EdgeFunctionSettings())
    assert operations.place_names() == ["insights-poison", "quarantine"]
    assert {operations.source_of(name) for name in operations.place_names()} == {"insights"}


def test_a_service_bus_namespace_gives_the_subscriptions_dead_letter_subqueues(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CloudStorage", STORAGE.replace("edge", "cloud"))
    monkeypatch.setenv("ServiceBusConnection", NAMESPACE)
    operations = build_operations(EdgeFunctionSettings())
    assert operations.place_names() == [
        "insights-global-deadletter",
        "insights-lake-deadletter",
        "insights-powerbi-deadletter",
        "retrain-requests-poison",
    ]
    assert operations.source_of("insights-global-deadletter") == "insights"
    held = operations._place("insights-global-deadletter").held
    assert isinstance(held, ServiceBusDeadLetters)


def test_with_a_storage_stand_in_the_dead_letters_are_emulated_queues(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CloudStorage", STORAGE)
    monkeypatch.setenv("ServiceBusConnection", STORAGE)
    operations = build_operations(EdgeFunctionSettings())
    assert operations.source_of("insights-powerbi-deadletter") == "insights-powerbi"
