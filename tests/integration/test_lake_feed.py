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
import pyarrow as pa
import pytest
from azure.storage.queue import QueueClient
from deltalake import DeltaTable, write_deltalake
from pydantic import SecretStr
from support.notebook_venv import notebook_python

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.delta_lake_table import DeltaLakeTable
from edgeloop.adapters.queue_publisher import QueueEventPublisher
from edgeloop.bootstrap.lake import build_lake_feed, build_lake_table
from edgeloop.config.connections import ConnectionString
from edgeloop.config.lake import LakeSettings
from edgeloop.domain.lake_rows import FEEDBACK_LAKE, INSIGHTS_LAKE, LakeTableSpec, lake_rows
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


def task_insight(site: str, index: int, task: str, prediction: str | float | None) -> dict[str, Any]:
    record = wire_insight(site, index, 8)
    record["model"] = {"name": f"{task}-model", "version": "1", "sha256": "0" * 64, "task": task}
    return record | {"outputs": {"score": 0.5}, "prediction": prediction}


def typed_feedback(index: int, label: str | float) -> dict[str, Any]:
    return wire_feedback(index) | {"feedback_id": f"fb-{uuid.uuid4().hex[:8]}-{index}", "label": label}


def put_blob(blobs: AzureBlobStore, name: str, records: list[dict[str, Any]]) -> BlobWrittenEvent:
    body = gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in records))
    url = blobs.put("compliant", name, body, content_type="application/gzip")
    insights = sum(1 for r in records if r["kind"] == "insight")
    return BlobWrittenEvent(
        name, "compliant", url, "compliant", name, "s", len(records), insights, len(records) - insights
    )


Lake = tuple[LakeFeed, DeltaLakeTable, AzureBlobStore, DeltaLakeTable]


@pytest.fixture
def lake(azurite: Azurite) -> Lake:
    connection = ConnectionString("CloudStorage", SecretStr(azurite.connection_string("cloud")))
    clients = AzureClients()
    blobs = AzureBlobStore.from_connection(connection, clients)
    name = f"t{uuid.uuid4().hex[:12]}"
    table = DeltaLakeTable.from_connection(connection, clients, table=name)
    feedback = DeltaLakeTable.from_connection(
        connection, clients, table=f"{name}-feedback", spec=FEEDBACK_LAKE
    )
    return LakeFeed(blobs, table, feedback), table, blobs, feedback


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


def test_redelivery_and_overlap_insert_each_insight_once(lake: Lake, tmp_path: Path) -> None:
    feed, table, blobs, _ = lake
    site = f"site-{uuid.uuid4().hex[:6]}"
    first = put_blob(blobs, f"{site}/a.jsonl.gz", [wire_insight(site, i, 1 + i % 2) for i in range(20)])
    assert feed.deliver(first).inserted == 20
    assert feed.deliver(first).inserted == 0  # redelivered: nothing twice
    overlap = [wire_insight(site, i, 1 + i % 2) for i in range(15, 25)] + [wire_feedback(3)]
    second = put_blob(blobs, f"{site}/b.jsonl.gz", overlap)
    result = feed.deliver(second)
    assert (result.rows, result.inserted) == (10, 5)
    assert (result.feedback_rows, result.feedback_inserted) == (1, 1)  # into the feedback table

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


def test_the_anomalies_container_is_ignored(lake: Lake) -> None:
    feed, _, _, _ = lake
    event = BlobWrittenEvent("m", "anomalies", "u", "anomalies", "x.jsonl.gz", "s", 1, 1, 0)
    assert feed.deliver(event).ignored


