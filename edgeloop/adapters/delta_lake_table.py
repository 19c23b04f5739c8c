"""The lake table as a Delta Lake table in blob storage, written with ``deltalake`` (delta-rs).

The tables live at ``lake/insights`` and ``lake/feedback`` in the cloud data account,
partitioned by site and date (edgeloop.domain.lake_rows, one spec per table). ``merge``
inserts only keys the table lacks, in one Delta commit;
two writers racing on the same table make one of them fail its commit (optimistic
concurrency), and the redelivered event then merges again, inserting nothing twice.
Spark, Fabric and Azure ML read Delta; pandas through ``deltalake``; DuckDB its delta
extension or, offline, the Parquet files the log lists (``active_files``).

Schema evolution: a table written before a column was added to its spec keeps its schema
until the next merge, which adds the missing columns in the same commit (``merge_schema``);
its older rows read them as null. Columns are only ever added, never changed or dropped.
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
from edgeloop.domain.lake_rows import INSIGHTS_LAKE, LakeTableSpec
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


def arrow_schema(spec: LakeTableSpec) -> pa.Schema:
    return pa.schema([pa.field(name, _ARROW_TYPES[kind]) for name, kind in spec.columns.items()])


def merge_predicate(spec: LakeTableSpec) -> str:
    # Partition columns in the predicate let the merge read only the folders the rows fall in.
    return " AND ".join(f"t.{column} = s.{column}" for column in (*spec.partitions, spec.key))


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
    def __init__(self, uri: str, options: Mapping[str, str], spec: LakeTableSpec = INSIGHTS_LAKE) -> None:
        self.uri = uri
        self.options = dict(options)
        self.spec = spec
        self.schema = arrow_schema(spec)
        self._table: DeltaTable | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_connection(
        cls,
        connection: Connection,
        clients: AzureClients,
        table: str | None = None,
        spec: LakeTableSpec = INSIGHTS_LAKE,
    ) -> DeltaLakeTable:
        """The ``spec`` table (in folder ``table``, default its name) in the ``lake`` container of
        ``connection``'s account (the container created if absent)."""
        container = clients.blob_service(connection).get_container_client(LAKE_CONTAINER)
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
        return cls(f"az://{LAKE_CONTAINER}/{table or spec.name}", storage_options(connection), spec)

    def table(self) -> DeltaTable:
        if self._table is None:
            # mode="ignore": the first writer creates the (empty) table, the others open it.
            # An existing table keeps its schema here; the next merge adds what it lacks.
            self._table = DeltaTable.create(
                self.uri,
                self.schema,
                mode="ignore",
                partition_by=list(self.spec.partitions),
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
        source = pa.Table.from_pylist([dict(row) for row in rows], schema=self.schema)
        predicate = merge_predicate(self.spec)
        # One DeltaTable per process, shared by the worker's threads: one merge at a time here;
        # another process's commit first makes ours fail, and the merge is rerun on its data.
        with self._lock:
            for attempt in range(1, COMMIT_ATTEMPTS + 1):
                try:
                    metrics = (
                        self.table()
                        .merge(source, predicate, source_alias="s", target_alias="t", merge_schema=True)
                        .when_not_matched_insert_all()
                        .execute()
                    )
                except CommitFailedError:
                    if attempt == COMMIT_ATTEMPTS:
                        raise  # the event is redelivered, and merged then
                    continue
                return int(metrics["num_target_rows_inserted"])
        raise AssertionError("unreachable")
