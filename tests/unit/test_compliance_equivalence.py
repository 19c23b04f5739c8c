"""The compiled PolicyEngine decides exactly as the engine first written (support/compliance_reference.py).

Generated policies (literal and ``*`` segments over a small key alphabet so rules
overlap and compete, every action, record rules) and generated records (those
keys and others, nested objects, lists, timestamps, numbers, keys that are not
strings) go through both engines; the filtered record (values, types and key
order), the refusing rule and reason, the audit counts, or the exception raised
must be identical, and so must the batch's audit summary. Records run in sequence
through one engine, so what the compiled engine remembers of earlier records can
never change a later decision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support.compliance_reference import ReferenceAuditSummary, ReferencePolicyEngine

from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.domain.compliance import AuditSummary, PolicyEngine, RecordDecision
from edgeloop.domain.compliance_policy import (
    CompliancePolicy,
    FieldRule,
    RecordRules,
    Requirement,
    parse_policy,
)

KEY = b"equivalence-test-site-key-0123456789"
KEYS = ["kind", "site_id", "a", "b", "c", "*"]  # "*" also as a record key: a literal, never a wildcard there

segments = st.sampled_from(KEYS)
patterns = st.lists(segments, min_size=1, max_size=3).map(tuple)
field_rules = st.one_of(
    st.builds(FieldRule, patterns, st.sampled_from(["allow", "drop", "pseudonymize"])),
    st.builds(
        FieldRule,
        patterns,
        st.just("generalize"),
        st.sampled_from(["minute", "hour", "day"]),
    ),
    st.builds(
        FieldRule,
        patterns,
        st.just("generalize"),
        st.none(),
        st.sampled_from([0.5, 1.0, 5.0, 1e-3, 7.25]),
    ),
    # Built directly, not parsed: neither granularity nor width (the engine still refuses, by name).
    st.builds(FieldRule, patterns, st.just("generalize")),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["insight", "feedback", "site-a", "", "M1", "2026-11-21T08:30:15.123456Z"]),
    st.sampled_from(["2026-11-21T08:30:15+02:00", "2026-11-21", "not a time", "2026-11-21T08:30:15"]),
    st.text(max_size=6),
)
record_keys = st.one_of(segments, st.text(max_size=3))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(record_keys, inner, max_size=4),
    ),
    max_leaves=10,
)
records = st.dictionaries(st.one_of(record_keys, st.integers(0, 2)), json_values, max_size=6)
record_rules = st.builds(
    RecordRules,
    keep_kinds=st.one_of(st.none(), st.frozensets(st.sampled_from(["insight", "feedback", "x"]))),
    exclude_sites=st.frozensets(st.sampled_from(["site-a", "site-b"]), max_size=1),
    require=st.lists(
        st.builds(Requirement, patterns, st.sampled_from(["yes", 1, None, True])), max_size=1
    ).map(tuple),
)
policies = st.builds(
    CompliancePolicy,
    fields=st.lists(field_rules, min_size=1, max_size=8).map(tuple),
    record_rules=record_rules,
)


def outcome(engine: Any, record: dict[Any, Any]) -> tuple[Any, ...]:
    """What a decision amounts to, compared by repr too (so 1, 1.0 and True differ, and key order counts)."""
    try:
        decision: RecordDecision = engine.decide(record)
    except (TypeError, ValueError, OverflowError) as exc:  # an error is an outcome: both must raise alike
        return ("raised", type(exc), str(exc))
    actions = sorted(decision.actions.items())
    return (repr(decision.record), decision.rejected_by, decision.reason, actions)


@settings(max_examples=400, deadline=None)
@given(policy=policies, batch=st.lists(records, min_size=1, max_size=6), cache=st.sampled_from([0, 3, 4096]))
def test_the_compiled_engine_decides_as_the_reference_does(
    policy: CompliancePolicy, batch: list[dict[Any, Any]], cache: int
) -> None:
    compiled = PolicyEngine(policy, KEY, max_cached_paths=cache)
    reference = ReferencePolicyEngine(policy, KEY)
    audit, reference_audit = AuditSummary(), ReferenceAuditSummary()
    for record in batch * 2:  # the second pass runs on what the first pass remembered
        assert outcome(compiled, record) == outcome(reference, record)
        if outcome(reference, record)[0] != "raised":
            audit.add(compiled.decide(record))
            reference_audit.add(reference.decide(record))
    audit.add_invalid()
    reference_audit.add_invalid()
    assert audit.to_dict() == reference_audit.to_dict()
    assert (audit.actions, audit.fields) == (reference_audit.actions, reference_audit.fields)


@settings(max_examples=200, deadline=None)
@given(value=scalars)
def test_pseudonyms_are_those_of_the_reference(value: Any) -> None:
    policy = parse_policy({"version": 1, "fields": {"a": "pseudonymize"}}, "p")
    assert PolicyEngine(policy, KEY).pseudonym(value) == ReferencePolicyEngine(policy, KEY).pseudonym(value)


def test_the_demo_policy_on_a_demo_insight_decides_as_the_reference_does() -> None:
    demo = load_compliance_policy(Path(__file__).resolve().parents[2] / "policies" / "compliance.yaml")
    record = {
        "kind": "insight",
        "schema_version": 1,
        "insight_id": "b" * 32 + "-00007",
        "site_id": "site-a",
        "scored_at": "2026-11-21T08:30:15.123456Z",
        "model": {"name": "ai4i-failure", "version": "1.0.0", "sha256": "ab" * 32},
        "inputs": {"type": "M", "air_temperature_k": 298.1, "torque_nm": 42.8, "tool_wear_min": 0.0},
        "outputs": {"failure_probability": 0.91, "ood_score": 0.3},
        "anomaly": True,
        "anomaly_kinds": ["high_risk"],
        "context": {"product_id": "M14860", "operator": "Jane Roe", "notes": "n", "badge": "7"},
        "extra": {"deep": 1},
    }
    assert outcome(PolicyEngine(demo, KEY), record) == outcome(ReferencePolicyEngine(demo, KEY), record)
