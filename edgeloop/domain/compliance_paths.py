"""A policy's field rules compiled into a lookup: which rule governs each concrete path of a record.

The paths of a record repeat from record to record (``inputs.torque_nm`` is in
every insight), so the rule for each concrete path is resolved once and kept in
a tree of paths (:class:`PathNode`, one child per key seen); the policy's
patterns form a trie (a literal segment or ``*`` per level), so even resolving
a new path never scans every rule. The resolution is the policy's: of the rules
whose pattern matches the whole path, the most specific wins (literal segments
beat ``*``, compared left to right; between equals, the rule listed first), and
a path that a longer pattern reaches into is descended into. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from edgeloop.domain.compliance_policy import FieldRule

RuleT = TypeVar("RuleT")
WILDCARD = "*"
# Keys seen in records are remembered up to this many paths per table; beyond it
# (records full of ever-new keys) paths are resolved each time instead.
MAX_CACHED_PATHS = 4096


class _Pattern(Generic[RuleT]):
    """A node of the pattern trie: the patterns sharing one prefix."""

    __slots__ = ("children", "rule")

    def __init__(self) -> None:
        self.children: dict[str, _Pattern[RuleT]] = {}
        self.rule: tuple[int, RuleT] | None = None  # (rank, rule) of the pattern ending here


class PathNode(Generic[RuleT]):
    """One concrete path: its rule (``None``: no rule names it), and whether to look inside it."""

    __slots__ = ("children", "descend", "patterns", "rule")

    def __init__(self, patterns: tuple[_Pattern[RuleT], ...]) -> None:
        self.patterns = patterns  # the trie nodes whose prefix matches this path
        ranked = [p.rule for p in patterns if p.rule is not None]
        self.rule: RuleT | None = min(ranked, key=lambda r: r[0])[1] if ranked else None
        self.descend = any(p.children for p in patterns)  # a longer pattern reaches below
        self.children: dict[str, PathNode[RuleT]] = {}  # resolved so far, by key


class PathTable(Generic[RuleT]):
    """The rules (each with its :class:`FieldRule`) by concrete path; ``root`` is the record itself."""

    def __init__(self, rules: Sequence[tuple[FieldRule, RuleT]], max_cached: int = MAX_CACHED_PATHS) -> None:
        trie: _Pattern[RuleT] = _Pattern()
        # Rank = place in the most-specific-first order; sorted() is stable, so equals keep policy order.
        order = sorted(range(len(rules)), key=lambda i: rules[i][0].specificity(), reverse=True)
        for rank, index in enumerate(order):
            field_rule, rule = rules[index]
            node = trie
            for segment in field_rule.pattern:
                node = node.children.setdefault(segment, _Pattern())
            if node.rule is None:  # a repeated pattern: the better-ranked one stands
                node.rule = (rank, rule)
        self.root: PathNode[RuleT] = PathNode((trie,))
        self._max_cached = max_cached
        self._cached = 0

    def child(self, node: PathNode[RuleT], key: str) -> PathNode[RuleT]:
        """The node of ``key`` under ``node``, resolved and remembered on first sight."""
        found = node.children.get(key)
        if found is not None:
            return found
        matching: list[_Pattern[RuleT]] = []
        for pattern in node.patterns:
            literal = pattern.children.get(key)
            if literal is not None:
                matching.append(literal)
            wildcard = pattern.children.get(WILDCARD)
            if wildcard is not None and wildcard is not literal:
                matching.append(wildcard)
        resolved = PathNode(tuple(matching))
        # Threads may race here: both resolve the same node, either one is kept; the count is a bound.
        if self._cached < self._max_cached:
            node.children[key] = resolved
            self._cached += 1
        return resolved
