"""Writing a model bundle atomically: a killed or failed write never leaves half a bundle.

Files go to a hidden temporary directory next to the target, are fsynced, and the
directory is renamed into place. An existing bundle is first renamed aside and
removed after the swap, so the target path always holds a complete bundle or none.
(A process killed mid-write leaves only a hidden ``.<name>.tmp-*`` directory behind.)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edgeloop.domain.manifest import MANIFEST_FILE, ModelManifest


class BundleWriteError(RuntimeError):
    """The target cannot take a bundle (e.g. an existing directory that is not a bundle)."""


def write_bundle(
    out_dir: Path, manifest_fields: Mapping[str, Any], files: Mapping[str, bytes]
) -> ModelManifest:
    """Write ``files`` plus a manifest (``manifest_fields`` + their sha256 under ``files``).

    The manifest is validated before anything is written; returns it.
    """
    document = dict(manifest_fields)
    document["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    manifest = ModelManifest.from_dict(document)
    out_dir = out_dir.resolve()
    if out_dir.exists() and not (out_dir / MANIFEST_FILE).is_file() and any(out_dir.iterdir()):
        raise BundleWriteError(f"{out_dir} exists and is not a model bundle; refusing to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    staging = out_dir.parent / f".{out_dir.name}.tmp-{token}"
    retired = out_dir.parent / f".{out_dir.name}.old-{token}"
    staging.mkdir()
    try:
        for name, data in files.items():
            _write_synced(staging / name, data)
        manifest_bytes = json.dumps(manifest.to_dict(), indent=2, sort_keys=False).encode("utf-8") + b"\n"
        _write_synced(staging / MANIFEST_FILE, manifest_bytes)
        _fsync_dir(staging)
        if out_dir.exists():
            out_dir.rename(retired)
        try:
            staging.rename(out_dir)
        except OSError:
            if retired.exists():  # put the previous bundle back
                retired.rename(out_dir)
            raise
        _fsync_dir(out_dir.parent)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    if retired.exists():
        shutil.rmtree(retired)
    return manifest


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
