"""bench/feedback_check_bench.py: a detection label's check and its peer (a class name, the existence
check alone) both measured on the same insights, pair by pair (a label the check refused would raise,
so the check side ran whole). Rates are only checked to exist (no timed assertion)."""

from __future__ import annotations

from bench import feedback_check_bench


def test_the_check_and_its_peer_are_both_measured_pair_by_pair() -> None:
    peer, check = feedback_check_bench.measure(items=2, seconds=0.4, rounds=2)
    assert len(peer) == len(check) == 2
    assert all(rate > 0 for rate in [*peer, *check])
