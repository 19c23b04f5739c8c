"""The compliance policy engine (pure) and the demo policy file."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest

from edgeloop.config.edge_functions import load_compliance_policy
from edgeloop.domain.compliance import AuditSummary, PolicyEngine, PolicyError, parse_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_POLICY = REPO_ROOT / "policies" / "compliance.yaml"
KEY = b"unit-test-site-key-0123456789"


def insight_wire(**overrides: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "kind": "insight",
        "schema_version": 1,
        "insight_id": "a" * 32 + "-00001",
        "site_id": "site-a",
        "scored_at": "2026-11-21T08:30:15.123456Z",
        "model": {"name": "ai4i", "version": "1.0.0", "sha256": "ab" * 32},
        "inputs": {"type": "M", "torque_nm": 42.5},
        "outputs": {"failure_probability": 0.91},
        "anomaly": True,
        "anomaly_kinds": ["risk"],
        "context": {"product_id": "M14860", "operator": "Jane Roe", "notes": "smells of smoke"},
    }
    wire.update(overrides)
    return wire


def engine(fields: dict[str, Any], record_rules: dict[str, Any] | None = None) -> PolicyEngine:
    document: dict[str, Any] = {"version": 1, "fields": fields}
    if record_rules is not None:
        document["record_rules"] = record_rules
    return PolicyEngine(parse_policy(document, "test.yaml"), KEY)


def test_demo_policy_drops_operator_and_notes_and_pseudonymizes_the_product() -> None:
    demo = PolicyEngine(load_compliance_policy(DEMO_POLICY), KEY)
    decision = demo.decide(insight_wire())
    expected_pseudonym = "hmac-sha256:" + hmac.new(KEY, b"M14860", hashlib.sha256).hexdigest()
    assert decision.record is not None
    assert decision.record["context"] == {"product_id": expected_pseudonym}
    kept = {k: v for k, v in insight_wire().items() if k != "context"}
    assert {k: v for k, v in decision.record.items() if k != "context"} == kept


def test_demo_policy_keeps_feedback_records_whole() -> None:
    demo = PolicyEngine(load_compliance_policy(DEMO_POLICY), KEY)
    feedback = {
        "kind": "feedback",
        "schema_version": 1,
        "feedback_id": "f" * 32 + "-00000",
        "insight_id": "a" * 32 + "-00001",
        "site_id": "site-a",
        "label": 1,
        "recorded_at": "2026-11-21T09:00:00.000000Z",
    }
    assert demo.decide(feedback).record == feedback


def test_unnamed_fields_are_dropped_including_nested_unknown_keys() -> None:
    policy = engine({"kind": "allow", "context.product_id": "allow", "inputs.*": "allow"})
    record = {
        "kind": "insight",
        "secret": "s1",
        "context": {"product_id": "P", "badge": "s2", "deep": {"x": "s3"}},
        "inputs": {"a": 1, "nested": {"b": "s4"}},
        "unknown": {"inner": {"leaf": "s5"}},
    }
    decision = policy.decide(record)
    # `inputs.nested` is named by the wildcard but holds an object: refused, not passed whole.
    assert decision.record is None
    assert decision.rejected_by == "inputs.*"

    del record["inputs"]["nested"]  # type: ignore[attr-defined]
    decision = policy.decide(record)
    assert decision.record == {"kind": "insight", "context": {"product_id": "P"}, "inputs": {"a": 1}}
    assert decision.actions[("(unlisted)", "drop_unlisted")] == 4  # secret, badge, deep, unknown


def test_the_most_specific_rule_wins_whatever_the_order() -> None:
    policy = engine({"inputs.torque_nm": "drop", "inputs.*": "allow"})
    assert policy.decide({"inputs": {"torque_nm": 1.0, "rpm": 2.0}}).record == {"inputs": {"rpm": 2.0}}


def test_generalize_a_timestamp_to_the_hour_and_a_number_to_a_bucket() -> None:
    policy = engine(
        {
            "scored_at": {"action": "generalize", "granularity": "hour"},
            "inputs.torque_nm": {"action": "generalize", "bucket_width": 5},
        }
    )
    record = policy.decide({"scored_at": "2026-11-21T08:30:15.123456Z", "inputs": {"torque_nm": 42.5}}).record
    assert record == {"scored_at": "2026-11-21T08:00:00.000000Z", "inputs": {"torque_nm": 40.0}}
    negative = policy.decide({"inputs": {"torque_nm": -0.5}}).record
    assert negative == {"inputs": {"torque_nm": -5.0}}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scored_at", "yesterday"),
        ("scored_at", 17),
        ("inputs.torque_nm", "forty"),
        ("inputs.torque_nm", True),
    ],
)
def test_generalizing_a_value_of_the_wrong_type_refuses_the_record(field: str, value: Any) -> None:
    policy = engine(
        {
            "scored_at": {"action": "generalize", "granularity": "day"},
            "inputs.torque_nm": {"action": "generalize", "bucket_width": 5},
        }
    )
    record = {"scored_at": value} if field == "scored_at" else {"inputs": {"torque_nm": value}}
    decision = policy.decide(record)
    assert decision.record is None
    assert decision.rejected_by == field


def test_pseudonyms_depend_on_the_site_key_and_are_stable() -> None:
    policy = parse_policy({"version": 1, "fields": {"context.product_id": "pseudonymize"}}, "p")
    one = PolicyEngine(policy, KEY).decide({"context": {"product_id": "M1"}}).record
    again = PolicyEngine(policy, KEY).decide({"context": {"product_id": "M1"}}).record
    other_site = PolicyEngine(policy, b"another-site-key-0123456789").decide(
        {"context": {"product_id": "M1"}}
    )
    assert one == again
    assert one is not None
    assert other_site.record is not None
    assert one["context"]["product_id"].startswith("hmac-sha256:")
    assert one != other_site.record


def test_pseudonymize_without_a_key_is_refused_up_front() -> None:
    policy = parse_policy({"version": 1, "fields": {"context.product_id": "pseudonymize"}}, "p")
    with pytest.raises(PolicyError, match=r"context\.product_id"):
        PolicyEngine(policy, None)


@pytest.mark.parametrize(
    ("rules", "record", "rule"),
    [
        ({"keep_kinds": ["feedback"]}, insight_wire(), "keep_kinds"),
        ({"exclude_sites": ["site-a"]}, insight_wire(), "exclude_sites"),
        (
            {"require": [{"path": "context.consent", "equals": "yes"}]},
            insight_wire(),
            "require:context.consent",
        ),
    ],
)
def test_record_rules_refuse_before_field_actions(
    rules: dict[str, Any], record: dict[str, Any], rule: str
) -> None:
    policy = engine({"kind": "allow"}, rules)
    decision = policy.decide(record)
    assert (decision.record, decision.rejected_by) == (None, rule)


def test_a_required_flag_that_is_present_lets_the_record_through() -> None:
    policy = engine({"kind": "allow"}, {"require": [{"path": "context.consent", "equals": "yes"}]})
    record = insight_wire(context={"consent": "yes"})
    assert policy.decide(record).record == {"kind": "insight"}


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "(document)"),
        ({"fields": {"kind": "allow"}}, "version"),
        ({"version": 1, "fields": {}}, "fields"),
        ({"version": 1, "fields": {"kind": "keep"}}, "fields.kind"),
        ({"version": 1, "fields": {"a..b": "allow"}}, "fields.a..b"),
        ({"version": 1, "fields": {"t": {"action": "generalize"}}}, "fields.t"),
        (
            {"version": 1, "fields": {"t": {"action": "generalize", "granularity": "week"}}},
            "fields.t.granularity",
        ),
        (
            {"version": 1, "fields": {"n": {"action": "generalize", "bucket_width": 0}}},
            "fields.n.bucket_width",
        ),
        ({"version": 1, "fields": {"n": {"action": "allow", "bucket_width": 5}}}, "fields.n"),
        ({"version": 1, "fields": {"k": "allow"}, "record_rules": {"keep": []}}, "record_rules"),
        (
            {"version": 1, "fields": {"k": "allow"}, "record_rules": {"keep_kinds": "insight"}},
            "record_rules.keep_kinds",
        ),
        (
            {"version": 1, "fields": {"k": "allow"}, "record_rules": {"require": [{"path": "a"}]}},
            "record_rules.require[0]",
        ),
        ({"version": 1, "fields": {"k": "allow"}, "extra": 1}, "(document)"),
    ],
)
def test_invalid_policies_are_rejected_naming_the_source_and_field(document: Any, field: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, "policies/site.yaml")
    assert caught.value.field == field
    assert str(caught.value).startswith(f"policies/site.yaml: {field}: ")


def test_a_policy_file_that_is_missing_or_not_yaml_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"missing\.yaml: \(file\): policy file not found"):
        load_compliance_policy(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("fields: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"broken\.yaml: \(file\): not valid YAML"):
        load_compliance_policy(broken)


def test_audit_summary_counts_rules_and_actions_without_values() -> None:
    demo = PolicyEngine(load_compliance_policy(DEMO_POLICY), KEY)
    audit = AuditSummary()
    audit.add(demo.decide(insight_wire()))
    audit.add(demo.decide(insight_wire(kind="calibration")))
    audit.add_invalid()
    summary = audit.to_dict()
    assert (summary["records"], summary["compliant"], summary["invalid"]) == (3, 1, 1)
    assert summary["rejected_by_rule"] == {"keep_kinds": 1}
    assert summary["fields"]["context.operator"] == {"drop": 1}
    assert summary["fields"]["context.product_id"] == {"pseudonymize": 1}
    assert summary["fields"]["inputs.*"] == {"allow": 2}
    assert summary["actions"]["drop"] == 2
    assert "Jane Roe" not in repr(summary)
    assert "M14860" not in repr(summary)
