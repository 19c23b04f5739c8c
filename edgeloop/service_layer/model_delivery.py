"""A site keeps serving its champion: poll, verify, load, golden-check, swap; roll back if it misbehaves.

``poll_once`` (run every few seconds by ``delivery_poller``) asks the registry whether
the champion pointer (and the rollout pointer, ``rollout_follow``) changed (conditional
requests). A changed pointer passes the site's ``pointer_gate`` first (signed by a trusted
key, not older than the last one accepted, not expired); a refused one is logged, counted
and shown in ``readyz``, and nothing else happens. Under a rollout the version this site
serves is the rollout's, else the champion's. A new version is fetched, its
signature and hashes verified (``signed_bundles``), written to the local cache
(``bundle_cache``), loaded, warmed up and checked against the golden sample shipped in
it (``golden_check``); only then is it swapped in (:class:`ModelHolder`: requests in
flight finish on the old model). Any failed check rejects the version: it is logged,
counted and shown in ``readyz``, and the current model keeps serving. With the registry
unreachable the site keeps serving and simply tries again at the next poll.

After a swap, :meth:`observe` counts rows and anomalies per version; the auto-rollback rule
(edgeloop.domain.auto_rollback) may return to the previous model. A rolled back or rejected
version is not installed again by this process.

A new site may start with no model (``ModelHolder`` empty): the first champion that passes every
check is its first model; until then each poll tells the holder why it still waits (what
``readyz``, the form and the API answer: no champion yet, registry unreachable, refused, rejected).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from edgeloop.domain.auto_rollback import RateCount, RollbackRule
from edgeloop.domain.champion import ChampionPointer
from edgeloop.domain.records import format_timestamp, utc_now
from edgeloop.domain.signed_pointer import PointerRefused
from edgeloop.ports import ChampionSource, ScoringModel, SourceUnavailable
from edgeloop.service_layer.bundle_cache import remember_current, write_bundle
from edgeloop.service_layer.golden_check import check_golden
from edgeloop.service_layer.pointer_gate import PointerGate
from edgeloop.service_layer.rollout_follow import RolloutFollower, Target, target_of
from edgeloop.service_layer.scoring import ModelHolder
from edgeloop.service_layer.signed_bundles import BundleRejected, Verify, open_bundle

logger = logging.getLogger(__name__)

LoadModel = Callable[[Path], ScoringModel]


class NoPreviousModel(RuntimeError):
    """A rollback was asked for, but this site holds no previous model to return to."""


@dataclass
class DeliveryStats:
    polls: int = 0
    poll_errors: int = 0
    swaps: int = 0
    rejections: int = 0
    rollbacks_auto: int = 0
    rollbacks_admin: int = 0
    registry_reachable: bool | None = None  # None: not asked yet
    champion_version: str | None = None
    last_poll_at: str | None = None
    last_error: str | None = None
    last_swap_at: str | None = None
    last_rollback: str | None = None
    rejected: dict[str, str] = field(default_factory=dict)  # version -> why


class ModelDelivery:
    def __init__(
        self,
        holder: ModelHolder,
        source: ChampionSource,
        gate: PointerGate,
        verify: Verify,
        load_model: LoadModel,
        cache_dir: Path,
        model_name: str,
        rule: RollbackRule,
        clock: Callable[[], datetime] = utc_now,
        rollout: RolloutFollower | None = None,
    ) -> None:
        self._holder = holder
        self._rollout = rollout  # set: a signed rollout pointer, when there is one, says what to serve
        self._champion: ChampionPointer | None = None  # the champion pointer last admitted
        self._source = source
        self._gate = gate
        self._verify = verify
        self._load = load_model
        self._cache = cache_dir
        self._name = model_name
        self._rule = rule
        self._clock = clock
        self._lock = threading.Lock()  # state below; never held during I/O
        self._poll_lock = threading.Lock()  # one poll at a time
        self._etag: str | None = None
        self._previous: ScoringModel | None = None
        self._counts: dict[str, RateCount] = {}
        self._baseline: RateCount | None = None  # the previous model's counts at the last swap
        self._judged = True  # whether the current model has passed (or failed) its window
        self.stats = DeliveryStats()

    @property
    def serving_version(self) -> str | None:
        """The version served; None while a new site waits for its first champion."""
        return self._holder.current.manifest.version if self._holder.loaded else None

    @property
    def _kept(self) -> str:
        return self.serving_version or "no model"  # for the log lines: what the site keeps serving

    def pointer_refusals(self) -> dict[str, int]:
        """Champion pointers refused, by kind (edgeloop.domain.signed_pointer.RefusalKind)."""
        return self._gate.refusal_counts()

    def rollout_refusals(self) -> dict[str, int]:  # by kind; none without a rollout follower
        return {} if self._rollout is None else self._rollout.refusal_counts()

    def poll_once(self) -> str:
        """One look at the registry; returns what happened (for logs and tests)."""
        with self._poll_lock:
            outcome = self._poll()
        if not self._holder.loaded and (reason := self._waiting_reason(outcome)) is not None:
            self._holder.waiting_for(reason)
        return outcome

    def _waiting_reason(self, outcome: str) -> str | None:
        """Why a site with no model still has none after this poll; None: as the last poll said."""
        if outcome in ("offline", "rejected") and self.stats.last_error:
            return f"no model yet: {self.stats.last_error}"
        if outcome == "refused":
            return f"no model yet: the champion pointer was refused ({self._gate.status()['last_refusal']})"
        if self._etag is not None:  # the pointer seen was judged (refused, rejected) and is unchanged
            return None
        return f"no model yet: waiting for the champion of {self._name} from the registry"

    def _poll(self) -> str:
        now = format_timestamp(self._clock())
        try:
            update = self._source.poll(self._name, self._etag)
            rollout = "unchanged" if self._rollout is None else self._rollout.poll()
        except SourceUnavailable as exc:
            self._record_unreachable(now, exc)
            return "offline"
        self._record_reachable(now)
        refused = rollout == "refused"
        if update is not None:
            signed, self._etag = update  # judged either way; a new pointer comes with a new ETag
            try:
                self._champion = self._gate.admit(signed).pointer
            except PointerRefused as exc:
                logger.error("champion pointer refused, keeping %s: %s", self._kept, exc)
                refused = True
        target = target_of(self._rollout, self._champion)
        if target is None:
            return "refused" if refused else "unchanged"
        with self._lock:
            self.stats.champion_version = target.version
            blocked = target.version in self.stats.rejected
        if target.version == self.serving_version or blocked:
            return "refused" if refused else "unchanged"
        try:
            model = self._install(target)
        except SourceUnavailable as exc:
            with self._lock:
                self.stats.poll_errors, self.stats.registry_reachable = self.stats.poll_errors + 1, False
                self.stats.last_error = str(exc)
            return "offline"  # the target stays: the next poll tries this version again
        except BundleRejected as exc:
            self._reject(target.version, str(exc))
            return "rejected"
        self._swap_in(model)
        return "swapped"

    def _record_unreachable(self, now: str, error: SourceUnavailable) -> None:
        with self._lock:
            self.stats.polls += 1
            self.stats.poll_errors += 1
            was_reachable = self.stats.registry_reachable is not False
            self.stats.registry_reachable = False
            self.stats.last_poll_at, self.stats.last_error = now, str(error)
        if was_reachable:  # once per outage, not at every poll
            logger.warning("model registry unreachable, keeping %s: %s", self._kept, error)

    def _record_reachable(self, now: str) -> None:
        with self._lock:
            self.stats.polls += 1
            if self.stats.registry_reachable is False:
                logger.warning("model registry reachable again")
            self.stats.registry_reachable = True
            self.stats.last_poll_at = now

    def _install(self, target: Target) -> ScoringModel:
        version = target.version
        files = self._source.fetch(self._name, version)
        manifest, golden = open_bundle(files, self._verify, target.bundle_sha256)
        if manifest.name != self._name or manifest.version != version:
            raise BundleRejected(
                f"bundle says {manifest.name} {manifest.version}, the pointer {self._name} {version}"
            )
        bundle_dir = write_bundle(self._cache, version, files)
        try:
            model = self._load(bundle_dir)
        except (OSError, ValueError, RuntimeError) as exc:  # BundleError is a RuntimeError
            raise BundleRejected(f"cannot load the model: {exc}") from exc
        check_golden(model, golden)
        return model

    def _reject(self, version: str, reason: str) -> None:
        with self._lock:
            self.stats.rejections += 1
            self.stats.rejected[version] = reason
            self.stats.last_error = f"rejected {version}: {reason}"
        logger.error("model %s %s rejected, keeping %s: %s", self._name, version, self._kept, reason)

    def _swap_in(self, model: ScoringModel) -> None:
        with self._lock:
            old = self._holder.swap(model)
            was = None if old is None else old.manifest.version
            # A site's first model has nothing to be compared with: the rollback rule has no baseline.
            self._baseline = None if was is None else self._counts.get(was, RateCount(0, 0))
            self._counts[model.manifest.version] = RateCount(0, 0)
            self._judged = was is None
            self._previous = old
            self.stats.swaps += 1
            self.stats.last_swap_at = format_timestamp(self._clock())
            self.stats.last_error = None
        remember_current(self._cache, model.manifest.version)
        logger.info("now serving %s %s (was %s)", self._name, model.manifest.version, was or "none")

    # --- rollback --------------------------------------------------------------------------------

    def observe(self, version: str, rows: int, anomalies: int) -> None:
        """Count a scored batch; may roll the current model back (the auto-rollback rule)."""
        with self._lock:
            count = self._counts.get(version, RateCount(0, 0))
            self._counts[version] = RateCount(count.rows + rows, count.anomalies + anomalies)
            if self._judged or version != self.serving_version or self._baseline is None:
                return
            verdict, reason = self._rule.judge(self._baseline, self._counts[version])
            if verdict == "wait":
                return
            self._judged = True
        if verdict == "roll_back":
            try:
                self.rollback("auto-rollback", reason)
            except NoPreviousModel:
                logger.error("auto-rollback wanted (%s) but no previous model is held", reason)
        else:
            logger.info("model %s passed its first %d rows: %s", version, self._rule.window_rows, reason)

    def rollback(self, actor: str, reason: str) -> tuple[str, str]:
        """Serve the previous model again and block the current version; ``(from, to)``."""
        with self._lock:
            previous = self._previous
            if previous is None:
                raise NoPreviousModel("this site holds no previous model to return to")
            current = self._holder.swap(previous)
            assert current is not None  # a previous model exists only once one was swapped out
            self._previous = None
            self._judged = True
            version = current.manifest.version
            self.stats.rejected[version] = f"rolled back by {actor}: {reason}"
            if actor == "auto-rollback":
                self.stats.rollbacks_auto += 1
            else:
                self.stats.rollbacks_admin += 1
            back_to = previous.manifest.version
            self.stats.last_rollback = f"{version} -> {back_to} by {actor}: {reason}"
        remember_current(self._cache, back_to)
        logger.warning("rolled back %s %s -> %s (%s: %s)", self._name, version, back_to, actor, reason)
        return version, back_to

    def record_stop(self, error: BaseException) -> None:
        with self._lock:
            self.stats.poll_errors += 1
            self.stats.last_error = f"poller stopped: {type(error).__name__}: {error}"

    def status(self) -> dict[str, Any]:
        pointer = self._gate.status()  # reads the ledger: outside the lock
        with self._lock:
            stats = self.stats
            return {
                "serving": self.serving_version,
                "champion": stats.champion_version,
                "registry_reachable": stats.registry_reachable,
                "last_poll_at": stats.last_poll_at,
                "last_error": stats.last_error,
                "last_swap_at": stats.last_swap_at,
                "last_rollback": stats.last_rollback,
                "rejected": dict(stats.rejected),
                "previous_available": self._previous is not None,
                "pointer": pointer,
                "rollout": None if self._rollout is None else self._rollout.status(),
            }
