"""An image model's camera tables through the real ``feed_powerbi`` function: compliant blob in
Azurite -> event -> rows, to the local sink and to the Power BI stand-in (which refuses a column
or a type its dataset lacks); a redelivered event pushes nothing more."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path

import orjson
import pytest
from support.fake_powerbi_server import FakePowerBI
from support.powerbi_function import feed_powerbi_as_configured, published_to_powerbi
from support.vision_records import IMAGE_DATASET, RECORDS

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.powerbi_local_sink import LocalRowSink
from edgeloop.domain.powerbi_dataset import service_body
from edgeloop.domain.powerbi_vision import CAMERA_CLASSES_TABLE, CAMERA_HOURS_TABLE
from edgeloop.ports import BlobWrittenEvent
from localdev.azurite import Azurite


def write_compliant_blob(store: AzureBlobStore) -> BlobWrittenEvent:
    name = f"site=site-a/date=2025-03-01/hour=12/{uuid.uuid4().hex}.jsonl.gz"
    data = gzip.compress(b"".join(orjson.dumps(record) + b"\n" for record in RECORDS))
    url = store.put("compliant", name, data, content_type="application/gzip")
    return BlobWrittenEvent(
        message_id=f"compliant/{name}", subject="compliant", blob_url=url, container="compliant",
        blob_name=name, site_id="site-a", record_count=len(RECORDS), insight_count=len(RECORDS),
        feedback_count=0,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["local", "service"])
def test_feed_powerbi_pushes_the_camera_hours_once(
    azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    connection = azurite.connection_string("cloud")
    store = AzureBlobStore.from_connection_string(connection)
    message = published_to_powerbi(connection, write_compliant_blob(store))
    definition = tmp_path / "dataset.json"
    definition.write_text(orjson.dumps(IMAGE_DATASET.definition()).decode(), encoding="utf-8")
    with FakePowerBI(token="local-token") as power_bi:
        dataset = power_bi.add_dataset(service_body(IMAGE_DATASET.definition()))
        feed_powerbi_as_configured(
            message, monkeypatch, tmp_path, connection=connection, mode=mode, power_bi=power_bi,
            dataset=dataset, definition=definition, deliveries=2,
        )  # fmt: skip
        if mode == "local":
            sink = LocalRowSink(tmp_path / "sink" / "edgeloop-insights")
            hours, classes = sink.read_rows(CAMERA_HOURS_TABLE), sink.read_rows(CAMERA_CLASSES_TABLE)
        else:
            hours, classes = (
                power_bi.rows(dataset, CAMERA_HOURS_TABLE),
                power_bi.rows(dataset, CAMERA_CLASSES_TABLE),
            )
            assert power_bi.statuses() == [200] * 4  # Insights, InsightValues, CameraHours, CameraHourClasses
    assert [(row["camera_id"], row["frames"], row["defects"]) for row in hours] == [
        (None, 1, 1), ("line-1", 2, 1), ("line-1", 1, 0),
    ]  # fmt: skip
    assert sum(int(str(row["count"])) for row in classes) == 4
