"""A site keeps serving its champion: poll, verify, load, golden-check, swap; roll back if it misbehaves.

``poll_once`` (run by :class:`DeliveryPoller` every few seconds) asks the registry
whether the champion pointer changed (a conditional request). A new champion is
fetched, its signature and hashes verified, written to the local cache, loaded,
warmed up and checked against the golden sample shipped in it; only then is it
swapped in (:class:`ModelHolder`: requests in flight finish on the old model).
Any failed check rejects the version: it is logged, counted and shown in
``readyz``, and the current model keeps serving. With the registry unreachable
the site keeps serving and simply tries again at the next poll.

After a swap, :meth:`observe` counts rows and anomalies per version; the
auto-rollback rule (edgeloop.domain.auto_rollback) may return to the previous
model. A rolled back or rejected version is not installed again until the
champion pointer names another one.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from edgeloop.domain.auto_rollback import RateCount, RollbackRule
from edgeloop.domain.bundle_integrity import GoldenSample, golden_mismatches
from edgeloop.domain.records import format_timestamp, utc_now
from edgeloop.domain.validation import RowValidationError, validate_rows
from edgeloop.ports import ChampionSource, ScoringModel, SourceUnavailable
from edgeloop.service_layer.scoring import ModelHolder
from edgeloop.service_layer.signed_bundles import BundleRejected, Verify, open_bundle

logger = logging.getLogger(__name__)

CURRENT_FILE = "current"
WARM_UP_ROUNDS = 3
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
        verify: Verify,
        load_model: LoadModel,
        cache_dir: Path,
        model_name: str,
        rule: RollbackRule,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._holder = holder
        self._source = source
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
    def serving_version(self) -> str:
        return self._holder.current.manifest.version

    # --- polling ---------------------------------------------------------------------------------

    def poll_once(self) -> str:
        """One look at the registry; returns what happened (for logs and tests)."""
        with self._poll_lock:
            return self._poll()

    def _poll(self) -> str:
        now = format_timestamp(self._clock())
        try:
            update = self._source.poll(self._name, self._etag)
        except SourceUnavailable as exc:
            with self._lock:
                self.stats.polls += 1
                self.stats.poll_errors += 1
                was_reachable = self.stats.registry_reachable is not False
                self.stats.registry_reachable = False
                self.stats.last_poll_at, self.stats.last_error = now, str(exc)
            if was_reachable:  # once per outage, not at every poll
                logger.warning("model registry unreachable, keeping %s: %s", self.serving_version, exc)
            return "offline"
        with self._lock:
            self.stats.polls += 1
            if self.stats.registry_reachable is False:
                logger.warning("model registry reachable again")
            self.stats.registry_reachable = True
            self.stats.last_poll_at = now
        if update is None:
            return "unchanged"
        pointer, etag = update
        with self._lock:
            self.stats.champion_version = pointer.version
            blocked = pointer.version in self.stats.rejected
        if pointer.version == self.serving_version or blocked:
            self._etag = etag
            return "unchanged"
        try:
            model = self._install(pointer.version)
        except SourceUnavailable as exc:
            with self._lock:
                self.stats.poll_errors += 1
                self.stats.registry_reachable = False
                self.stats.last_error = str(exc)
            return "offline"  # the etag is kept: the next poll tries this version again
        except BundleRejected as exc:
            self._etag = etag
            self._reject(pointer.version, str(exc))
            return "rejected"
        self._etag = etag
        self._swap_in(model)
        return "swapped"

    def _install(self, version: str) -> ScoringModel:
        files = self._source.fetch(self._name, version)
        manifest, golden = open_bundle(files, self._verify)
        if manifest.name != self._name or manifest.version != version:
            raise BundleRejected(
                f"bundle says {manifest.name} {manifest.version}, the pointer {self._name} {version}"
            )
        bundle_dir = self._write_cache(version, files)
        try:
            model = self._load(bundle_dir)
        except (OSError, ValueError, RuntimeError) as exc:  # BundleError is a RuntimeError
            raise BundleRejected(f"cannot load the model: {exc}") from exc
        check_golden(model, golden)
        return model

    def _write_cache(self, version: str, files: dict[str, bytes]) -> Path:
        """The verified files under ``<cache>/<version>/``, written atomically (tmp dir + rename)."""
        target = self._cache / version
        if target.is_dir():
            shutil.rmtree(target)  # a copy we could not use before; this one was just verified
        self._cache.mkdir(parents=True, exist_ok=True)
        staging = self._cache / f".{version}.tmp-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            for name, data in files.items():
                with (staging / name).open("xb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            try:
                staging.rename(target)
            except OSError:
                if not target.is_dir():  # another worker process won the race with the same bytes
                    raise
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        return target

    def _remember_current(self, version: str) -> None:
        path = self._cache / CURRENT_FILE
        temporary = path.with_name(f".{CURRENT_FILE}.{uuid.uuid4().hex[:8]}")
        temporary.write_text(version + "\n", encoding="utf-8")
        temporary.replace(path)

    def _reject(self, version: str, reason: str) -> None:
        with self._lock:
            self.stats.rejections += 1
            self.stats.rejected[version] = reason
            self.stats.last_error = f"rejected {version}: {reason}"
        logger.error(
            "model %s %s rejected, keeping %s: %s", self._name, version, self.serving_version, reason
        )

    def _swap_in(self, model: ScoringModel) -> None:
        with self._lock:
            old = self._holder.current
            self._baseline = self._counts.get(old.manifest.version, RateCount(0, 0))
            self._counts[model.manifest.version] = RateCount(0, 0)
            self._judged = False
            self._holder.swap(model)
            self._previous = old
            self.stats.swaps += 1
            self.stats.last_swap_at = format_timestamp(self._clock())
            self.stats.last_error = None
        self._remember_current(model.manifest.version)
        logger.info("now serving %s %s (was %s)", self._name, model.manifest.version, old.manifest.version)

    # --- rollback --------------------------------------------------------------------------------

    def observe(self, version: str, rows: int, anomalies: int) -> None:
        """Count a scored batch; may roll the current model back (the auto-rollback rule)."""
        with self._lock:
            count = self._counts.get(version, RateCount(0, 0))
            self._counts[version] = RateCount(count.rows + rows, count.anomalies + anomalies)
            if self._judged or version != self._holder.current.manifest.version or self._baseline is None:
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
        self._remember_current(back_to)
        logger.warning("rolled back %s %s -> %s (%s: %s)", self._name, version, back_to, actor, reason)
        return version, back_to

    def record_stop(self, error: BaseException) -> None:
        with self._lock:
            self.stats.poll_errors += 1
            self.stats.last_error = f"poller stopped: {type(error).__name__}: {error}"

    def status(self) -> dict[str, Any]:
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
            }


def check_golden(model: ScoringModel, golden: GoldenSample) -> None:
    """Warm the model up on the golden rows, then compare its outputs; BundleRejected on a mismatch."""
    try:
        columns = validate_rows(model.manifest, list(golden.rows))
    except RowValidationError as exc:
        raise BundleRejected(f"golden rows do not fit the manifest: {exc.errors[0]}") from None
    for _ in range(WARM_UP_ROUNDS):  # the first runs allocate; later requests should not pay for that
        outputs = model.predict(columns)
    problems = golden_mismatches(golden, {name: values.tolist() for name, values in outputs.items()})
    if problems:
        raise BundleRejected("golden check failed: " + "; ".join(problems))


def cached_champion(cache_dir: Path) -> Path | None:
    """The bundle this site last installed (to start with after a restart), if any."""
    path = cache_dir / CURRENT_FILE
    if not path.is_file():
        return None
    version = path.read_text(encoding="utf-8").strip()
    bundle = cache_dir / version
    return bundle if version and (bundle / "manifest.json").is_file() else None


class DeliveryPoller:
    """A daemon thread calling ``poll_once`` every ``interval`` seconds until stopped."""

    def __init__(self, delivery: ModelDelivery, interval: float) -> None:
        self._delivery = delivery
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-delivery", daemon=True)

    def start(self) -> DeliveryPoller:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._delivery.poll_once()
            except Exception as exc:
                # Expected failures (offline registry, bad bundles) are handled inside poll_once;
                # anything else is a bug: recorded for readyz, logged, and the thread stops.
                self._delivery.record_stop(exc)
                logger.exception("model delivery poller stopped on an unexpected error")
                raise
            self._stop.wait(self._interval)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
