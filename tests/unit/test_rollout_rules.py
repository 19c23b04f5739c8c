"""Staged rollouts, pure: plans resolve to rings, transitions, what each site serves, decisions
from ring evidence, and the documents' round trips (edgeloop.domain.rollout*)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeloop.domain.rollout import RolloutError, RolloutPlan, RolloutState, Thresholds, start_rollout
from edgeloop.domain.rollout_documents import plan_from_dict, plan_to_dict, state_from_dict, state_to_dict
from edgeloop.domain.rollout_evidence import RingEvidence, VersionFigures, decide
from edgeloop.domain.shadow_agreement import ShadowSummary

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
FLEET = ("site-1", "site-2", "site-3")
PLAN = RolloutPlan(
    rings=(("site-1",), ("site-2",)), soak=timedelta(minutes=30), thresholds=Thresholds(min_rows=100)
)


def started(plan: RolloutPlan = PLAN, excluded: dict[str, str] | None = None) -> RolloutState:
    return start_rollout(plan, "m", "2", "1", FLEET, NOW, "test", "promoted", excluded)


def figures(rows: int, anomalies: int = 0, **others: int) -> VersionFigures:
    return VersionFigures(rows=rows, anomalies=anomalies, **others)


def evidence(
    state: RolloutState, candidate: VersionFigures, previous: VersionFigures | None = None
) -> RingEvidence:
    serving = {site: state.candidate for site in state.current_sites()}
    return RingEvidence(candidate, previous or figures(1000, 20), serving)


def test_a_list_plan_puts_unnamed_sites_in_the_last_ring_and_ring_0_serves_first() -> None:
    state = started()
    assert state.rings == (("site-1",), ("site-2", "site-3"))
    assert [state.version_for(site) for site in FLEET] == ["2", "1", "1"]
    assert state.version_for("site-new") == "1"  # joined after the start: the previous model


def test_rings_advance_to_complete_and_then_every_site_serves_the_candidate() -> None:
    state = started().advanced("cli", "ok", NOW + timedelta(hours=1))
    assert (state.ring, state.phase) == (1, "soaking")
    assert [state.version_for(site) for site in FLEET] == ["2", "2", "2"]
    done = state.advanced("cli", "ok", NOW + timedelta(hours=2))
    assert done.phase == "complete"
    assert done.version_for("site-new") == "2"
    assert [event.action for event in done.history] == ["start", "advance", "complete"]
    with pytest.raises(RolloutError, match="complete"):
        done.halted("cli", "late", NOW)


def test_a_rollback_returns_every_site_except_pins_and_excluded_sites_keep_the_previous() -> None:
    state = started(excluded={"site-1": "worse on its own slice"}).pinned("site-3", "2", "ops", "try", NOW)
    assert state.version_for("site-1") == "1"
    assert state.version_for("site-3") == "2"
    back = state.rolled_back("watch", "anomaly rate", NOW)
    assert [back.version_for(site) for site in FLEET] == ["1", "1", "2"]
    assert back.history[-1].reason == "anomaly rate"
    assert back.history[-1].actor == "watch"
    unpinned = back.pinned("site-3", None, "ops", "done", NOW)
    assert unpinned.version_for("site-3") == "1"
    with pytest.raises(RolloutError, match="not pinned"):
        unpinned.pinned("site-3", None, "ops", "again", NOW)


def test_a_halt_freezes_the_rings_and_advance_resumes() -> None:
    halted = started().halted("ops", "holiday", NOW)
    assert halted.version_for("site-1") == "2"
    assert halted.version_for("site-2") == "1"
    assert decide(halted, evidence(halted, figures(500)), NOW + timedelta(days=1)).action == "soak"
    assert halted.advanced("ops", "back", NOW).ring == 1


def test_the_decision_soaks_until_time_rows_and_sites_allow_then_advances() -> None:
    state = started()
    soon = NOW + timedelta(minutes=5)
    assert decide(state, evidence(state, figures(500, 10)), soon).action == "soak"
    later = NOW + timedelta(minutes=31)
    few = decide(state, evidence(state, figures(50, 1)), later)
    assert few.action == "soak"
    assert "50 of 100 rows" in few.reasons[0]
    behind = decide(state, RingEvidence(figures(500, 10), figures(1000, 20), {"site-1": "1"}), later)
    assert behind.action == "soak"
    assert "waiting for site-1" in behind.reasons[0]
    drifting = RingEvidence(figures(500, 10), figures(1000, 20), {"site-1": "2"}, ("site-1",))
    assert decide(state, drifting, later).action == "soak"
    assert decide(state, evidence(state, figures(500, 10)), later).action == "advance"


@pytest.mark.parametrize(
    ("candidate", "previous", "said"),
    [
        (figures(200, 100), figures(1000, 20), "anomaly rate 50.00%"),
        (figures(10, golden_failures=1), figures(1000, 20), "golden check failed"),
        (figures(200, errors=10), figures(1000, 20), "error rate"),
        (
            figures(200, feedback=50, feedback_correct=30),
            figures(1000, feedback=50, feedback_correct=45),
            "accuracy",
        ),
    ],
)
def test_bad_evidence_rolls_back_before_the_soak_ends(
    candidate: VersionFigures, previous: VersionFigures, said: str
) -> None:
    state = started()
    decision = decide(state, evidence(state, candidate, previous), NOW + timedelta(minutes=1))
    assert decision.action == "roll_back"
    assert said in " ".join(decision.reasons)


def shadowed(rows: int, agreed: int, labelled: int = 0, served: int = 0, shadow: int = 0) -> ShadowSummary:
    return ShadowSummary("site-1", "m", "1", "2", "binary", rows, agreed, labelled, served, shadow)


def test_the_candidates_shadow_insights_on_the_ring_judge_it_and_show_in_the_evidence() -> None:
    strict = RolloutPlan(
        rings=PLAN.rings, soak=PLAN.soak, thresholds=Thresholds(min_rows=100, min_shadow_agreement=0.9)
    )
    state, later = started(strict), NOW + timedelta(hours=1)
    good = evidence(state, figures(500, 10))

    def with_shadow(summary: ShadowSummary) -> RingEvidence:
        return RingEvidence(good.candidate, good.previous, good.serving, shadow=(summary,))

    assert decide(state, with_shadow(shadowed(200, 195)), later).action == "advance"
    disagreeing = decide(state, with_shadow(shadowed(200, 150)), later)
    assert disagreeing.action == "roll_back"
    assert "in shadow on site-1, 2 agreed with 1 on 75.0% of 200 rows" in " ".join(disagreeing.reasons)
    assert decide(state, with_shadow(shadowed(50, 10)), later).action == "advance"  # too few to judge
    worse = decide(state, with_shadow(shadowed(200, 190, labelled=40, served=36, shadow=28)), later)
    assert worse.action == "roll_back"
    assert "right on 70.0% of 40 labelled rows" in " ".join(worse.reasons)
    assert with_shadow(shadowed(200, 195)).to_dict()["shadow"][0]["agreement_rate"] == 0.975


def test_a_ring_whose_sites_all_keep_their_version_advances_without_soaking() -> None:
    state = started(excluded={"site-1": "worse on its own rows"})
    decision = decide(state, RingEvidence(figures(0), figures(0)), NOW)
    assert (decision.action, decision.reasons) == ("advance", ("ring 0: none of its sites is to serve 2",))


def test_a_quiet_previous_model_does_not_make_one_anomaly_a_rollback() -> None:
    state = started()
    decision = decide(state, evidence(state, figures(200, 2), figures(1000, 0)), NOW + timedelta(hours=1))
    assert decision.action == "advance"


def test_percentages_resolve_to_the_same_rings_whatever_the_order_of_the_fleet() -> None:
    plan = RolloutPlan(percentages=(10, 50, 100))
    fleet = [f"site-{n}" for n in range(20)]
    rings = plan.resolve("m", fleet)
    assert rings == plan.resolve("m", list(reversed(fleet)))
    assert [len(ring) for ring in rings] == [2, 8, 10]


@given(
    st.sets(st.text("abcdef0123", min_size=1, max_size=6), max_size=30),
    st.lists(st.floats(1, 99), max_size=3),
)
def test_percentage_rings_cover_the_fleet_once(fleet: set[str], shares: list[float]) -> None:
    plan = RolloutPlan(percentages=(*sorted(set(shares)), 100))
    rings = plan.resolve("m", sorted(fleet))
    listed = [site for ring in rings for site in ring]
    assert sorted(listed) == sorted(fleet)
    assert len(listed) == len(set(listed))


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"rings": [["a"]], "percentages": [100]}, "not both"),
        ({"rings": [["a"], ["a"]]}, "one ring only"),
        ({"percentages": [50, 20, 100]}, "percentages"),
        ({"percentages": [50]}, "last ring must be 100"),
        ({"rings": [["a"]], "thresholds": {"min_rows": 1.5}}, "thresholds.min_rows"),
        ({"rings": [["a"]], "thresholds": {"nope": 1}}, "thresholds.nope"),
        ({"rings": [["a"]], "soak": 3}, "unknown field"),
        ({"rings": "a"}, "'rings'"),
    ],
)
def test_a_bad_plan_names_its_field(document: dict[str, object], field: str) -> None:
    with pytest.raises(RolloutError, match=field):
        plan_from_dict(document)


def test_plans_and_states_survive_their_documents() -> None:
    plan = plan_from_dict(
        {"rings": [["site-1"], ["site-2"]], "soak_minutes": 30, "thresholds": {"min_rows": 100}}
    )
    assert plan == PLAN
    assert plan_from_dict(plan_to_dict(plan)) == plan
    state = (
        started(excluded={"site-2": "unfit"})
        .pinned("site-3", "0", "ops", "x", NOW)
        .rolled_back("w", "y", NOW)
    )
    assert state_from_dict(state_to_dict(state)) == state


def test_the_heartbeats_refused_versions_pass_the_demo_policy_and_read_back() -> None:
    from pathlib import Path

    from edgeloop.config.edge_functions import load_compliance_policy
    from edgeloop.domain.compliance import PolicyEngine
    from edgeloop.domain.records import ModelRef
    from edgeloop.domain.site_status import SiteStatusRecord, new_status_id, site_status_from_wire

    policy = Path(__file__).resolve().parents[2] / "policies" / "compliance.yaml"
    engine = PolicyEngine(load_compliance_policy(policy), b"unit-test-site-key-0123456789")
    status = SiteStatusRecord(
        new_status_id(), "s1", NOW, ModelRef("m", "1", "ab" * 32), rejected_versions=("2",)
    )
    decision = engine.decide(status.to_wire())
    assert decision.record is not None
    assert site_status_from_wire(decision.record) == status
