"""The lake feed end to end on real Azurite: compliant blob -> event -> Delta table -> readers.

Real parts: Azurite (the cloud account's blobs), delta-rs writing and merging the Delta table
in it, pandas (through deltalake), DuckDB and Spark reading it back. DuckDB's and Spark's own
Delta readers need a download at run time (DuckDB's ``delta`` extension, Spark's delta-spark
jars), which is not possible here: they read the Parquet files the Delta log lists as active,
with hive partitioning for ``site_id`` / ``date``, which is what those readers do too.
"""

from __future__ import annotations

import gzip
import subprocess
import textwrap
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from azure.storage.queue import QueueClient
from deltalake import DeltaTable
from pydantic import SecretStr
from support.notebook_venv import notebook_python

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.delta_lake_table import DeltaLakeTable
from edgeloop.adapters.queue_publisher import QueueEventPublisher
from edgeloop.bootstrap.lake import build_lake_feed, build_lake_table
from edgeloop.config.connections import ConnectionString
from edgeloop.config.lake import LakeSettings
from edgeloop.domain.lake_rows import lake_rows
from edgeloop.ports import BlobWrittenEvent
from edgeloop.service_layer.lake_feed import LakeFeed
from edgeloop.wire.messaging import subscription_queue
from edgeloop.wire.servicebus_envelope import parse_envelope
from edgeloop.wire.storage_layout import LAKE_CONTAINER
from functions import cloud_lake, dependencies
from localdev.azurite import Azurite
from localdev.functions_host.messages import decode_body, to_service_bus_message


def wire_insight(site: str, index: int, day: int) -> dict[str, Any]:
    return {
        "kind": "insight", "schema_version": 1,
        "insight_id": f"{uuid.UUID(int=index).hex}-{index:05d}", "site_id": site,
        "scored_at": f"2026-11-{day:02d}T12:00:00.000000Z",
        "model": {"name": "ai4i", "version": "1", "sha256": "0" * 64},
        "inputs": {"torque_nm": 40.5, "type": "L"}, "outputs": {"failure_probability": index / 100},
        "anomaly": index % 10 == 0, "anomaly_kinds": ["risk"] if index % 10 == 0 else [],
        "context": {"product_id": "hmac-sha256:ab12"},
    }  # fmt: skip


def wire_feedback(index: int) -> dict[str, Any]:
    return {
        "kind": "feedback", "schema_version": 1, "feedback_id": f"fb-{index}",
        "insight_id": f"{uuid.UUID(int=index).hex}-{index:05d}", "site_id": "x",
        "recorded_at": "2026-11-01T12:00:00.000000Z", "label": 1,
    }  # fmt: skip


def put_blob(blobs: AzureBlobStore, name: str, records: list[dict[str, Any]]) -> BlobWrittenEvent:
    body = gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in records))
    url = blobs.put("compliant", name, body, content_type="application/gzip")
    return BlobWrittenEvent(name, "compliant", url, "compliant", name, "s", len(records), len(records), 0)


@pytest.fixture
def lake(azurite: Azurite) -> tuple[LakeFeed, DeltaLakeTable, AzureBlobStore]:
    connection = ConnectionString("CloudStorage", SecretStr(azurite.connection_string("cloud")))
    clients = AzureClients()
    blobs = AzureBlobStore.from_connection(connection, clients)
    table = DeltaLakeTable.from_connection(connection, clients, table=f"t{uuid.uuid4().hex[:12]}")
    return LakeFeed(blobs, table), table, blobs


def download_active_files(table: DeltaTable, blobs: AzureBlobStore, uri: str, into: Path) -> list[Path]:
    """The table's current Parquet files, with their ``site_id=/date=`` folders, on local disk."""
    prefix = uri.removeprefix(f"az://{LAKE_CONTAINER}/")
    files = []
    for name in table.file_uris():
        relative = name.split(f"/{prefix}/", 1)[1]
        path = into / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blobs.get(LAKE_CONTAINER, f"{prefix}/{relative}"))
        files.append(path)
    return files


def test_redelivery_and_overlap_insert_each_insight_once(
    lake: tuple[LakeFeed, DeltaLakeTable, AzureBlobStore], tmp_path: Path
) -> None:
    feed, table, blobs = lake
    site = f"site-{uuid.uuid4().hex[:6]}"
    first = put_blob(blobs, f"{site}/a.jsonl.gz", [wire_insight(site, i, 1 + i % 2) for i in range(20)])
    assert feed.deliver(first).inserted == 20
    assert feed.deliver(first).inserted == 0  # redelivered: nothing twice
    overlap = [wire_insight(site, i, 1 + i % 2) for i in range(15, 25)] + [wire_feedback(3)]
    second = put_blob(blobs, f"{site}/b.jsonl.gz", overlap)
    result = feed.deliver(second)
    assert (result.rows, result.inserted) == (10, 5)  # feedback is not a lake row

    reread = DeltaTable(table.uri, storage_options=table.options)
    frame = reread.to_pandas()
    assert len(frame) == 25
    assert frame["insight_id"].is_unique
    assert set(frame["date"]) == {"2026-11-01", "2026-11-02"}
    assert frame.loc[frame["insight_id"].str.endswith("-00012"), "risk"].item() == pytest.approx(0.12)
    assert all("/site_id=" in uri and "/date=" in uri for uri in reread.file_uris())

    parquet_dir = tmp_path / "lake"
    download_active_files(reread, blobs, table.uri, parquet_dir)
    rows = duckdb.sql(
        f"SELECT date::VARCHAR, count(*), count(DISTINCT insight_id), sum(anomaly::int) FROM read_parquet("
        f"'{parquet_dir}/**/*.parquet', hive_partitioning = true) GROUP BY date ORDER BY date"
    ).fetchall()
    assert rows == [("2026-11-01", 13, 13, 3), ("2026-11-02", 12, 12, 0)]