@pytest.mark.slow
def test_spark_reads_the_table_files(lake: Lake, tmp_path: Path) -> None:
    feed, table, blobs, _ = lake
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
    lake: Lake,
) -> None:
    """Two tables on one URI stand for two Function instances: their commits conflict, and retry."""
    _, table, _, _ = lake
    site = f"site-{uuid.uuid4().hex[:6]}"
    table.merge(lake_rows([wire_insight(site, 0, 7)]))  # the table exists before the race
    writers = [DeltaLakeTable(table.uri, table.options) for _ in range(3)]
    batches = [lake_rows([wire_insight(site, 1000 * w + i, 7) for i in range(1, 6)]) for w in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        inserted = list(pool.map(lambda pair: pair[0].merge(pair[1]), zip(writers, batches, strict=True)))
    assert inserted == [5, 5, 5]
    assert len(table.frame(site=site)) == 16


def test_each_tasks_prediction_and_typed_label_reach_the_lake_once(lake: Lake) -> None:
    feed, table, blobs, feedback_table = lake
    site = f"site-{uuid.uuid4().hex[:6]}"
    records = [
        wire_insight(site, 1, 8),
        task_insight(site, 2, "multiclass", "HDF"),
        task_insight(site, 3, "regression", 7.25),
        task_insight(site, 4, "regression", None),  # the model's output was not finite
        typed_feedback(1, 1),
        typed_feedback(2, "TWF"),
        typed_feedback(3, 6.5),
    ]
    event = put_blob(blobs, f"{site}/tasks.jsonl.gz", records)
    result = feed.deliver(event)
    assert (result.inserted, result.feedback_inserted) == (4, 3)
    again = feed.deliver(event)
    assert (again.inserted, again.feedback_inserted) == (0, 0)

    rows = arrow_rows(table, site)
    assert [(r["task"], r["predicted_class"], r["predicted_value"]) for r in rows] == [
        ("binary", None, None),
        ("multiclass", "HDF", None),
        ("regression", None, 7.25),
        ("regression", None, None),
    ]
    labels = arrow_rows(feedback_table, "x")
    assert [(r["insight_id"][-5:], r["label_class"], r["label_value"]) for r in labels] == [
        ("00001", None, 1.0),  # a binary model's outcome
        ("00002", "TWF", None),
        ("00003", None, 6.5),
    ]


def arrow_rows(table: DeltaLakeTable, site: str) -> list[dict[str, Any]]:
    """The site's rows, nulls as None (pandas would turn them into NaN), by insight id."""
    reread = DeltaTable(table.uri, storage_options=table.options)
    rows = reread.to_pyarrow_table(filters=[("site_id", "=", site)]).to_pylist()
    return sorted(rows, key=lambda row: str(row["insight_id"]))


OLD_INSIGHT_COLUMNS = [
    name for name in INSIGHTS_LAKE.columns if name not in ("task", "predicted_class", "predicted_value")
]


def test_a_table_written_before_the_task_columns_is_read_and_evolved(lake: Lake) -> None:
    """The schema a table had before the task columns: its rows read on, the next merge adds them."""
    _, new_table, _, _ = lake
    old_spec = LakeTableSpec(
        "insights", {n: INSIGHTS_LAKE.columns[n] for n in OLD_INSIGHT_COLUMNS}, "insight_id"
    )
    site = f"site-{uuid.uuid4().hex[:6]}"
    uri = f"{new_table.uri}-old"
    old = DeltaLakeTable(uri, new_table.options, old_spec)
    old_rows = [{n: row[n] for n in OLD_INSIGHT_COLUMNS} for row in lake_rows([wire_insight(site, 1, 9)])]
    write_deltalake(
        uri, pa.Table.from_pylist(old_rows, schema=old.schema), mode="append",
        partition_by=list(old_spec.partitions), storage_options=new_table.options,
    )  # fmt: skip
    assert set(DeltaTable(uri, storage_options=new_table.options).schema().to_arrow().names) == set(
        OLD_INSIGHT_COLUMNS
    )

    table = DeltaLakeTable(uri, new_table.options)  # today's spec on yesterday's table
    assert set(table.frame(site=site).columns) == set(OLD_INSIGHT_COLUMNS)  # read as it is
    inserted = table.merge(lake_rows([wire_insight(site, 1, 9), task_insight(site, 2, "regression", 1.5)]))
    assert inserted == 1
    rows = arrow_rows(table, site)
    assert set(rows[0]) == set(INSIGHTS_LAKE.columns)
    assert [(r["task"], r["predicted_value"]) for r in rows] == [
        (None, None),
        ("regression", 1.5),
    ]  # older: null
    assert sorted(table.inputs_since("2026-11-01")) == [r["insight_id"] for r in rows]
