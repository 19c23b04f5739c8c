"""The compliance policy: which parts of a record may leave the site, and in what form.

The policy is data (``policies/compliance.yaml``); :func:`parse_policy`
(``compliance_policy``, re-exported here) turns the parsed document into a
validated :class:`CompliancePolicy` and :class:`PolicyEngine` applies it to wire
records. Deny by default: a field the policy does not name is dropped, nested
unknown keys included. Record rules (kinds kept, sites excluded, required flags)
run before the field actions. The engine compiles the field rules once
(``compliance_paths``); tests/support/compliance_reference.py states the same
semantics rule by rule and is the oracle it is tested against.
Pure: no I/O; reading the YAML file is the composition root's job.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from edgeloop.domain.compliance_paths import MAX_CACHED_PATHS, PathNode, PathTable

# The policy document's names, re-exported (``X as X``): callers import the whole feature from here.
from edgeloop.domain.compliance_policy import CompliancePolicy as CompliancePolicy
from edgeloop.domain.compliance_policy import FieldRule, Scalar
from edgeloop.domain.compliance_policy import PolicyError as PolicyError
from edgeloop.domain.compliance_policy import parse_policy as parse_policy
from edgeloop.domain.records import RecordError, format_timestamp, parse_timestamp

PSEUDONYM_PREFIX = "hmac-sha256:"
UNLISTED = "drop_unlisted"  # audit name of the deny-by-default drop
_UNLISTED_KEY = ("(unlisted)", UNLISTED)


class PolicyViolation(Exception):
    """A record the policy refuses; ``rule`` names the rule (or field) that refused it."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"{rule}: {reason}")
        self.rule = rule
        self.reason = reason


@dataclass
class RecordDecision:
    """What the policy made of one record: the filtered record, or the rule that refused it."""

    record: dict[str, Any] | None
    rejected_by: str | None = None
    reason: str | None = None
    actions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (rule name, action) -> count


def _value_at(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})  # exact types: never an object or list


class _CompiledRule:
    """One field rule ready to apply: its audit key and its action as a function of one value."""

    __slots__ = ("_pseudonym", "_scalar", "allows", "count_key", "keeps", "name", "rule")

    def __init__(self, rule: FieldRule, pseudonym: Callable[[Scalar], str]) -> None:
        self.rule = rule
        self.name = rule.name
        self.count_key = (self.name, rule.action)
        self.keeps = rule.action != "drop"
        self.allows = rule.action == "allow"
        self._pseudonym = pseudonym
        self._scalar: Callable[[Any], Any]
        if rule.action == "allow":
            self._scalar = _unchanged
        elif rule.action == "pseudonymize":
            self._scalar = self._pseudonymize
        else:
            self._scalar = self._generalize

    def apply(self, value: Any) -> Any:
        if type(value) in _PLAIN_SCALARS:
            return self._scalar(value)
        if type(value) is list:  # exact list: not a Mapping
            return [self._checked(item) for item in value]
        if isinstance(value, Mapping):
            raise PolicyViolation(self.name, "is an object: name its fields in the policy instead")
        if isinstance(value, list):
            return [self._checked(item) for item in value]
        return self._checked(value)

    def _checked(self, value: Any) -> Any:
        if type(value) not in _PLAIN_SCALARS and isinstance(value, Mapping | list):
            raise PolicyViolation(self.name, "holds nested data the policy cannot vet")
        return self._scalar(value)

    def _pseudonymize(self, value: Any) -> Any:
        return None if value is None else self._pseudonym(value)

    def _generalize(self, value: Any) -> Any:
        rule = self.rule
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


def _unchanged(value: Any) -> Any:
    return value


class PolicyEngine:
    """Applies one policy with the site's pseudonymization key (which never leaves the site).

    The field rules are compiled once into a table of concrete paths (``compliance_paths``),
    so a record costs a dictionary lookup per key rather than a scan of every rule.
    """

    def __init__(
        self, policy: CompliancePolicy, hmac_key: bytes | None, *, max_cached_paths: int = MAX_CACHED_PATHS
    ) -> None:
        if policy.pseudonymized_fields() and not hmac_key:
            raise PolicyError(
                "policy", policy.pseudonymized_fields()[0], "pseudonymize needs a site HMAC key"
            )
        self.policy = policy
        # Keyed once; each pseudonym copies it rather than re-deriving the key pads.
        self._hmac = hmac.new(hmac_key or b"", digestmod=hashlib.sha256)
        compiled = [(rule, _CompiledRule(rule, self.pseudonym)) for rule in policy.fields]
        self._paths: PathTable[_CompiledRule] = PathTable(compiled, max_cached_paths)

    def pseudonym(self, value: Scalar) -> str:
        data = value.encode("utf-8") if isinstance(value, str) else orjson.dumps(value)
        keyed = self._hmac.copy()
        keyed.update(data)
        return PSEUDONYM_PREFIX + keyed.hexdigest()

    def decide(self, record: Mapping[str, Any]) -> RecordDecision:
        """Record rules first, then field actions; never raises for a record's content."""
        try:
            self._check_record_rules(record)
            counts: dict[tuple[str, str], int] = {}
            filtered = self._filter_object(record, self._paths.root, counts)
        except PolicyViolation as violation:
            return RecordDecision(None, violation.rule, violation.reason)
        return RecordDecision(filtered, actions=Counter(counts))

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

    def _filter_object(
        self, obj: Mapping[str, Any], node: PathNode[_CompiledRule], counts: dict[tuple[str, str], int]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        known, child_of = node.children, self._paths.child
        for key, value in obj.items():
            # A path is made of str(key); only a plain str is its own text (a subclass may not be).
            child = known.get(key) if type(key) is str else None
            if child is None:
                child = child_of(node, str(key))
            rule = child.rule
            if rule is not None:
                counts[rule.count_key] = counts.get(rule.count_key, 0) + 1
                if rule.keeps:
                    # An allowed plain value is the common case: kept as is, without a call.
                    out[key] = value if rule.allows and type(value) in _PLAIN_SCALARS else rule.apply(value)
            elif child.descend and (type(value) is dict or isinstance(value, Mapping)):
                out[key] = self._filter_object(value, child, counts)
            else:
                counts[_UNLISTED_KEY] = counts.get(_UNLISTED_KEY, 0) + 1
        return out


@dataclass
class AuditSummary:
    """Counts per rule and action for one batch; holds no record values."""

    records: int = 0
    compliant: int = 0
    invalid: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    # (rule name, action) -> count over the compliant records; ``actions`` and ``fields`` derive from it.
    rule_actions: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, decision: RecordDecision) -> None:
        self.records += 1
        if decision.record is None:
            self.rejected[decision.rejected_by or "unknown"] += 1
            return
        self.compliant += 1
        totals = self.rule_actions
        for key, count in decision.actions.items():
            totals[key] = totals.get(key, 0) + count  # dict methods: Counter's += costs a call per key

    @property
    def actions(self) -> Counter[str]:
        """Count per action, over every rule."""
        by_action: Counter[str] = Counter()
        for (_, action), count in self.rule_actions.items():
            by_action[action] += count
        return by_action

    @property
    def fields(self) -> dict[str, Counter[str]]:
        """Count per action, for each rule (by name)."""
        by_rule: dict[str, Counter[str]] = {}
        for (rule, action), count in self.rule_actions.items():
            by_rule.setdefault(rule, Counter())[action] += count
        return by_rule

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
