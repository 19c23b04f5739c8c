"""Base data under a blob prefix (``blob://container/prefix``), read through the BlobReader port
from a real Azurite: every CSV (or Parquet) blob under the prefix, in name order, mapped."""

from __future__ import annotations

import io
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.domain.recipes import BaseDataSpec
from edgeloop.domain.tasks import BinaryTask, RegressionTask
from edgeloop.training.base_data import BaseDataError, load_base_data
from localdev.azurite import Azurite

COLUMNS = {"Speed [rpm]": "speed_rpm", "Grade": "grade"}


def csv_part(first: int, count: int) -> bytes:
    lines = ["Speed [rpm],Grade,Failed,Unused"]
    lines += [f"{1000 + i},{'AB'[i % 2]},{int(i % 5 == 0)},x" for i in range(first, first + count)]
    return ("\n".join(lines) + "\n").encode()


def test_every_csv_blob_under_the_prefix_is_read_in_name_order(azurite: Azurite) -> None:
    store = AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))
    container = f"base-{uuid.uuid4().hex[:8]}"
    store.put(container, "plant/2030/part-2.csv", csv_part(20, 10), content_type="text/csv")
    store.put(container, "plant/2030/part-1.csv", csv_part(0, 20), content_type="text/csv")
    store.put(container, "plant/notes.txt", b"not data", content_type="text/plain")
    store.put(container, "elsewhere/part-9.csv", csv_part(90, 5), content_type="text/csv")
    spec = BaseDataSpec(f"blob://{container}/plant/", "csv", COLUMNS, "Failed")
    base = load_base_data(spec, BinaryTask("r", 0.5), reader=store)
    assert base.n_rows == 30
    assert base.features["speed_rpm"].tolist() == [1000.0 + i for i in range(30)]
    assert base.labels.sum() == 6
    assert base.source == f"blob://{container}/plant/ (2 files)"
    with pytest.raises(BaseDataError, match="no csv data found"):
        load_base_data(
            BaseDataSpec(f"blob://{container}/none/", "csv", COLUMNS, "Failed"),
            BinaryTask("r", 0.5),
            reader=store,
        )


def test_parquet_blobs_and_a_setting_that_points_elsewhere(azurite: Azurite) -> None:
    store = AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))
    container = f"base-{uuid.uuid4().hex[:8]}"
    buffer = io.BytesIO()
    pq.write_table(pa.table({"Speed [rpm]": [1.0, 2.0], "Grade": ["A", "B"], "Minutes": [3, 4]}), buffer)
    store.put(container, "lines/a.parquet", buffer.getvalue(), content_type="application/octet-stream")
    spec = BaseDataSpec("data/never-read.parquet", "parquet", COLUMNS, "Minutes")
    base = load_base_data(spec, RegressionTask("m"), reader=store, uri=f"blob://{container}/lines")
    assert base.labels.tolist() == [3.0, 4.0]
    assert base.features["grade"].tolist() == ["A", "B"]
