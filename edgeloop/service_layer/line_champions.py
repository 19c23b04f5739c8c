"""The champion a retraining run of one model line compares with, and the pointer its promotion writes.

A line's own champion when it has one. A cohort line (edgeloop.domain.model_lines) with
no champion yet starts from its parent's (the fleet's line): that model is what the
cohort's sites would serve otherwise, so the first challenger must beat it on the cohort's
rows; its promotion then writes the line's first pointer (created, not replaced: two
first promotions racing, one wins, the other is a RegistryConflict).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from edgeloop.domain.champion import ChampionPointer, first_pointer
from edgeloop.domain.manifest import MANIFEST_FILE, ModelManifest
from edgeloop.domain.model_lines import ModelLines
from edgeloop.domain.signed_pointer import SignedPointer
from edgeloop.ports import LabelledRow, ModelRegistry, ScoringModel
from edgeloop.service_layer.champion_pointers import PointerSigning, refresh_pointer
from edgeloop.service_layer.model_publishing import LoadModel, load_from_files


@dataclass(frozen=True)
class LineChampion:
    pointer: ChampionPointer  # the line's, or its parent's while the line has none
    etag: str | None  # None: the line has no pointer yet; the first promotion creates it
    model: ScoringModel
    forked_from: str | None = None  # the parent line whose champion this is

    def promoted(self, line: str, version: str, actor: str, reason: str, at: datetime) -> ChampionPointer:
        """The pointer that makes ``version`` the line's champion."""
        if self.forked_from is not None:
            return first_pointer(line, version, actor, f"first champion of the line: {reason}", at)
        return self.pointer.promoted(version, actor, reason, at)


def line_rows(lines: ModelLines | None, line: str, rows: Sequence[LabelledRow]) -> list[LabelledRow]:
    """The rows ``line`` learns from: its own sites' (every row without lines)."""
    return [row for row in rows if lines is None or lines.learns_from(line, row.site)]


def read_line_champion(
    registry: ModelRegistry, line: str, parent: str | None, load_model: LoadModel
) -> LineChampion | None:
    """``line``'s champion, else (a cohort line) its ``parent``'s; None when neither has one."""
    found = registry.champion(line)
    if found is not None:
        pointer, etag = found
        return LineChampion(pointer, etag, _load(registry, line, pointer.version, load_model))
    if parent is None:
        return None
    forked = registry.champion(parent)
    if forked is None:
        return None
    pointer = forked[0]
    return LineChampion(pointer, None, _load(registry, parent, pointer.version, load_model), parent)


def _load(registry: ModelRegistry, name: str, version: str, load_model: LoadModel) -> ScoringModel:
    return load_from_files(registry_files(registry, name, version), load_model)


def refresh_line_pointers(
    registry: ModelRegistry, lines: ModelLines, signing: PointerSigning
) -> SignedPointer | None:
    """Re-sign each line's pointer that expires soon (a cohort's too: its sites refuse an expired
    one); the fleet line's new pointer, or None. Raises the first line's error after trying all."""
    refreshed: dict[str, SignedPointer | None] = {}
    errors: list[Exception] = []
    for name in lines.names:
        try:
            refreshed[name] = refresh_pointer(registry, name, signing)
        except Exception as exc:  # noqa: BLE001  # one line's bad pointer must not keep the others stale
            errors.append(exc)
    if errors:
        raise errors[0]
    return refreshed.get(lines.base)


def registry_files(registry: ModelRegistry, name: str, version: str) -> dict[str, bytes]:
    """A registered version's manifest and the files it lists."""
    manifest = ModelManifest.from_dict(json.loads(registry.read(name, version, MANIFEST_FILE)))
    files = {MANIFEST_FILE: json.dumps(manifest.to_dict()).encode("utf-8")}
    for file_name in manifest.files:
        files[file_name] = registry.read(name, version, file_name)
    return files
