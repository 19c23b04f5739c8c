"""Rollout ports: the registry's rollout plan, pointer and decision reports; a site's view of them.

Adapter: ``blob_rollouts.BlobRollouts`` (beside the registry's blobs, container ``models``)."""

from __future__ import annotations

from typing import Protocol

from edgeloop.domain.rollout_pointer import SignedRollout


class RolloutRegistry(Protocol):
    """The cloud's side: ``<name>/rollout-plan.json``, ``<name>/rollout.json`` and the reports."""

    def plan(self, name: str) -> bytes | None:
        """The plan document as stored (None: no plan, a promotion goes everywhere at once)."""
        ...

    def set_plan(self, name: str, document: bytes) -> None: ...

    def signed_rollout(self, name: str) -> tuple[SignedRollout, str] | None:
        """The rollout pointer (not verified) and its ETag; None: no rollout yet.

        Raises ``RolloutError`` when the stored document cannot be read."""
        ...

    def set_rollout(self, signed: SignedRollout, etag: str | None) -> str:
        """Replace the pointer read with ``etag`` (None: create it); the new ETag.

        Raises :class:`RegistryConflict` if it changed (or exists, for None) meanwhile."""
        ...

    def write_report(self, name: str, report_id: str, document: bytes) -> str:
        """Keep one decision report; returns the blob name it was written under."""
        ...


class RolloutSource(Protocol):
    """A site's read-only view of the rollout pointer (conditional reads, as for the champion)."""

    def poll_rollout(self, name: str, etag: str | None) -> tuple[SignedRollout, str] | None:
        """The pointer and its ETag if it differs from ``etag`` (None: unchanged or no rollout).

        Raises ``SourceUnavailable`` when the registry cannot be reached and ``RolloutError`` when
        the stored document cannot be read."""
        ...