def test_the_anomalies_container_is_ignored(lake: tuple[LakeFeed, DeltaLakeTable, AzureBlobStore]) -> None:
    feed, _, _ = lake
    event = BlobWrittenEvent("m", "anomalies", "u", "anomalies", "x.jsonl.gz", "s", 1, 1, 0)
    assert feed.deliver(event).ignored


@pytest.mark.slow
def test_spark_reads_the_table_files(
    lake: tuple[LakeFeed, DeltaLakeTable, AzureBlobStore], tmp_path: Path
) -> None:
    feed, table, blobs = lake
    site = f"site-{uuid.uuid4().hex[:6]}"
    feed.deliver(put_blob(blobs, f"{site}/a.jsonl.gz", [wire_insight(site, i, 3) for i in range(7)]))
    parquet_dir = tmp_path / "lake"
    download_active_files(DeltaTable(table.uri, storage_options=table.options), blobs, table.uri, parquet_dir)
    script = textwrap.dedent(
        f"""
        from pyspark.sql import SparkSession
        spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
        frame = spark.read.option("basePath", {str(parquet_dir)!r}).parquet({str(parquet_dir)!r})
        row = frame.groupBy("site_id", "date").count().collect()[0]
        print("LAKE", row["site_id"], row["date"], row["count"])
        spark.stop()
        """
    )
    done = subprocess.run(
        [str(notebook_python()), "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert f"LAKE {site} 2026-11-03 7" in done.stdout, done.stderr[-3000:]


def test_the_notebook_reads_the_lake_through_the_settings(azurite: Azurite) -> None:
    settings = LakeSettings.model_validate({"CloudStorage": azurite.connection_string("cloud")})
    site = f"site-{uuid.uuid4().hex[:6]}"
    feed = build_lake_feed(settings)
    blobs = AzureBlobStore.from_connection(settings.resolve_cloud_storage("blob"), AzureClients())
    feed.deliver(put_blob(blobs, f"{site}/n.jsonl.gz", [wire_insight(site, i, 4 + i % 2) for i in range(6)]))
    frame = build_lake_table(settings).frame(since="2026-11-05", site=site)
    assert sorted(frame["insight_id"].str[-5:]) == ["00001", "00003", "00005"]


def test_feed_lake_function_takes_the_published_event(
    azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = azurite.connection_string("cloud")
    topic, site = f"t{uuid.uuid4().hex[:12]}", f"site-{uuid.uuid4().hex[:6]}"
    blobs = AzureBlobStore.from_connection_string(connection)
    event = put_blob(blobs, f"{site}/f.jsonl.gz", [wire_insight(site, 100 + i, 6) for i in range(4)])
    QueueEventPublisher.from_connection_string(connection, topic, ["lake"]).publish([event])
    queue = QueueClient.from_connection_string(connection, subscription_queue(topic, "lake"))
    received = queue.receive_message(visibility_timeout=30)
    assert received is not None
    envelope = parse_envelope(decode_body(received.content, "base64"))
    message = to_service_bus_message(envelope, received, None)

    monkeypatch.setenv("EDGELOOP_LOCAL_SETTINGS", str(tmp_path / "absent.json"))
    monkeypatch.setenv("CloudStorage", connection)
    dependencies.lake_feed.override(None)
    try:
        cloud_lake.feed_lake(message)
        cloud_lake.feed_lake(message)  # redelivered
    finally:
        dependencies.lake_feed.override(None)
    frame = build_lake_table(LakeSettings.model_validate({"CloudStorage": connection})).frame(site=site)
    assert len(frame) == 4


def test_concurrent_writers_of_one_table_lose_no_rows(
    lake: tuple[LakeFeed, DeltaLakeTable, AzureBlobStore],
) -> None:
    """Two tables on one URI stand for two Function instances: their commits conflict, and retry."""
    _, table, _ = lake
    site = f"site-{uuid.uuid4().hex[:6]}"
    table.merge(lake_rows([wire_insight(site, 0, 7)]))  # the table exists before the race
    writers = [DeltaLakeTable(table.uri, table.options) for _ in range(3)]
    batches = [lake_rows([wire_insight(site, 1000 * w + i, 7) for i in range(1, 6)]) for w in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        inserted = list(pool.map(lambda pair: pair[0].merge(pair[1]), zip(writers, batches, strict=True)))
    assert inserted == [5, 5, 5]
    assert len(table.frame(site=site)) == 16
