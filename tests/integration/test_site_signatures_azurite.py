"""Per-site signatures on Azurite: a site's own blobs are ingested; what it files as another's is not.

The sites write as deployed: the edge composition root with the create-only SAS localdev issues
and the site's signing key; the cloud reads through its composition roots (ingest) or the one
verifying reader (retraining's labelled rows and frames) with the sites' public keys. A
compromised site is played with the raw SDK on its own SAS and its own key: blobs under another
site's prefix, unsigned, edited after signing, a signature replayed on another name, another
site's records under its own name. Each is dead-lettered by ingest (a ClaimCheckError naming the
blob and why) and left out of training, counted. One Azurite of the module's own.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient
from contract.insight_factory import feedback, insight
from PIL import Image

from edgeloop.adapters.blob_storage import AzureBlobStore
from edgeloop.adapters.ed25519_signing import generate_key_pair
from edgeloop.adapters.pillow_decoder import PillowDecoder
from edgeloop.adapters.site_signed_blobs import SiteVerifiedBlobs
from edgeloop.adapters.site_signing import SiteBlobSigner
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.bootstrap.cloud import build_ingest
from edgeloop.bootstrap.edge import build_insight_filter
from edgeloop.bootstrap.site_trust import signing_blobs, verified_blobs
from edgeloop.config.cloud import CloudSettings
from edgeloop.config.edge_functions import EdgeFunctionSettings
from edgeloop.config.frames import FrameSettings
from edgeloop.config.retraining import RetrainingSettings
from edgeloop.domain.insights_view import InsightQuery
from edgeloop.domain.records import Record
from edgeloop.domain.tasks import parse_v1_task
from edgeloop.observability.tracing import NO_TRACER
from edgeloop.ports import BlobWrittenEvent, LabelledRow, SiteBlobRefused
from edgeloop.service_layer.labelled_frames import LabelledFrames
from edgeloop.service_layer.labelled_rows import read_labelled_rows
from edgeloop.wire.packing import pack_items
from edgeloop.wire.storage_layout import frame_blob_name, frame_document_name, jsonl_gz
from localdev.azurite import REPO_ROOT, Azurite
from localdev.site_credentials import prepare_cloud_for_sites, site_cloud_access

SITE, OTHER = "site-1", "site-2"
KEYS = {name: generate_key_pair() for name in ("site-1", "site-1-next", "site-2")}  # (private, public)
SINCE = datetime(2024, 4, 1, tzinfo=UTC)  # the factory's insights are of 2024-05-01


def trusted(*names: str) -> str:
    keys: dict[str, list[str]] = {}
    for name in names:
        keys.setdefault(name.removesuffix("-next"), []).append(KEYS[name][1])
    return orjson.dumps(keys).decode()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    emulator = Azurite.on_free_ports(tmp_path_factory.mktemp("site-signatures-azurite"))
    emulator.add_account("site1")
    emulator.start()
    try:
        prepare_cloud_for_sites(emulator, {})
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def access(cloud: Azurite) -> dict[str, str]:
    return site_cloud_access(cloud, {})


def cloud_settings(cloud: Azurite, tmp_path: Path, keys: str | None) -> CloudSettings:
    values: dict[str, Any] = {
        "CloudStorage": cloud.connection_string("cloud"),
        "CLOUD_SQLITE_PATH": tmp_path / "global.sqlite3",
    }
    if keys is not None:
        values["EDGELOOP_SITE_PUBLIC_KEYS"] = keys
    return CloudSettings.model_validate(values)


def stored_ids(tmp_path: Path) -> list[str]:
    store = SqliteInsightStore(tmp_path / "global.sqlite3")
    try:
        return sorted(item.record.insight_id for item in store.query(InsightQuery(limit=1000)).items)
    finally:
        store.close()


def site_compliant(access: dict[str, str]) -> ContainerClient:
    """The raw SDK on site-1's create-only SAS: what a compromised site could do with it."""
    return ContainerClient.from_container_url(access["EDGELOOP_COMPLIANT_STORAGE"])


def unique_name(site: str) -> str:
    return f"site={site}/date=2024-05-01/hour=12/{uuid.uuid4().hex}.jsonl.gz"


