"""Staged rollout of a new champion across the fleet: a plan, a state, pure transitions.

A :class:`RolloutPlan` (per model) orders the fleet into rings: explicit site lists, or
cumulative percentages of the fleet resolved to sites deterministically (sites sorted by a
hash of model name and site, so the same fleet always gives the same rings, and a site's
place does not depend on the order the fleet was listed in). Sites a list plan does not name
join the last ring; sites that join the fleet after the start keep the previous model until
the rollout completes.

A :class:`RolloutState` is one rollout of ``candidate`` replacing ``previous``: rings reached
so far serve the candidate, the others the previous model, ``pins`` override both for a site,
``excluded`` sites (unfit for the candidate, with the reason) keep the previous model. The
cloud decides from ring evidence (edgeloop.domain.rollout_evidence) to keep soaking,
advance, or roll back; a rollback returns *every* site to the previous model, because the
evidence says the candidate is unsafe somewhere (pin a site to keep it there).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

Phase = Literal["soaking", "halted", "rolled_back", "complete"]
EventAction = Literal["start", "advance", "complete", "halt", "roll_back", "pin", "unpin"]
MAX_EVENTS = 200  # events kept in the state; a rollout is short, this is a guard


class RolloutError(ValueError):
    """A plan that cannot be used, or a transition that is impossible from this state."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When ring evidence rolls a candidate back (edgeloop.domain.rollout_evidence applies them)."""

    max_error_rate: float = 0.01  # scoring errors per row scored, on the ring's sites
    max_anomaly_ratio: float = 2.0  # candidate's anomaly rate / previous model's, on the same ring
    anomaly_rate_floor: float = 0.01  # the previous rate is at least this: a quiet model is no excuse
    max_golden_failures: int = 0  # golden checks failed by the candidate on the ring's sites
    max_accuracy_drop: float = 0.05  # feedback accuracy, candidate vs previous, once labels exist
    min_feedback: int = 20  # labels needed on each side before accuracy is judged
    max_drifted_sites: int = 0  # more ring sites drifting: keep soaking (the data moved, not the model)
    min_rows: int = 100  # rows the candidate must have scored on the ring before it may advance
    min_shadow_agreement: float = (
        0.0  # a ring site's shadow insights of the candidate agreeing less: roll back
    )
    min_shadow_rows: int = 100  # shadow insights a site needs before its agreement is judged


@dataclass(frozen=True, slots=True)
class RolloutPlan:
    """``rings``: site lists; or ``percentages``: cumulative shares of the fleet (the last is 100)."""

    rings: tuple[tuple[str, ...], ...] = ()
    percentages: tuple[float, ...] = ()
    soak: timedelta = timedelta(hours=1)
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        if bool(self.rings) == bool(self.percentages):
            raise RolloutError("a rollout plan needs either 'rings' (site lists) or 'percentages', not both")
        if self.soak < timedelta(0):
            raise RolloutError("rollout plan 'soak' must not be negative")
        listed = [site for ring in self.rings for site in ring]
        if any(not ring for ring in self.rings) or any(not site for site in listed):
            raise RolloutError("rollout plan 'rings': every ring needs at least one site name")
        if len(listed) != len(set(listed)):
            raise RolloutError("rollout plan 'rings': a site may be in one ring only")
        shares = self.percentages
        if shares and (any(not 0 < p <= 100 for p in shares) or list(shares) != sorted(set(shares))):
            raise RolloutError("rollout plan 'percentages' must grow strictly, each in (0, 100]")
        if shares and shares[-1] != 100:
            raise RolloutError("rollout plan 'percentages': the last ring must be 100 (the whole fleet)")

    def resolve(self, model_name: str, fleet: Sequence[str]) -> tuple[tuple[str, ...], ...]:
        """The rings as site lists for this fleet (empty rings dropped)."""
        if self.rings:
            named = {site for ring in self.rings for site in ring}
            rest = tuple(sorted(site for site in set(fleet) if site not in named))
            listed = (*self.rings[:-1], (*self.rings[-1], *rest))
            return tuple(ring for ring in listed if ring)
        ordered = sorted(set(fleet), key=lambda site: _rank(model_name, site))
        shared: list[tuple[str, ...]] = []
        taken = 0
        for share in self.percentages:
            upto = max(taken, math.ceil(share / 100 * len(ordered)))
            shared.append(tuple(ordered[taken:upto]))
            taken = upto
        return tuple(ring for ring in shared if ring)


