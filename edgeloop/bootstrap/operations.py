"""Composition root of ``edgeloop ops``: the holding places the settings reach, with their audits.

* ``<INSIGHTS_QUEUE>-poison`` and ``quarantine`` on EdgeStorage (replayed to the insights queue;
  audited on site);
* ``retrain-requests-poison`` on CloudStorage (audited in the cloud account);
* ``<topic>-<subscription>-deadletter`` per subscription: the emulated dead-letter queues when
  ServiceBusConnection is a storage account (locally), the subscriptions' dead-letter subqueues
  on a Service Bus namespace (audited in the cloud account).

A place whose connection is not set is left out (an edge operator needs no cloud settings).
"""

from __future__ import annotations

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.held_blobs import QuarantineBlobs
from edgeloop.adapters.held_queue import StorageHeldQueue
from edgeloop.adapters.servicebus_dead_letters import ServiceBusDeadLetters
from edgeloop.adapters.storage_queue import StorageQueueSender
from edgeloop.bootstrap.edge import connection_kind
from edgeloop.config.connections import Connection, ConnectionSettingError, IdentityConnection
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.ports import HeldMessages
from edgeloop.service_layer.operations import HeldMessageOperations, HoldingPlace
from edgeloop.wire.messaging import RETRAIN_QUEUE, subscription_queue
from edgeloop.wire.storage_layout import QUARANTINE_CONTAINER


def _queue_place(clients: AzureClients, connection: Connection, held: str, source: str) -> StorageHeldQueue:
    return StorageHeldQueue(
        clients.queue(connection, held),
        clients.queue(connection, source),
        dead_letters=held.endswith("-deadletter"),
    )


def _edge_places(settings: EdgeFunctionSettings, clients: AzureClients) -> dict[str, HoldingPlace]:
    queue = settings.resolve_edge_storage("queue")
    blob = settings.resolve_edge_storage("blob")
    audit = AzureBlobStore.from_connection(blob, clients)
    sender = StorageQueueSender(queue, settings.insights_queue, clients=clients)
    quarantine = QuarantineBlobs(
        clients.blob_service(blob).get_container_client(QUARANTINE_CONTAINER), sender, settings.insights_queue
    )
    poison = _queue_place(clients, queue, f"{settings.insights_queue}-poison", settings.insights_queue)
    return {poison.name: HoldingPlace(poison, audit), quarantine.name: HoldingPlace(quarantine, audit)}


def _cloud_places(settings: EdgeFunctionSettings, clients: AzureClients) -> dict[str, HoldingPlace]:
    queue = settings.resolve_cloud_storage("queue")
    audit = AzureBlobStore.from_connection(settings.resolve_cloud_storage("blob"), clients)
    places: list[HeldMessages] = [_queue_place(clients, queue, f"{RETRAIN_QUEUE}-poison", RETRAIN_QUEUE)]
    bus = settings.resolve_service_bus()
    namespace = isinstance(bus, IdentityConnection) or connection_kind(bus.secret()) == "servicebus"
    for subscription in settings.subscription_names():
        if namespace:
            places.append(ServiceBusDeadLetters.from_connection(bus, settings.topic, subscription, clients))
        else:
            entity = subscription_queue(settings.topic, subscription)
            places.append(_queue_place(clients, bus, f"{entity}-deadletter", entity))
    return {place.name: HoldingPlace(place, audit) for place in places}


def build_operations(
    settings: EdgeFunctionSettings | None = None, clients: AzureClients | None = None
) -> HeldMessageOperations:
    settings = settings or EdgeFunctionSettings()
    clients = clients or AzureClients.from_settings(settings)
    places: dict[str, HoldingPlace] = {}
    for build in (_edge_places, _cloud_places):
        try:
            places |= build(settings, clients)
        except ConnectionSettingError:
            continue  # that side's connection is not set here
    return HeldMessageOperations(places)