def create(
    access: dict[str, str], name: str, records: list[Record], metadata: dict[str, str] | None = None
) -> BlobWrittenEvent:
    """A blob created with site-1's SAS, and the claim-check event it would publish for it."""
    site_compliant(access).get_blob_client(name).upload_blob(
        jsonl_gz([record.to_wire() for record in records]), metadata=metadata
    )
    return event_for(name, len(records))


def event_for(name: str, count: int) -> BlobWrittenEvent:
    return BlobWrittenEvent(name, "compliant", f"http://x/{name}", "compliant", name, SITE, count, count, 0)


def signed(key: str, site: str, name: str, records: list[Record]) -> dict[str, str]:
    body = jsonl_gz([record.to_wire() for record in records])
    return SiteBlobSigner(KEYS[key][0], site).sign("compliant", name, body).to_metadata()


def test_a_site_signs_what_it_writes_and_the_cloud_ingests_it(
    cloud: Azurite, access: dict[str, str], tmp_path: Path
) -> None:
    settings = EdgeFunctionSettings.model_validate(
        access
        | {
            "EdgeStorage": cloud.connection_string("site1"),
            "EDGELOOP_SITE_ID": SITE,
            "EDGELOOP_SITE_HMAC_KEY": "site-signature-test-key-0123",
            "EDGELOOP_SITE_SIGNING_KEY": KEYS["site-1"][0],
            "EDGELOOP_COMPLIANCE_POLICY": REPO_ROOT / "policies" / "compliance.yaml",
        }
    )
    records = [insight(SITE, row=row, anomaly=row == 0) for row in range(3)]
    (body, _), *_ = pack_items([orjson.dumps(record.to_wire()) for record in records])
    written = build_insight_filter(settings, tracer=NO_TRACER).process_message(body)
    ingest = build_ingest(cloud_settings(cloud, tmp_path, trusted("site-1", "site-2")), tracer=NO_TRACER)
    for event in written.events:
        ingest.ingest(event)
    assert stored_ids(tmp_path) == sorted(record.insight_id for record in records)
    keyed = BlobServiceClient.from_connection_string(cloud.connection_string("cloud"))
    properties = keyed.get_blob_client("compliant", written.events[0].blob_name).get_blob_properties()
    assert set(properties.metadata) == {"edgeloop_site_signature", "edgeloop_site_key_id"}  # one create call


def attacks(access: dict[str, str]) -> dict[str, tuple[BlobWrittenEvent, str]]:
    """Each way a compromised site-1 may try to pass blobs off, and the refusal it must meet."""
    own = [insight(SITE)]
    honest = unique_name(SITE)
    create(access, honest, own, signed("site-1", SITE, honest, own))
    theirs = [insight(OTHER)]
    copied = unique_name(SITE)
    edited = unique_name(SITE)
    foreign = unique_name(SITE)
    other_prefix = unique_name(OTHER)
    return {
        "another site's prefix, its own key": (
            create(access, other_prefix, theirs, signed("site-1", OTHER, other_prefix, theirs)),
            "signed by key .*; site site-2's trusted keys",
        ),
        "unsigned": (create(access, unique_name(OTHER), theirs), "it is not signed"),
        "edited after signing": (
            create(access, edited, [insight(SITE)], signed("site-1", SITE, edited, own)),
            "no key of site site-1 signed this name and body",
        ),
        "a signature replayed on another name": (
            create(access, copied, own, signed("site-1", SITE, honest, own)),
            "no key of site site-1 signed this name and body",
        ),
        "another site's records under its own name": (
            create(access, foreign, theirs, signed("site-1", SITE, foreign, theirs)),
            "signed by site site-1 but holds records of site site-2",
        ),
    }


def test_what_a_site_files_as_another_or_alters_is_dead_lettered_by_ingest(
    cloud: Azurite, access: dict[str, str], tmp_path: Path
) -> None:
    ingest = build_ingest(cloud_settings(cloud, tmp_path, trusted("site-1", "site-2")), tracer=NO_TRACER)
    for attack, (event, why) in attacks(access).items():
        with pytest.raises(SiteBlobRefused, match=f"compliant/{event.blob_name}: refused, {why}"):
            ingest.ingest(event)
        assert stored_ids(tmp_path) == [], attack


