"""Image insights through the edge's compliance filter to the cloud account, on Azurite.

Frames are scored by the image use case (a real tiny graph, the SQLite outbox), the outbox
entry is packed as the relay packs it, and the real filter (build_insight_filter, the demo
compliance policy) writes what may leave the site: every image's insight reaches ``compliant``
(the defect ones ``anomalies`` too), whole, with its camera and source, nothing quarantined;
no blob holds a pixel value (a canary colour) or a file name."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from support.image_bundles import tiny_image_bundle
from support.image_files import encoded

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.bootstrap.edge import build_insight_filter
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.domain.images import ImageSource, UploadedImage
from edgeloop.service_layer.image_scoring import ImageScoringService
from edgeloop.wire.packing import pack_items
from localdev.azurite import Azurite

REPO_ROOT = Path(__file__).resolve().parents[2]
CANARY = (201, 13, 177)  # no output, id or time could spell these three together


def cloud_records(cloud: AzureBlobStore, container: str, site: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for name in cloud.list_names(container, prefix=f"site={site}/"):
        data = gzip.decompress(cloud.get(container, name))
        assert b"201, 13, 177" not in data
        assert b"[201,13,177]" not in data
        records += [json.loads(line) for line in data.splitlines()]
    return records


def test_image_insights_pass_the_filter_whole_and_carry_no_pixels(azurite: Azurite, tmp_path: Path) -> None:
    site = f"site-{uuid.uuid4().hex[:8]}"
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite3", 1000)
    model = OnnxModel.load(tiny_image_bundle(tmp_path / "bundle"))
    images = ImageScoringService(outbox, site, lambda: model, PillowDecoder())
    canary = np.empty((8, 8, 3), dtype=np.uint8)
    canary[:] = CANARY
    dark = np.full((8, 8, 3), 12, dtype=np.uint8)
    from_camera = images.score_frames([canary, dark], ImageSource.camera("line-3-east"))
    uploaded = images.score_uploads([UploadedImage("Jane Roe, station 4.png", "image/png", encoded(dark))])
    entries = outbox.claim(100, 60.0)
    outbox.close()
    settings = EdgeFunctionSettings(
        EdgeStorage=azurite.connection_string("edge"),
        CloudStorage=azurite.connection_string("cloud"),
        ServiceBusConnection=azurite.connection_string("cloud"),
        EDGELOOP_SITE_HMAC_KEY="image-test-site-key-0123456789",
        EDGELOOP_COMPLIANCE_POLICY=str(REPO_ROOT / "policies" / "compliance.yaml"),
        EDGELOOP_INSIGHTS_TOPIC=f"t{uuid.uuid4().hex[:12]}",
    )
    insight_filter = build_insight_filter(settings)
    for body, _ in pack_items([item for entry in entries for item in entry.items]):
        result = insight_filter.process_message(body)
        assert result.quarantined == 0

    cloud = AzureBlobStore.from_connection_string(azurite.connection_string("cloud"))
    compliant = {record["insight_id"]: record for record in cloud_records(cloud, "compliant", site)}
    expected = [image.insight_id for image in (*from_camera.images, *uploaded.images)]
    assert sorted(compliant) == sorted(expected)
    camera = compliant[from_camera.images[1].insight_id]
    assert camera["inputs"] == {}
    assert camera["context"] == {"source": "camera", "camera_id": "line-3-east"}
    assert camera["prediction"] == "dark"
    assert camera["anomaly_kinds"] == ["alert_class"]
    assert compliant[uploaded.images[0].insight_id]["context"] == {"source": "upload"}
    assert b"Jane" not in orjson.dumps(list(compliant.values()))
    anomalies = {record["insight_id"] for record in cloud_records(cloud, "anomalies", site)}
    flagged = {image.insight_id for image in (*from_camera.images, *uploaded.images) if image.anomaly}
    assert anomalies == flagged
    assert from_camera.images[1].insight_id in flagged
