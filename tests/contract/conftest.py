"""The insight store adapters the contract suite runs against.

* ``sqlite``: the real SQLite adapter on a temporary file.
* ``cosmos-fake``: the real Cosmos adapter and the real azure-cosmos SDK over
  ``FakeCosmosTransport`` (no Cosmos emulator can run here; see that module).
* ``cosmos-live``: a real Cosmos DB account when ``COSMOS_ENDPOINT`` and
  ``COSMOS_KEY`` are set (a container of its own, deleted afterwards).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.cosmos import CosmosClient, PartitionKey
from cosmos_fake_transport import ENDPOINT, FAKE_KEY, FakeCosmosTransport

from edgeloop.adapters.cosmos_store import CosmosInsightStore
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.ports import InsightStore


@pytest.fixture(params=["sqlite", "cosmos-fake", pytest.param("cosmos-live", marks=pytest.mark.live)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InsightStore]:
    if request.param == "sqlite":
        sqlite = SqliteInsightStore(tmp_path / "global.sqlite3")
        yield sqlite
        sqlite.close()
    elif request.param == "cosmos-fake":
        client = CosmosClient(ENDPOINT, credential=FAKE_KEY, transport=FakeCosmosTransport())
        container = client.get_database_client("edgeloop").get_container_client("insights")
        yield CosmosInsightStore(container)
    else:
        endpoint, key = os.environ.get("COSMOS_ENDPOINT"), os.environ.get("COSMOS_KEY")
        if not endpoint or not key:
            pytest.skip("live Cosmos DB run needs COSMOS_ENDPOINT and COSMOS_KEY (no emulator can run here)")
        client = CosmosClient(endpoint, credential=key)
        database = client.create_database_if_not_exists(os.environ.get("COSMOS_DATABASE", "edgeloop-tests"))
        name = f"contract-{uuid.uuid4().hex[:12]}"
        container = database.create_container(name, partition_key=PartitionKey(path="/site_id"))
        try:
            yield CosmosInsightStore(container)
        finally:
            database.delete_container(name)
