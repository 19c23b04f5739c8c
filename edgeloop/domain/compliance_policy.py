"""The compliance policy document: its rules as values, and the parser that validates them.

The policy is data (``policies/compliance.yaml``): field rules (a dotted path,
``*`` for any one key, and an action) and record rules (kinds kept, sites
excluded, required values), and the frames rule (edgeloop.domain.frame_policy: which
sites may upload which frames). :func:`parse_policy` turns the parsed document into
a :class:`CompliancePolicy` or raises :class:`PolicyError` naming the field;
``edgeloop.domain.compliance`` applies it. Pure: no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from edgeloop.domain.frame_policy import FramePolicy, parse_frame_policy
from edgeloop.domain.policy_errors import PolicyError as PolicyError

POLICY_VERSION = 1
Action = Literal["allow", "drop", "pseudonymize", "generalize"]
ACTIONS: tuple[Action, ...] = ("allow", "drop", "pseudonymize", "generalize")
GRANULARITIES = ("minute", "hour", "day")
Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class FieldRule:
    pattern: tuple[str, ...]  # dotted path split on "."; "*" matches any one key
    action: Action
    granularity: str | None = None  # generalize a timestamp
    bucket_width: float | None = None  # generalize a number

    @property
    def name(self) -> str:
        return ".".join(self.pattern)

    def matches(self, path: tuple[str, ...]) -> bool:
        return len(path) == len(self.pattern) and all(
            p in ("*", k) for p, k in zip(self.pattern, path, strict=True)
        )

    def may_match_below(self, path: tuple[str, ...]) -> bool:
        return len(self.pattern) > len(path) and all(
            p in ("*", k) for p, k in zip(self.pattern, path, strict=False)
        )

    def specificity(self) -> tuple[bool, ...]:
        # Literal segments beat wildcards, compared left to right: `inputs.torque` beats `inputs.*`.
        return tuple(p != "*" for p in self.pattern)


@dataclass(frozen=True, slots=True)
class Requirement:
    path: tuple[str, ...]
    equals: Scalar

    @property
    def name(self) -> str:
        return "require:" + ".".join(self.path)


@dataclass(frozen=True, slots=True)
class RecordRules:
    keep_kinds: frozenset[str] | None = None  # None keeps every kind
    exclude_sites: frozenset[str] = frozenset()
    require: tuple[Requirement, ...] = ()


@dataclass(frozen=True, slots=True)
class CompliancePolicy:
    fields: tuple[FieldRule, ...]
    record_rules: RecordRules = RecordRules()
    version: int = POLICY_VERSION
    frames: FramePolicy = field(default_factory=FramePolicy)  # no ``frames`` section: no site uploads a frame

    def pseudonymized_fields(self) -> list[str]:
        return [rule.name for rule in self.fields if rule.action == "pseudonymize"]


def _string_list(source: str, name: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(source, name, "must be a list of strings")
    return frozenset(value)


def _parse_path(source: str, name: str, text: Any) -> tuple[str, ...]:
    if not isinstance(text, str) or not text or any(not part for part in text.split(".")):
        raise PolicyError(source, name, f"not a dotted field path: {text!r}")
    return tuple(text.split("."))


def _parse_field_rule(source: str, path_text: str, spec: Any) -> FieldRule:
    name = f"fields.{path_text}"
    pattern = _parse_path(source, name, path_text)
    options: dict[str, Any] = {"action": spec} if isinstance(spec, str) else spec
    if not isinstance(options, dict):
        raise PolicyError(source, name, "must be an action name or a mapping with 'action'")
    unknown = set(options) - {"action", "granularity", "bucket_width"}
    if unknown:
        raise PolicyError(source, name, f"unknown option(s) {sorted(unknown)}")
    action = options.get("action")
    if action not in ACTIONS:
        raise PolicyError(source, name, f"action must be one of {list(ACTIONS)}, got {action!r}")
    granularity, width = options.get("granularity"), options.get("bucket_width")
    if action != "generalize" and (granularity is not None or width is not None):
        raise PolicyError(source, name, "granularity/bucket_width only apply to 'generalize'")
    if action == "generalize":
        if (granularity is None) == (width is None):
            raise PolicyError(source, name, "generalize needs exactly one of granularity or bucket_width")
        if granularity is not None and granularity not in GRANULARITIES:
            raise PolicyError(source, f"{name}.granularity", f"must be one of {list(GRANULARITIES)}")
        if width is not None and (
            isinstance(width, bool)
            or not isinstance(width, int | float)
            or not math.isfinite(width)
            or width <= 0
        ):
            raise PolicyError(source, f"{name}.bucket_width", "must be a positive number")
    return FieldRule(pattern, action, granularity, None if width is None else float(width))


def _parse_record_rules(source: str, value: Any) -> RecordRules:
    if value is None:
        return RecordRules()
    if not isinstance(value, dict):
        raise PolicyError(source, "record_rules", "must be a mapping")
    unknown = set(value) - {"keep_kinds", "exclude_sites", "require"}
    if unknown:
        raise PolicyError(source, "record_rules", f"unknown rule(s) {sorted(unknown)}")
    keep = value.get("keep_kinds")
    requirements = value.get("require") or []
    if not isinstance(requirements, list):
        raise PolicyError(source, "record_rules.require", "must be a list of {path, equals}")
    parsed: list[Requirement] = []
    for index, item in enumerate(requirements):
        name = f"record_rules.require[{index}]"
        if not isinstance(item, dict) or set(item) != {"path", "equals"}:
            raise PolicyError(source, name, "must be a mapping with exactly 'path' and 'equals'")
        if isinstance(item["equals"], dict | list):
            raise PolicyError(source, f"{name}.equals", "must be a scalar")
        parsed.append(Requirement(_parse_path(source, f"{name}.path", item["path"]), item["equals"]))
    return RecordRules(
        keep_kinds=None if keep is None else _string_list(source, "record_rules.keep_kinds", keep),
        exclude_sites=_string_list(source, "record_rules.exclude_sites", value.get("exclude_sites") or []),
        require=tuple(parsed),
    )


def parse_policy(document: Any, source: str) -> CompliancePolicy:
    """Validate a parsed policy document; ``source`` (e.g. the file path) prefixes every error."""
    if not isinstance(document, dict):
        raise PolicyError(source, "(document)", "must be a mapping")
    unknown = set(document) - {"version", "record_rules", "fields", "frames"}
    if unknown:
        raise PolicyError(source, "(document)", f"unknown key(s) {sorted(unknown)}")
    if document.get("version") != POLICY_VERSION:
        raise PolicyError(source, "version", f"must be {POLICY_VERSION}, got {document.get('version')!r}")
    fields = document.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise PolicyError(source, "fields", "must be a non-empty mapping of dotted path to action")
    return CompliancePolicy(
        fields=tuple(_parse_field_rule(source, str(path), spec) for path, spec in fields.items()),
        record_rules=_parse_record_rules(source, document.get("record_rules")),
        frames=parse_frame_policy(source, document.get("frames")),
    )
