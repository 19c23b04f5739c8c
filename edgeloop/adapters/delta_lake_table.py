"""The lake table as a Delta Lake table in blob storage, written with ``deltalake`` (delta-rs).

The table lives at ``lake/insights`` in the cloud data account, partitioned by site and date
(edgeloop.domain.lake_rows). ``merge`` inserts only ids the table lacks, in one Delta commit;
two writers racing on the same table make one of them fail its commit (optimistic
concurrency), and the redelivered event then merges again, inserting nothing twice.
Spark, Fabric and Azure ML read Delta; pandas through ``deltalake``; DuckDB its delta
extension or, offline, the Parquet files the log lists (``active_files``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
import pyarrow as pa
from azure.core.exceptions import ResourceExistsError
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.config.connections import Connection, ConnectionString
from edgeloop.domain.lake_rows import LAKE_COLUMNS, LAKE_KEY, LAKE_PARTITIONS, LAKE_TABLE
from edgeloop.wire.storage_layout import LAKE_CONTAINER

if TYPE_CHECKING:
    import pandas as pd  # only where a frame is asked for (notebook, tests): not in the Functions image

COMMIT_ATTEMPTS = 5  # concurrent writers of one table: each conflict means another one committed

_ARROW_TYPES = {
    "string": pa.string(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
LAKE_SCHEMA = pa.schema([pa.field(name, _ARROW_TYPES[kind]) for name, kind in LAKE_COLUMNS.items()])
# Partition columns in the predicate let the merge read only the folders the rows fall in.
_MERGE_ON = " AND ".join(f"t.{column} = s.{column}" for column in (*LAKE_PARTITIONS, LAKE_KEY))


def storage_options(connection: Connection) -> dict[str, str]:
    """delta-rs (object_store) options for the account of ``connection``."""
    if isinstance(connection, ConnectionString):
        parts = dict(part.split("=", 1) for part in connection.secret().split(";") if "=" in part)
        account = parts.get("AccountName", "")
        options = {"account_name": account}
        if "AccountKey" in parts:
            options["account_key"] = parts["AccountKey"]
        if "SharedAccessSignature" in parts:
            options["sas_token"] = parts["SharedAccessSignature"]
        endpoint = parts.get("BlobEndpoint")
        if endpoint:  # Azurite, Azure Stack Hub, sovereign clouds: path-style or custom suffix
            options["azure_storage_endpoint"] = endpoint.rstrip("/")
            options["allow_http"] = str(endpoint.startswith("http://")).lower()
        return options
    # Identity-based: the account from its URL; object_store then uses the managed identity.
    host = urlsplit(connection.endpoint).hostname or ""
    options = {"account_name": host.split(".")[0]}
    if connection.client_id:
        options["azure_client_id"] = connection.client_id
    return options


class DeltaLakeTable:
    def __init__(self, uri: str, options: Mapping[str, str]) -> None:
        self.uri = uri
        self.options = dict(options)
        self._table: DeltaTable | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_connection(
        cls, connection: Connection, clients: AzureClients, table: str = LAKE_TABLE
    ) -> DeltaLakeTable:
        """The table in the ``lake`` container of ``connection``'s account (created if absent)."""
        container = clients.blob_service(connection).get_container_client(LAKE_CONTAINER)
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
        return cls(f"az://{LAKE_CONTAINER}/{table}", storage_options(connection))

    def table(self) -> DeltaTable:
        if self._table is None:
            # mode="ignore": the first writer creates the (empty) table, the others open it.
            self._table = DeltaTable.create(
                self.uri,
                LAKE_SCHEMA,
                mode="ignore",
                partition_by=list(LAKE_PARTITIONS),
                storage_options=self.options,
            )
        else:
            self._table.update_incremental()  # see other writers' commits before merging
        return self._table

    def frame(self, *, since: str | None = None, site: str | None = None) -> pd.DataFrame:
        """The rows as a pandas DataFrame; ``since`` (YYYY-MM-DD) and ``site`` prune partitions."""
        filters: list[tuple[str, str, Any]] = []
        if since is not None:
            filters.append(("date", ">=", since))
        if site is not None:
            filters.append(("site_id", "=", site))
        return self.table().to_pandas(filters=filters or None)

    def inputs_since(self, date: str) -> dict[str, dict[str, Any]]:
        columns = self.table().to_pyarrow_table(
            columns=["insight_id", "inputs_json"], filters=[("date", ">=", date)]
        )
        ids, inputs = columns.column("insight_id").to_pylist(), columns.column("inputs_json").to_pylist()
        return {str(key): orjson.loads(text) for key, text in zip(ids, inputs, strict=True)}

    def merge(self, rows: Sequence[Mapping[str, Any]]) -> int:
        source = pa.Table.from_pylist([dict(row) for row in rows], schema=LAKE_SCHEMA)
        # One DeltaTable per process, shared by the worker's threads: one merge at a time here;
        # another process's commit first makes ours fail, and the merge is rerun on its data.
        with self._lock:
            for attempt in range(1, COMMIT_ATTEMPTS + 1):
                try:
                    metrics = (
                        self.table()
                        .merge(source, _MERGE_ON, source_alias="s", target_alias="t")
                        .when_not_matched_insert_all()
                        .execute()
                    )
                except CommitFailedError:
                    if attempt == COMMIT_ATTEMPTS:
                        raise  # the event is redelivered, and merged then
                    continue
                return int(metrics["num_target_rows_inserted"])
        raise AssertionError("unreachable")
