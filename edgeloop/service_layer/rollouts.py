"""Staged rollouts, cloud side: start one at a promotion, move it, sign every rollout pointer written.

* :meth:`Rollouts.promote`: the champion gate's promotion. Without a plan the champion pointer
  names the new version at once (as before); with one (``<name>/rollout-plan.json``) the champion
  pointer stays and a rollout of the new version starts on ring 0 of the fleet, ``excluded`` sites
  (unfit for it, with the reason) keeping the previous version;
* :meth:`Rollouts.advance`, :meth:`halt`, :meth:`roll_back`, :meth:`pin`: one transition of
  edgeloop.domain.rollout each, written as the next serial; the last ring's advance completes the
  rollout and only then promotes the champion pointer to the candidate;
* every rollout pointer is sealed (expiry, the manifest digest of each version it may send a site
  to) and signed with the champion pointer's key and lifetime (:class:`PointerSigning`); one that
  does not verify is never built on, so an edit in storage cannot be laundered into a valid one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from edgeloop.domain.bundle_integrity import manifest_digest
from edgeloop.domain.champion import ChampionPointer
from edgeloop.domain.manifest import MANIFEST_FILE
from edgeloop.domain.promotion import PromotionDecision
from edgeloop.domain.records import utc_now
from edgeloop.domain.rollout import RolloutError, RolloutPlan, RolloutState, start_rollout
from edgeloop.domain.rollout_documents import plan_from_dict, plan_to_dict
from edgeloop.domain.rollout_pointer import WHAT, RolloutPointer, SignedRollout, rollout_payload
from edgeloop.domain.signed_pointer import check_signatures
from edgeloop.ports import ModelRegistry, RegistryConflict, RolloutRegistry
from edgeloop.service_layer.champion_pointers import PointerSigning, publish_pointer, verified_champion
from edgeloop.service_layer.line_champions import LineChampion

Fleet = Callable[[], Sequence[str]]  # the site ids the cloud knows (their heartbeats)
Transition = Callable[[RolloutState, datetime], RolloutState]


class Rollouts:
    def __init__(
        self,
        registry: ModelRegistry,
        rollouts: RolloutRegistry,
        signing: PointerSigning,
        fleet: Fleet,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._registry, self._rollouts, self._signing = registry, rollouts, signing
        self._fleet, self._clock = fleet, clock

    # --- the plan --------------------------------------------------------------------------------

    def plan(self, name: str) -> RolloutPlan | None:
        """The model's plan; RolloutError naming the field if the stored one is invalid."""
        document = self._rollouts.plan(name)
        return None if document is None else plan_from_dict(json.loads(document))

    def set_plan(self, name: str, document: object) -> RolloutPlan:
        """Validate ``document`` (RolloutError naming the field) and store it as the model's plan."""
        plan = plan_from_dict(document)
        self._rollouts.set_plan(name, json.dumps(plan_to_dict(plan), indent=2).encode("utf-8"))
        return plan

    # --- reading ---------------------------------------------------------------------------------

    def current(self, name: str) -> tuple[SignedRollout, str] | None:
        """The rollout pointer and its ETag (None: none yet); PointerRefused unless a trusted key signed."""
        found = self._rollouts.signed_rollout(name)
        if found is not None:
            check_signatures(found[0], self._signing.verify, WHAT)
        return found

    def champion(self, name: str) -> str:
        """The verified champion's version: what a rollout starts from."""
        found = verified_champion(self._registry, name, self._signing)
        if found is None:
            raise RolloutError(f"{name} has no champion to roll out over")
        return found[0].pointer.version

    def status(self, name: str) -> RolloutState | None:
        found = self.current(name)
        return None if found is None else found[0].pointer.state

    # --- the champion gate's promotion -----------------------------------------------------------

    def promote(
        self,
        pointer: ChampionPointer,
        version: str,
        etag: str,
        actor: str,
        reason: str,
        excluded: Mapping[str, str] | None = None,
    ) -> str:
        """Promote ``version`` over the champion ``pointer`` (read with ``etag``): at once without a
        plan, else a rollout on ring 0. Returns ``"promoted"`` or ``"rollout"``; RegistryConflict."""
        plan = self.plan(pointer.name)
        if plan is None:
            promoted = pointer.promoted(version, actor, reason, self._clock())
            publish_pointer(self._registry, promoted, etag, self._signing, self._clock)
            return "promoted"
        self.start(plan, pointer.name, version, pointer.version, actor, reason, excluded)
        return "rollout"

    def start(
        self,
        plan: RolloutPlan,
        name: str,
        candidate: str,
        previous: str,
        actor: str,
        reason: str,
        excluded: Mapping[str, str] | None = None,
    ) -> RolloutState:
        """A new rollout under the next serial (a site remembers serials across rollouts)."""
        if candidate not in self._registry.versions(name):
            raise RolloutError(f"{name} has no registered version {candidate!r}")
        state = start_rollout(
            plan, name, candidate, previous, self._fleet(), self._clock(), actor, reason, excluded
        )
        found = self.current(name)
        if found is not None and found[0].pointer.state.phase in ("soaking", "halted"):
            running = found[0].pointer.state
            raise RolloutError(f"{name}: the rollout of {running.candidate} is still {running.phase}")
        serial = 1 if found is None else found[0].pointer.serial + 1
        self._publish(RolloutPointer(state, serial), None if found is None else found[1])
        return state

    # --- transitions -----------------------------------------------------------------------------

    def advance(self, name: str, actor: str, reason: str) -> RolloutState:
        """The next ring; after the last one the rollout completes and the champion pointer moves."""
        state = self._change(name, lambda state, at: state.advanced(actor, reason, at))
        if state.phase == "complete":
            self._promote_champion(state, actor, reason)
        return state

    def halt(self, name: str, actor: str, reason: str) -> RolloutState:
        return self._change(name, lambda state, at: state.halted(actor, reason, at))

    def roll_back(self, name: str, actor: str, reason: str) -> RolloutState:
        return self._change(name, lambda state, at: state.rolled_back(actor, reason, at))

    def pin(self, name: str, site: str, version: str | None, actor: str, reason: str) -> RolloutState:
        if version is not None and version not in self._registry.versions(name):
            raise RolloutError(f"pin: {name} has no registered version {version!r}")
        return self._change(name, lambda state, at: state.pinned(site, version, actor, reason, at))

    def refresh(self, name: str, *, now: bool = False) -> SignedRollout | None:
        """Re-sign the live rollout pointer under the next serial once it expires within the
        signing's ``refresh_within`` (or ``now``); None when there is nothing to do."""
        found = self.current(name)
        if found is None:
            return None
        signed, etag = found
        expires = signed.pointer.expires
        if not now and expires is not None and expires - self._clock() > self._signing.refresh_within:
            return None
        return self._publish(signed.pointer.next(signed.pointer.state), etag)

    def _change(self, name: str, transition: Transition) -> RolloutState:
        found = self.current(name)
        if found is None:
            raise RolloutError(f"{name} has no rollout")
        signed, etag = found
        state = transition(signed.pointer.state, self._clock())
        self._publish(signed.pointer.next(state), etag)
        return state

    def _publish(self, pointer: RolloutPointer, etag: str | None) -> SignedRollout:
        bundles = {version: self._digest(pointer.name, version) for version in pointer.versions()}
        sealed = pointer.sealed(self._clock() + self._signing.lifetime, bundles)
        signed = SignedRollout(sealed, (self._signing.sign(rollout_payload(sealed)),))
        self._rollouts.set_rollout(signed, etag)
        return signed

    def _digest(self, name: str, version: str) -> str:
        return manifest_digest(json.loads(self._registry.read(name, version, MANIFEST_FILE)))

    def _promote_champion(self, state: RolloutState, actor: str, reason: str) -> None:
        found = verified_champion(self._registry, state.name, self._signing)
        if found is None or found[0].pointer.version == state.candidate:
            return
        champion, etag = found
        why = f"rollout complete: {reason}"
        promoted = champion.pointer.promoted(state.candidate, actor, why, self._clock())
        publish_pointer(self._registry, promoted, etag, self._signing, self._clock)


