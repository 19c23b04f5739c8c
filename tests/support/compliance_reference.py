"""The compliance engine as first written: every rule scanned for every key of every record.

Kept as the oracle of the compiled ``edgeloop.domain.compliance.PolicyEngine``
and of ``AuditSummary`` (tests/unit/test_compliance_equivalence.py), and as the
"old" side of bench/compliance_bench.py. Slow on purpose: it states the semantics plainly.
Deny by default, the most specific rule wins (literal segments beat ``*``, left
to right; equal specificity: the rule written first), record rules run first.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from edgeloop.domain.compliance import (
    PSEUDONYM_PREFIX,
    UNLISTED,
    CompliancePolicy,
    PolicyError,
    PolicyViolation,
    RecordDecision,
)
from edgeloop.domain.compliance_policy import FieldRule, Scalar
from edgeloop.domain.records import RecordError, format_timestamp, parse_timestamp


def _value_at(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


class ReferencePolicyEngine:
    """Applies one policy with the site's pseudonymization key, by scanning the rules."""

    def __init__(self, policy: CompliancePolicy, hmac_key: bytes | None) -> None:
        if policy.pseudonymized_fields() and not hmac_key:
            raise PolicyError(
                "policy", policy.pseudonymized_fields()[0], "pseudonymize needs a site HMAC key"
            )
        self.policy = policy
        self._key = hmac_key or b""
        # Most specific rule first, so the first match wins.
        self._rules = sorted(policy.fields, key=FieldRule.specificity, reverse=True)

    def pseudonym(self, value: Scalar) -> str:
        data = value.encode("utf-8") if isinstance(value, str) else orjson.dumps(value)
        return PSEUDONYM_PREFIX + hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def decide(self, record: Mapping[str, Any]) -> RecordDecision:
        """Record rules first, then field actions; never raises for a record's content."""
        try:
            self._check_record_rules(record)
            actions: Counter[tuple[str, str]] = Counter()
            filtered = self._filter_object(record, (), actions)
        except PolicyViolation as violation:
            return RecordDecision(None, violation.rule, violation.reason)
        return RecordDecision(filtered, actions=actions)

    def _check_record_rules(self, record: Mapping[str, Any]) -> None:
        rules = self.policy.record_rules
        kind, site = record.get("kind"), record.get("site_id")
        if rules.keep_kinds is not None and (not isinstance(kind, str) or kind not in rules.keep_kinds):
            raise PolicyViolation("keep_kinds", f"record kind {kind!r} is not kept")
        if isinstance(site, str) and site in rules.exclude_sites:
            raise PolicyViolation("exclude_sites", "the record's site is excluded")
        for requirement in rules.require:
            if _value_at(record, requirement.path) != requirement.equals:
                raise PolicyViolation(requirement.name, f"must equal {requirement.equals!r}")

    def _rule_for(self, path: tuple[str, ...]) -> FieldRule | None:
        return next((rule for rule in self._rules if rule.matches(path)), None)

    def _filter_object(
        self, obj: Mapping[str, Any], prefix: tuple[str, ...], actions: Counter[tuple[str, str]]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            path = (*prefix, str(key))
            rule = self._rule_for(path)
            if rule is not None:
                actions[(rule.name, rule.action)] += 1
                if rule.action != "drop":
                    out[key] = self._apply(rule, value)
            elif isinstance(value, Mapping) and any(r.may_match_below(path) for r in self._rules):
                out[key] = self._filter_object(value, path, actions)
            else:
                actions[("(unlisted)", UNLISTED)] += 1
        return out

    def _apply(self, rule: FieldRule, value: Any) -> Any:
        if isinstance(value, Mapping):
            raise PolicyViolation(rule.name, "is an object: name its fields in the policy instead")
        if isinstance(value, list):
            return [self._apply_scalar(rule, item) for item in value]
        return self._apply_scalar(rule, value)

    def _apply_scalar(self, rule: FieldRule, value: Any) -> Any:
        if isinstance(value, Mapping | list):
            raise PolicyViolation(rule.name, "holds nested data the policy cannot vet")
        if rule.action == "allow":
            return value
        if rule.action == "pseudonymize":
            return None if value is None else self.pseudonym(value)
        return self._generalize(rule, value)

    def _generalize(self, rule: FieldRule, value: Any) -> Any:
        if rule.granularity is not None:
            if not isinstance(value, str):
                raise PolicyViolation(rule.name, "generalize by time needs a timestamp")
            try:
                moment = parse_timestamp(value, rule.name)
            except RecordError as exc:
                raise PolicyViolation(rule.name, exc.message) from None
            if rule.granularity == "minute":
                moment = moment.replace(second=0, microsecond=0)
            elif rule.granularity == "hour":
                moment = moment.replace(minute=0, second=0, microsecond=0)
            else:
                moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
            return format_timestamp(moment)
        width = rule.bucket_width
        if isinstance(value, bool) or not isinstance(value, int | float) or width is None:
            raise PolicyViolation(rule.name, "generalize to a bucket needs a number")
        if not math.isfinite(value):
            raise PolicyViolation(rule.name, "not a finite number")
        # The bucket's lower bound keeps the field a number for consumers.
        return math.floor(value / width) * width


@dataclass
class ReferenceAuditSummary:
    """Counts per rule and action for one batch, a Counter per rule updated record by record."""

    records: int = 0
    compliant: int = 0
    invalid: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    fields: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, decision: RecordDecision) -> None:
        self.records += 1
        if decision.record is None:
            self.rejected[decision.rejected_by or "unknown"] += 1
            return
        self.compliant += 1
        for (rule, action), count in decision.actions.items():
            self.actions[action] += count
            self.fields.setdefault(rule, Counter())[action] += count

    def add_invalid(self) -> None:
        self.records += 1
        self.invalid += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "compliant": self.compliant,
            "invalid": self.invalid,
            "rejected_by_rule": dict(sorted(self.rejected.items())),
            "actions": dict(sorted(self.actions.items())),
            "fields": {name: dict(sorted(c.items())) for name, c in sorted(self.fields.items())},
        }