def _rank(model_name: str, site: str) -> str:
    return hashlib.sha256(f"{model_name}\n{site}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RolloutEvent:
    action: EventAction
    ring: int
    actor: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RolloutState:
    name: str
    candidate: str
    previous: str
    rings: tuple[tuple[str, ...], ...]
    soak: timedelta
    thresholds: Thresholds
    ring: int = 0
    phase: Phase = "soaking"
    ring_started_at: datetime | None = None
    pins: Mapping[str, str] = field(default_factory=dict)
    excluded: Mapping[str, str] = field(default_factory=dict)  # site -> why it keeps the previous model
    history: tuple[RolloutEvent, ...] = ()

    # --- what a site serves ----------------------------------------------------------------------

    def ring_of(self, site: str) -> int | None:
        return next((index for index, ring in enumerate(self.rings) if site in ring), None)

    def version_for(self, site: str) -> str:
        """The version ``site`` serves now under this rollout."""
        if site in self.pins:
            return self.pins[site]
        if site in self.excluded or self.phase == "rolled_back":
            return self.previous
        if self.phase == "complete":
            return self.candidate
        ring = self.ring_of(site)
        return self.candidate if ring is not None and ring <= self.ring else self.previous

    def current_sites(self) -> tuple[str, ...]:
        """The current ring's sites that are to serve the candidate (not excluded, not pinned)."""
        return tuple(site for site in self.rings[self.ring] if self.version_for(site) == self.candidate)

    @property
    def soak_ends_at(self) -> datetime | None:
        return None if self.ring_started_at is None else self.ring_started_at + self.soak

    # --- transitions -----------------------------------------------------------------------------

    def advanced(self, actor: str, reason: str, at: datetime) -> RolloutState:
        """The next ring starts soaking; after the last ring the rollout is complete."""
        self._require(("soaking", "halted"), "advance")
        if self.ring + 1 >= len(self.rings):
            return self._with("complete", self.ring, "complete", actor, reason, at)
        return self._with("soaking", self.ring + 1, "advance", actor, reason, at)

    def halted(self, actor: str, reason: str, at: datetime) -> RolloutState:
        """Stop advancing; every site keeps what it serves (``advanced`` resumes)."""
        self._require(("soaking",), "halt")
        return self._with("halted", self.ring, "halt", actor, reason, at)

    def rolled_back(self, actor: str, reason: str, at: datetime) -> RolloutState:
        """Every site returns to the previous model (pinned sites keep their pin)."""
        self._require(("soaking", "halted"), "roll back")
        return self._with("rolled_back", self.ring, "roll_back", actor, reason, at)

    def pinned(self, site: str, version: str | None, actor: str, reason: str, at: datetime) -> RolloutState:
        """``site`` serves ``version`` whatever the rings say (None: the pin is removed)."""
        if not site:
            raise RolloutError("pin: the site name is empty")
        pins = {key: value for key, value in self.pins.items() if key != site}
        if version is not None:
            pins[site] = version
        elif site not in self.pins:
            raise RolloutError(f"pin: {site} is not pinned")
        action: EventAction = "unpin" if version is None else "pin"
        event = RolloutEvent(action, self.ring, actor, f"{site} -> {version or 'rollout'}: {reason}", at)
        return replace(self, pins=pins, history=(*self.history, event)[-MAX_EVENTS:])

    def _require(self, phases: tuple[Phase, ...], what: str) -> None:
        if self.phase not in phases:
            raise RolloutError(
                f"cannot {what} the rollout of {self.name} {self.candidate}: it is {self.phase}"
            )

    def _with(
        self, phase: Phase, ring: int, action: EventAction, actor: str, reason: str, at: datetime
    ) -> RolloutState:
        event = RolloutEvent(action, ring, actor, reason, at)
        started = at if ring != self.ring else self.ring_started_at
        history = (*self.history, event)[-MAX_EVENTS:]
        return replace(self, phase=phase, ring=ring, ring_started_at=started, history=history)


def start_rollout(
    plan: RolloutPlan,
    name: str,
    candidate: str,
    previous: str,
    fleet: Sequence[str],
    at: datetime,
    actor: str,
    reason: str,
    excluded: Mapping[str, str] | None = None,
) -> RolloutState:
    """``candidate`` starts soaking on ring 0 of ``fleet``; ``excluded`` sites keep ``previous``."""
    if candidate == previous:
        raise RolloutError(f"rollout of {name}: the candidate {candidate} is already the champion")
    rings = plan.resolve(name, fleet)
    if not rings:
        raise RolloutError(f"rollout of {name}: the fleet has no sites to roll out to")
    event = RolloutEvent("start", 0, actor, f"{previous} -> {candidate}: {reason}", at)
    return RolloutState(
        name=name,
        candidate=candidate,
        previous=previous,
        rings=rings,
        soak=plan.soak,
        thresholds=plan.thresholds,
        ring_started_at=at,
        excluded=dict(excluded or {}),
        history=(event,),
    )