def test_a_site_without_trusted_keys_is_refused_once_the_cloud_checks(
    cloud: Azurite, access: dict[str, str], tmp_path: Path
) -> None:
    records = [insight(SITE)]
    name = unique_name(SITE)
    event = create(access, name, records, signed("site-1", SITE, name, records))
    with pytest.raises(SiteBlobRefused, match="site site-1's trusted keys: none"):
        build_ingest(cloud_settings(cloud, tmp_path, trusted("site-2")), tracer=NO_TRACER).ingest(event)


def test_without_site_keys_the_cloud_reads_as_before_and_says_so_once(
    cloud: Azurite, access: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import edgeloop.bootstrap.site_trust as site_trust

    site_trust._said.discard("unchecked")
    records = [insight(SITE)]
    event = create(access, unique_name(SITE), records)  # unsigned
    with caplog.at_level(logging.WARNING, logger="edgeloop.bootstrap.site_trust"):
        ingest = build_ingest(cloud_settings(cloud, tmp_path, None), tracer=NO_TRACER)
        build_ingest(cloud_settings(cloud, tmp_path, None), tracer=NO_TRACER)
    ingest.ingest(event)
    assert stored_ids(tmp_path) == [records[0].insight_id]
    said = [r.getMessage() for r in caplog.records if "site signatures are not checked" in r.getMessage()]
    assert len(said) == 1


def test_a_rotated_key_is_trusted_beside_the_old_until_the_old_is_removed(
    cloud: Azurite, access: dict[str, str], tmp_path: Path
) -> None:
    before, after = [insight(SITE)], [insight(SITE)]
    old_name, new_name = unique_name(SITE), unique_name(SITE)
    old = create(access, old_name, before, signed("site-1", SITE, old_name, before))
    new = create(access, new_name, after, signed("site-1-next", SITE, new_name, after))
    both = build_ingest(cloud_settings(cloud, tmp_path, trusted("site-1", "site-1-next")), tracer=NO_TRACER)
    both.ingest(old)
    both.ingest(new)
    assert stored_ids(tmp_path) == sorted([before[0].insight_id, after[0].insight_id])
    rotated = build_ingest(cloud_settings(cloud, tmp_path, trusted("site-1-next")), tracer=NO_TRACER)
    rotated.ingest(new)
    with pytest.raises(SiteBlobRefused, match="signed by key"):
        rotated.ingest(old)


def test_training_reads_only_what_each_site_signed_and_counts_the_rest(
    cloud: Azurite, access: dict[str, str]
) -> None:
    own = insight(SITE, row=1)
    records = [own, feedback(own, 1)]
    name = unique_name(SITE)
    create(access, name, records, signed("site-1", SITE, name, records))
    forged = insight(OTHER, row=2)
    forged_records = [forged, feedback(forged, 1)]
    other_prefix = unique_name(OTHER)
    create(access, other_prefix, forged_records, signed("site-1", OTHER, other_prefix, forged_records))
    settings = RetrainingSettings.model_validate(
        {
            "CloudStorage": cloud.connection_string("cloud"),
            "EDGELOOP_SITE_PUBLIC_KEYS": trusted("site-1", "site-2"),
        }
    )
    reader = verified_blobs(AzureBlobStore.from_connection_string(cloud.connection_string("cloud")), settings)
    assert isinstance(reader, SiteVerifiedBlobs)
    task = parse_v1_task("risk", 0.5, ["risk"])
    rows, _, refused = read_labelled_rows(reader, "compliant", SINCE, task)
    insight_ids = {row.insight_id for row in rows}
    assert own.insight_id in insight_ids
    assert forged.insight_id not in insight_ids
    assert refused == sum(reader.refused.values()) >= 1  # other tests' attacks are in the container too
    assert reader.refused["unknown_key"] >= 1


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def put_frame(blobs: Any, site: str, frame_id: str, insight_id: str) -> None:
    name = frame_blob_name(site, "2024-05-01", frame_id, "png")
    document = {"frame_id": frame_id, "site_id": site, "insight_id": insight_id, "media_type": "image/png"}
    blobs.put("frames", name, png(), content_type="image/png")
    blobs.put("frames", frame_document_name(name), orjson.dumps(document), content_type="application/json")


def test_frames_join_training_only_when_their_site_signed_them(cloud: Azurite) -> None:
    keyed = AzureBlobStore.from_connection_string(cloud.connection_string("cloud"))
    frame_settings = FrameSettings.model_validate({"EDGELOOP_SITE_SIGNING_KEY": KEYS["site-1"][0]})
    site_frames = signing_blobs(keyed, frame_settings, SITE)  # as bootstrap/frames.py wraps the upload
    put_frame(site_frames, SITE, "own-frame", "i-own")
    with pytest.raises(ValueError, match="filed under site site-2"):  # a site signs its own only
        put_frame(site_frames, OTHER, "their-frame", "i-theirs")
    put_frame(keyed, OTHER, "their-frame", "i-theirs")  # written unsigned, as a site without the key
    settings = RetrainingSettings.model_validate(
        {
            "CloudStorage": cloud.connection_string("cloud"),
            "EDGELOOP_SITE_PUBLIC_KEYS": trusted("site-1", "site-2"),
        }
    )
    labels = [
        LabelledRow(iid, {}, "defect", site, None, None)
        for iid, site in (("i-own", SITE), ("i-theirs", OTHER))
    ]
    join = LabelledFrames(verified_blobs(keyed, settings), PillowDecoder()).join(labels, SINCE, "image")
    assert [row.insight_id for row in join.rows] == ["i-own"]
    assert join.report()["refused_frames"] == 1
    with pytest.raises(SiteBlobRefused, match="it is not signed"):
        verified_blobs(keyed, settings).get(
            "frames", frame_blob_name(OTHER, "2024-05-01", "their-frame", "png")
        )


def test_the_power_bi_and_lake_feeds_refuse_what_ingest_refuses(
    cloud: Azurite, access: dict[str, str], tmp_path: Path
) -> None:
    from edgeloop.bootstrap.lake import build_lake_feed
    from edgeloop.bootstrap.powerbi import build_feed
    from edgeloop.config.lake import LakeSettings
    from edgeloop.config.powerbi import PowerBISettings

    theirs = [insight(OTHER)]
    name = unique_name(OTHER)
    forged = create(access, name, theirs, signed("site-1", OTHER, name, theirs))
    keys = {
        "CloudStorage": cloud.connection_string("cloud"),
        "EDGELOOP_SITE_PUBLIC_KEYS": trusted("site-1", "site-2"),
    }
    powerbi = build_feed(
        PowerBISettings.model_validate(
            keys | {"sink_dir": tmp_path / "powerbi", "ledger_path": tmp_path / "ledger.sqlite3"}
        )
    )
    lake = build_lake_feed(LakeSettings.model_validate(keys))
    for feed in (powerbi, lake):
        with pytest.raises(SiteBlobRefused, match=f"compliant/{name}: refused, signed by key"):
            feed.deliver(forged)
    assert [path for path in (tmp_path / "powerbi").rglob("*") if path.is_file()] == []  # no row pushed


def test_a_renamed_records_container_is_verified_too(cloud: Azurite) -> None:
    """RETRAIN_COMPLIANT_CONTAINER may name another container: it is read as the sites' records."""
    keyed = AzureBlobStore.from_connection_string(cloud.connection_string("cloud"))
    name = unique_name(OTHER)
    keyed.put(
        "compliant-renamed", name, jsonl_gz([insight(OTHER).to_wire()]), content_type="application/gzip"
    )
    settings = RetrainingSettings.model_validate(
        {
            "CloudStorage": cloud.connection_string("cloud"),
            "EDGELOOP_SITE_PUBLIC_KEYS": trusted("site-1", "site-2"),
            "RETRAIN_COMPLIANT_CONTAINER": "compliant-renamed",
        }
    )
    reader = verified_blobs(keyed, settings, settings.compliant_container)
    with pytest.raises(SiteBlobRefused, match=f"compliant-renamed/{name}: refused, it is not signed"):
        reader.get("compliant-renamed", name)
