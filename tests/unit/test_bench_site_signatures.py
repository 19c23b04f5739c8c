"""bench/site_signature_bench.py: the edge filter, the cloud read and ingest, each measured with and
without site signatures pair by pair (the bench asserts every signed blob passed the verifying reader,
so the "with" side did all its work). Rates are only checked to exist (no timed assertion)."""

from __future__ import annotations

from bench import site_signature_bench


def test_each_path_is_measured_with_and_without_signatures() -> None:
    results = site_signature_bench.measure(records=200, seconds=0.6, rounds=2)
    assert sorted(results) == ["edge", "ingest", "read"]
    for off, on in results.values():
        assert len(off) == len(on) == 2
        assert all(rate > 0 for rate in [*off, *on])
    assert [figure.key for figure in site_signature_bench.figures(results)] == [
        "sitesign_edge",
        "sitesign_read",
        "sitesign_ingest",
    ]


def test_each_part_is_timed_per_blob() -> None:
    micros = site_signature_bench.part_micros(records=200, seconds=0.2, rounds=1)
    assert sorted(micros) == ["read_and_validate", "sign", "site_ids", "verify"]
    assert all(value > 0 for value in micros.values())