def promote_or_roll_out(
    rollouts: Rollouts | None,
    registry: ModelRegistry,
    signing: PointerSigning,
    pointer: ChampionPointer,
    version: str,
    etag: str,
    actor: str,
    reason: str,
    clock: Callable[[], datetime] = utc_now,
) -> str:
    """The champion gate's promotion: through ``rollouts`` when given (a plan may stage it), else at
    once. ``"promoted"``, or what the staged rollout did (for the run's report)."""
    if rollouts is not None and rollouts.promote(pointer, version, etag, actor, reason) == "rollout":
        return f"staged rollout: {version} starts on ring 0 of the plan, {pointer.version} elsewhere"
    if rollouts is None:
        publish_pointer(registry, pointer.promoted(version, actor, reason, clock()), etag, signing, clock)
    return "promoted"


class ChampionPromotion:
    """The champion gate's promotion: through ``rollouts`` when given (a model with a plan then
    stages it), else the champion pointer at once. A concurrent change (RegistryConflict) or a
    rollout still running (RolloutError) makes the decision *rejected*, saying why."""

    def __init__(
        self,
        registry: ModelRegistry,
        signing: PointerSigning,
        rollouts: Rollouts | None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._registry, self._signing, self._rollouts, self._clock = registry, signing, rollouts, clock

    def promote(
        self,
        decision: PromotionDecision,
        pointer: ChampionPointer,
        etag: str,
        version: str,
        actor: str,
        excluded: Mapping[str, str] | None = None,
    ) -> PromotionDecision:
        """``excluded``: sites a staged rollout keeps on their version (site fit); without a plan
        the pointer moves for every site, as before rollouts (docs/site-fit.md)."""
        reason = "; ".join(decision.reasons)
        try:
            if self._rollouts is not None:
                how = self._rollouts.promote(pointer, version, etag, actor, reason, excluded)
            else:
                promoted = pointer.promoted(version, actor, reason, self._clock())
                publish_pointer(self._registry, promoted, etag, self._signing, self._clock)
                how = "promoted"
        except (RegistryConflict, RolloutError) as exc:
            return PromotionDecision("rejected", (*decision.reasons, f"not promoted: {exc}"))
        if how == "rollout":
            staged = f"staged rollout: {version} starts on ring 0, {pointer.version} serves elsewhere"
            return PromotionDecision("promoted", (*decision.reasons, staged))
        return decision

    def promote_line(
        self,
        decision: PromotionDecision,
        champion: LineChampion,
        line: str,
        version: str,
        actor: str,
        excluded: Mapping[str, str] | None = None,
    ) -> PromotionDecision:
        """``version`` becomes ``line``'s champion: a new cohort line's first pointer at once (it
        forked from its parent's champion: nothing to stage over), else :meth:`promote`."""
        if champion.forked_from is not None:
            reason = "; ".join(decision.reasons)
            return self.first(decision, champion.promoted(line, version, actor, reason, self._clock()))
        assert champion.etag is not None  # a line with a pointer of its own
        return self.promote(decision, champion.pointer, champion.etag, version, actor, excluded)

    def first(self, decision: PromotionDecision, pointer: ChampionPointer) -> PromotionDecision:
        """A new line's first champion ``pointer``, written at once (no pointer to stage it over)."""
        try:
            publish_pointer(self._registry, pointer, None, self._signing, self._clock)
        except RegistryConflict as exc:
            return PromotionDecision("rejected", (*decision.reasons, f"not promoted: {exc}"))
        return decision
