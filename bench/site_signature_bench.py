"""The cost of per-site signatures: the edge filter signing its blobs, the cloud's ingest verifying them.

``python -m bench.site_signature_bench [--seconds S] [--rounds R] [--records N]``. The demo's
insight records (bench.compliance_bench), packed as the relay packs them, in one process, each
side against the same path without signatures, in interleaved pairs of slices (bench.slices):

- ``edge``: ``InsightFilter.process_message`` of every message (unpack, validate, the policy,
  gzipped JSON Lines, the claim-check events) into in-memory blob stores: as deployed
  (``SiteSignedBlobs``: sha256 of each blob, an Ed25519 signature, its metadata) against the
  plain store. No network: the CPU a Functions host spends, where the signature is most visible.
- ``read``: what ingest does before the store, per blob: read it and validate every record
  (``records_from_blob``), through ``SiteVerifiedBlobs`` (the signature checked, every record's
  ``site_id`` read) against the plain reader.
- ``ingest``: ``InsightIngest.ingest`` whole, into a real SQLite global store (the upserts are
  idempotent, so each slice rewrites the same rows), verifying against not.

Each figure is the ratio of the rates (with / without): what signatures leave of the path. The
parts alone, in microseconds per blob (best of interleaved slices): ``sign`` (sha256 and Ed25519),
``verify`` (the signature check only) and ``site_ids`` (every record's ``site_id`` read again).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from bench.compliance_bench import HMAC_KEY, MemoryPublisher, demo_records
from bench.report import Figure
from bench.rows import REPO_ROOT
from bench.slices import best_rates, paired_rates
from edgeloop.adapters.ed25519_signing import generate_key_pair
from edgeloop.adapters.site_signed_blobs import SiteSignedBlobs, SiteVerifiedBlobs, record_site_ids
from edgeloop.adapters.site_signing import SiteBlobSigner, SiteKeyring
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.domain.compliance import PolicyEngine
from edgeloop.domain.site_signatures import check_site_blob
from edgeloop.ports import BlobWrittenEvent
from edgeloop.service_layer.filtering import InsightFilter
from edgeloop.service_layer.ingest import InsightIngest, records_from_blob
from edgeloop.wire.packing import pack_items
from edgeloop.wire.storage_layout import COMPLIANT_CONTAINER

SITE = "site-bench"  # the demo records' site


class MetadataBlobs:
    """Blobs and their metadata in memory: the stores' writes and reads without the network."""

    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], tuple[bytes, dict[str, str]]] = {}

    def put(
        self,
        container: str,
        name: str,
        data: bytes,
        *,
        content_type: str,
        overwrite: bool = True,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        self.blobs[(container, name)] = (data, dict(metadata or {}))
        return f"memory://{container}/{name}"

    def get(self, container: str, name: str) -> bytes:
        return self.blobs[(container, name)][0]

    def get_with_metadata(self, container: str, name: str) -> tuple[bytes, dict[str, str]]:
        data, metadata = self.blobs[(container, name)]
        return data, dict(metadata)

    def list_names(self, container: str, prefix: str | None = None) -> list[str]:
        return sorted(n for c, n in self.blobs if c == container and n.startswith(prefix or ""))


def measure(
    records: int = 2000, seconds: float = 6.0, rounds: int = 6
) -> dict[str, tuple[list[float], list[float]]]:
    """Per side (``edge``, ``read``, ``ingest``): the rates without and with signatures, pair by pair."""
    private, public = generate_key_pair()
    signer, keyring = SiteBlobSigner(private, SITE), SiteKeyring({SITE: [public]})
    engine = PolicyEngine(load_compliance_policy(REPO_ROOT / "policies" / "compliance.yaml"), HMAC_KEY)
    bodies = [body for body, _ in pack_items([orjson.dumps(r) for r in demo_records(records)])]
    plain_filter = InsightFilter(engine, MetadataBlobs(), MetadataBlobs(), MemoryPublisher())
    signed_cloud = MetadataBlobs()
    signing_filter = InsightFilter(
        engine, SiteSignedBlobs(signed_cloud, signer), MetadataBlobs(), MemoryPublisher()
    )
    results = {
        "edge": _pair(plain_filter.process_message, signing_filter.process_message, bodies, seconds, rounds)
    }
    events = [e for body in bodies for e in signing_filter.process_message(body).events]
    events = [e for e in events if e.container == COMPLIANT_CONTAINER]
    verified = SiteVerifiedBlobs(signed_cloud, keyring)

    def reading(reader: Any) -> Callable[[BlobWrittenEvent], object]:
        return lambda e: records_from_blob(reader.get(e.container, e.blob_name), e.blob_name)

    results["read"] = _pair(reading(signed_cloud), reading(verified), events, seconds, rounds)
    with tempfile.TemporaryDirectory(prefix="edgeloop-sitesign-bench-") as tmp:
        store = SqliteInsightStore(Path(tmp) / "global.sqlite3")
        plain, checked = InsightIngest(signed_cloud, store), InsightIngest(verified, store)
        results["ingest"] = _pair(plain.ingest, checked.ingest, events, seconds, rounds)
        store.close()
    assert not verified.refused, verified.refused  # every blob passed: the "on" side did it all
    return results


def part_micros(records: int = 2000, seconds: float = 3.0, rounds: int = 6) -> dict[str, float]:
    """Microseconds per compliant blob of each part alone (the filter's blobs of ``records``)."""
    private, public = generate_key_pair()
    signer, keyring = SiteBlobSigner(private, SITE), SiteKeyring({SITE: [public]})
    engine = PolicyEngine(load_compliance_policy(REPO_ROOT / "policies" / "compliance.yaml"), HMAC_KEY)
    cloud = MetadataBlobs()
    use_case = InsightFilter(engine, SiteSignedBlobs(cloud, signer), MetadataBlobs(), MemoryPublisher())
    for body, _ in pack_items([orjson.dumps(r) for r in demo_records(records)]):
        use_case.process_message(body)
    blobs = [(name, *cloud.get_with_metadata(c, name)) for c, name in cloud.blobs if c == COMPLIANT_CONTAINER]
    runs = {
        "sign": lambda: [signer.sign(COMPLIANT_CONTAINER, name, data) for name, data, _ in blobs],
        "verify": lambda: [check_site_blob(COMPLIANT_CONTAINER, n, d, m, keyring) for n, d, m in blobs],
        "site_ids": lambda: [list(record_site_ids(data)) for _, data, _ in blobs],
        "read_and_validate": lambda: [records_from_blob(data, name) for name, data, _ in blobs],
    }
    return {part: 1e6 / rate for part, rate in best_rates(runs, len(blobs), seconds, rounds).items()}


def _pair(
    off: Callable[[Any], object],
    on: Callable[[Any], object],
    items: Sequence[Any],
    seconds: float,
    rounds: int,
) -> tuple[list[float], list[float]]:
    """Both over all ``items`` a call: rates in items a second."""
    return paired_rates(
        lambda: [off(item) for item in items],
        lambda: [on(item) for item in items],
        len(items),
        seconds,
        rounds,
    )


def ratio(rates: tuple[list[float], list[float]]) -> float:
    off, on = rates
    return statistics.median(b / a for a, b in zip(off, on, strict=True))


NAMES = {
    "edge": "edge filter, signing each blob / without (per message)",
    "read": "cloud read and validate, verifying / without (per blob)",
    "ingest": "cloud ingest into SQLite, verifying / without (per blob)",
}


def figures(results: dict[str, tuple[list[float], list[float]]]) -> list[Figure]:
    return [
        Figure(f"sitesign_{side}", f"site signatures: {NAMES[side]}", ratio(rates), "x", "")
        for side, rates in results.items()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.site_signature_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per side")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved pairs of slices")
    parser.add_argument("--records", type=int, default=2000, help="demo records through the filter")
    args = parser.parse_args(argv)
    results = measure(args.records, args.seconds, args.rounds)
    print("| path | without /s | with /s | with / without (median of pairs) |")
    print("| --- | --- | --- | --- |")
    for side, rates in results.items():
        off, on = (statistics.median(side_rates) for side_rates in rates)
        print(f"| {NAMES[side]} | {off:,.1f} | {on:,.1f} | {ratio(rates):.3f}x |")
    print("\n| part, per compliant blob | microseconds |\n| --- | --- |")
    for part, micros in part_micros(args.records).items():
        print(f"| {part} | {micros:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
