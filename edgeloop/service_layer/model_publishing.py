"""Registry operations shared by the CLI, the retraining run and the local start-up.

* :func:`golden_sample`: score sample rows with a loaded model (what a site compares against);
* :func:`publish_bundle`: sign a local bundle (e.g. the demo) and register it, optionally
  as the first champion;
* :func:`promote` / :func:`rollback`: move the champion pointer under its ETag, each time a new
  signed pointer with the next serial (edgeloop.service_layer.champion_pointers).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from edgeloop.domain.bundle_integrity import GOLDEN_FILE, BundleSignature, GoldenSample
from edgeloop.domain.champion import ChampionPointer, first_pointer
from edgeloop.domain.manifest import MANIFEST_FILE, load_manifest
from edgeloop.domain.records import utc_now
from edgeloop.domain.signed_pointer import PointerRefused, check_signatures
from edgeloop.ports import ModelRegistry, RegistryConflict, ScoringModel, VersionExists
from edgeloop.service_layer.champion_pointers import PointerSigning, publish_pointer, verified_champion
from edgeloop.service_layer.golden_check import golden_scorer
from edgeloop.service_layer.signed_bundles import Sign, pack_bundle

logger = logging.getLogger(__name__)

LoadModel = Callable[[Path], ScoringModel]
GOLDEN_ROWS = 16


class UnknownVersion(LookupError):
    """A version that is not registered under that model name."""


def golden_sample(model: ScoringModel, rows: Sequence[Mapping[str, Any]]) -> GoldenSample:
    """The model's outputs on ``rows`` (an image model's: frames, edgeloop.domain.golden_images)."""
    outputs = golden_scorer(model, rows)()
    return GoldenSample(
        rows=tuple(dict(row) for row in rows),
        expected={name: tuple(float(v) for v in values.tolist()) for name, values in outputs.items()},
    )


def load_from_files(files: Mapping[str, bytes], load_model: LoadModel) -> ScoringModel:
    """Load a model from in-memory bundle files (through a temporary directory)."""
    directory = Path(tempfile.mkdtemp(prefix="edgeloop-bundle-"))
    try:
        for name, data in files.items():
            (directory / name).write_bytes(data)
        return load_model(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _no_signature(document: Mapping[str, Any]) -> BundleSignature:
    return BundleSignature("unsigned", b"")


def signed_bundle(
    manifest_fields: Mapping[str, Any],
    model_file: str,
    model_bytes: bytes,
    golden_rows: Sequence[Mapping[str, Any]],
    sign: Sign,
    load_model: LoadModel,
) -> tuple[dict[str, bytes], ScoringModel]:
    """A signed bundle whose golden sample is the model's own outputs on ``golden_rows``."""
    fields = {key: value for key, value in manifest_fields.items() if key != "files"}
    # Loaded once before signing, only to record its outputs on the golden rows.
    unsigned = pack_bundle(fields, {model_file: model_bytes}, _no_signature)
    model = load_from_files(unsigned, load_model)
    golden = golden_sample(model, golden_rows)
    golden_bytes = json.dumps(golden.to_dict(), indent=1).encode("utf-8") + b"\n"
    return pack_bundle(fields, {model_file: model_bytes, GOLDEN_FILE: golden_bytes}, sign), model


def refuse_a_taken_version(registry: ModelRegistry, bundle_dir: Path) -> None:
    """VersionExists if the bundle's version is registered with another model file (versions are
    immutable: publishing would silently keep the old one); the same model file passes."""
    manifest = load_manifest(bundle_dir)
    if manifest.version not in registry.versions(manifest.name):
        return
    registered = json.loads(registry.read(manifest.name, manifest.version, MANIFEST_FILE))
    local = hashlib.sha256((bundle_dir / manifest.model_file).read_bytes()).hexdigest()
    if registered.get("files", {}).get(manifest.model_file) != local:
        raise VersionExists(
            f"{manifest.name} {manifest.version} is registered with another {manifest.model_file}: "
            "versions are immutable, give the bundle a new version"
        )


def publish_bundle(
    registry: ModelRegistry,
    bundle_dir: Path,
    golden_rows: Sequence[Mapping[str, Any]],
    sign: Sign,
    load_model: LoadModel,
    *,
    actor: str,
    pointers: PointerSigning,
    make_champion_if_none: bool = True,
    clock: Callable[[], datetime] = utc_now,
) -> tuple[str, bool]:
    """Register a local bundle (signed, with a golden sample); ``(version, became champion)``."""
    manifest = load_manifest(bundle_dir)
    document = json.loads((bundle_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    files, _ = signed_bundle(
        document,
        manifest.model_file,
        (bundle_dir / manifest.model_file).read_bytes(),
        golden_rows,
        sign,
        load_model,
    )
    if manifest.version not in registry.versions(manifest.name):
        registry.register(manifest.name, manifest.version, files)
    if not make_champion_if_none or registry.champion(manifest.name) is not None:
        return manifest.version, False
    pointer = first_pointer(manifest.name, manifest.version, actor, "first champion", clock())
    try:
        publish_pointer(registry, pointer, None, pointers, clock)
    except RegistryConflict:
        return manifest.version, False  # someone else published a first champion meanwhile
    return manifest.version, True


def promote(
    registry: ModelRegistry,
    name: str,
    version: str,
    actor: str,
    reason: str,
    pointers: PointerSigning,
    clock: Callable[[], datetime] = utc_now,
) -> ChampionPointer:
    """Make a registered version the champion; RegistryConflict if another promotion won meanwhile.

    The version is named explicitly, so this may go over a pointer that does not verify (one
    written before pointers were signed, or edited in storage): logged, its serial continued."""
    if version not in registry.versions(name):
        raise UnknownVersion(f"{name} {version} is not a registered version")
    found = registry.signed_champion(name)
    if found is None:
        pointer, etag = first_pointer(name, version, actor, reason, clock()), None
    else:
        try:
            check_signatures(found[0], pointers.verify)
        except PointerRefused as exc:
            logger.warning("promoting %s %s over a pointer that does not verify: %s", name, version, exc)
        pointer, etag = found[0].pointer.promoted(version, actor, reason, clock()), found[1]
    return publish_pointer(registry, pointer, etag, pointers, clock).pointer


def rollback(
    registry: ModelRegistry,
    name: str,
    actor: str,
    reason: str,
    pointers: PointerSigning,
    clock: Callable[[], datetime] = utc_now,
) -> ChampionPointer:
    """Make the previous champion the champion again, as a new pointer with the next serial.

    Raises ChampionError if there is none, PointerRefused if the current pointer does not verify
    (its history, which names the version to return to, cannot be trusted)."""
    found = verified_champion(registry, name, pointers)
    if found is None:
        raise UnknownVersion(f"{name} has no champion yet")
    current, etag = found
    pointer = current.pointer.rolled_back(actor, reason, clock())
    return publish_pointer(registry, pointer, etag, pointers, clock).pointer
