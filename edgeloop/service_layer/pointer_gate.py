"""A site's gate on champion pointers: follow one only if it is signed, current and not expired.

:meth:`PointerGate.admit` applies edgeloop.domain.signed_pointer.check_pointer against the
highest pointer this site accepted before (the PointerLedger port, kept across restarts) and
records the newly accepted one; a refused pointer raises :class:`PointerRefused`, is counted
by kind and remembered with its reason, and the site keeps serving what it serves. The gate
also tells when the pointer it follows has expired without a newer one arriving (a frozen
registry, or one old pointer fed to the site): shown in ``readyz``, the model keeps serving.
The same gate guards the rollout pointer (``ledger_key`` and ``what`` tell the two apart).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from edgeloop.domain.records import format_timestamp, utc_now
from edgeloop.domain.signed_pointer import Envelope, PointerRefused, VerifyPointer, check_pointer
from edgeloop.ports import PointerLedger

E = TypeVar("E", bound=Envelope)


class PointerGate:
    def __init__(
        self,
        verify: VerifyPointer,
        ledger: PointerLedger,
        model_name: str,
        clock: Callable[[], datetime] = utc_now,
        *,
        ledger_key: str | None = None,
        what: str = "champion pointer",
    ) -> None:
        self._verify = verify
        self._ledger = ledger
        self._name = model_name
        self._key = ledger_key or model_name  # the ledger's row: the model's name for its champion
        self._what = what
        self._clock = clock
        self._lock = threading.Lock()  # the figures below
        self.refusals: Counter[str] = Counter()  # kind -> count
        self.last_refusal: str | None = None

    def admit(self, signed: E) -> E:
        """The pointer to follow, recorded as accepted; :class:`PointerRefused` if it must not be."""
        last = self._ledger.last_accepted(self._key)
        try:
            accepted = check_pointer(signed, self._verify, last, self._name, self._clock(), self._what)
        except PointerRefused as exc:
            with self._lock:
                self.refusals[exc.kind] += 1
                self.last_refusal = f"{exc.kind}: {exc}"
            raise
        self._ledger.record_accepted(self._key, accepted)
        return signed

    def refusal_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.refusals)

    def status(self) -> dict[str, Any]:
        last = self._ledger.last_accepted(self._key)
        with self._lock:
            refusals, last_refusal = dict(self.refusals), self.last_refusal
        # Expired with no newer pointer: the registry is frozen (or feeds an old one); we keep serving.
        return {
            "serial": None if last is None else last.serial,
            "expires": None if last is None else format_timestamp(last.expires),
            "expired": last is not None and self._clock() >= last.expires,
            "refusals": refusals,
            "last_refusal": last_refusal,
        }
