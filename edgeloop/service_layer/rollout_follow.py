"""A site follows the signed rollout pointer when there is one: the version for *this* site.

:meth:`RolloutFollower.poll` reads ``<name>/rollout.json`` with a conditional request; a changed
pointer passes a :class:`PointerGate` of its own (the champion pointer's rules: a trusted key, a
serial not below the last accepted, not expired; remembered in the same ledger under
edgeloop.domain.rollout_pointer.ledger_key). A refused or unreadable pointer is counted and shown
in ``readyz``, and the site keeps following the last one it accepted (or, having accepted none,
the champion pointer), so it keeps serving what it serves.

:meth:`target` is the version to serve and the manifest digest its bundle must have: the
rollout's ``version_for(site)`` while a rollout pointer is followed, else the champion's.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from edgeloop.domain.champion import ChampionPointer
from edgeloop.domain.rollout import RolloutError
from edgeloop.domain.rollout_pointer import RolloutPointer
from edgeloop.domain.signed_pointer import PointerRefused
from edgeloop.ports import RolloutSource
from edgeloop.service_layer.pointer_gate import PointerGate

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Target:
    version: str
    bundle_sha256: str | None  # None: a champion pointer from before pointers named their bundle
    ring: int | None = None  # the site's ring under a rollout (None: in none, or no rollout)
    phase: str | None = None  # the rollout's phase (None: following the champion pointer)


class RolloutFollower:
    def __init__(self, source: RolloutSource, gate: PointerGate, model_name: str, site_id: str) -> None:
        self._source, self._gate = source, gate
        self._name, self._site = model_name, site_id
        self._lock = threading.Lock()  # the pointer followed (the poller writes, readyz reads)
        self._etag: str | None = None
        self._pointer: RolloutPointer | None = None
        self._unreadable: str | None = None
        self._unreadable_count = 0

    def poll(self) -> str:
        """One look at the rollout pointer: ``unchanged``, ``accepted`` or ``refused``.

        Raises ``SourceUnavailable`` when the registry cannot be reached."""
        try:
            update = self._source.poll_rollout(self._name, self._etag)
        except RolloutError as exc:  # unreadable: judged like a forgery, the last one is kept
            with self._lock:
                self._unreadable, self._unreadable_count = str(exc), self._unreadable_count + 1
            logger.error("rollout pointer unreadable, keeping the last accepted: %s", exc)
            return "refused"
        if update is None:
            return "unchanged"
        signed, etag = update
        self._etag = etag  # judged either way; a new pointer comes with a new ETag
        try:
            admitted = self._gate.admit(signed)
        except PointerRefused as exc:
            logger.error("rollout pointer refused, keeping the last accepted: %s", exc)
            return "refused"
        with self._lock:
            self._pointer, self._unreadable = admitted.pointer, None
        return "accepted"

    def target(self, champion: ChampionPointer | None) -> Target | None:
        """What this site should serve (None: nothing known yet)."""
        with self._lock:
            pointer = self._pointer
        if pointer is None:
            return None if champion is None else Target(champion.version, champion.bundle_sha256)
        state = pointer.state
        version = state.version_for(self._site)
        return Target(version, pointer.bundles.get(version), state.ring_of(self._site), state.phase)

    def refusal_counts(self) -> dict[str, int]:
        """Rollout pointers refused, by kind (an unreadable one counts as ``unreadable``)."""
        counts = self._gate.refusal_counts()
        with self._lock:
            unreadable = self._unreadable_count
        return {**counts, "unreadable": unreadable} if unreadable else counts

    def status(self) -> dict[str, Any]:
        """For ``readyz``: the rollout followed (if any) and the gate's serial, expiry and refusals."""
        gate = self._gate.status()
        with self._lock:
            pointer, unreadable = self._pointer, self._unreadable
        followed = None
        if pointer is not None:
            state = pointer.state
            followed = {
                "candidate": state.candidate,
                "previous": state.previous,
                "phase": state.phase,
                "ring": state.ring_of(self._site),
                "current_ring": state.ring,
                "target": state.version_for(self._site),
            }
        return {**gate, "site": self._site, "rollout": followed, "unreadable": unreadable}


def target_of(rollout: RolloutFollower | None, champion: ChampionPointer | None) -> Target | None:
    """The rollout's version for this site when a rollout pointer is followed, else the champion's."""
    if rollout is not None:
        return rollout.target(champion)
    return None if champion is None else Target(champion.version, champion.bundle_sha256)
