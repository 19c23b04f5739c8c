"""Image insights from the edge to the vision counters of the global store, on Azurite.

Frames scored by the image use case (a real tiny graph, the SQLite outbox), packed as the relay
packs them, through the real compliance filter (the demo policy) into compliant blobs, then the
real ingest (each event the filter published, delivered twice) into a SQLite global store: the
camera survives the policy, and the store's vision counters say what the site scored, once."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from support.image_bundles import tiny_image_bundle
from support.image_files import encoded

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.onnx_model import OnnxModel
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.sqlite_outbox import SqliteOutbox
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.bootstrap.edge import build_insight_filter
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.domain.images import ImageSource, UploadedImage
from edgeloop.domain.vision_counts import UPLOADS
from edgeloop.service_layer.image_scoring import ImageScoringService
from edgeloop.service_layer.ingest import InsightIngest
from edgeloop.wire.packing import pack_items
from localdev.azurite import Azurite

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_sites_frames_reach_the_vision_counters_per_camera_once(azurite: Azurite, tmp_path: Path) -> None:
    site = f"site-{uuid.uuid4().hex[:8]}"
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite3", 1000)
    model = OnnxModel.load(tiny_image_bundle(tmp_path / "bundle"))
    images = ImageScoringService(outbox, site, lambda: model, PillowDecoder())
    bright, dark = (np.full((8, 8, 3), level, dtype=np.uint8) for level in (240, 12))
    images.score_frames([bright, bright, dark], ImageSource.camera("line-3-east"))
    images.score_frames([dark], ImageSource.camera("dock"))
    images.score_uploads([UploadedImage("Jane Roe.png", "image/png", encoded(bright))])
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
    events = []
    for body, _ in pack_items([item for entry in entries for item in entry.items]):
        events += insight_filter.process_message(body).events

    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    ingest = InsightIngest(AzureBlobStore.from_connection_string(azurite.connection_string("cloud")), store)
    for event in [*events, *events]:  # redelivered: counted once
        ingest.ingest(event)
    found = {key.camera_id: counts for key, counts in store.vision_hours(None, None, site_id=site)}
    store.close()
    assert sorted(found) == sorted([UPLOADS, "dock", "line-3-east"])
    line = found["line-3-east"]
    assert (line.frames, line.defects, line.classes) == (3, 1, (("bright", 2), ("dark", 1)))
    assert (found["dock"].frames, found["dock"].defects) == (1, 1)
    assert (found[UPLOADS].frames, found[UPLOADS].classes) == (1, (("bright", 1),))
