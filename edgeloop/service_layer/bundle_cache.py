"""A site's local copy of the bundles it verified: ``<cache>/<version>/`` and a ``current`` file.

Writes are atomic (a staging directory renamed into place; ``current`` replaced whole), so a
crash or a second worker process never leaves a half-written bundle. After a restart the site
starts with the bundle ``current`` names, even while the registry is unreachable.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

from edgeloop.domain.manifest import MANIFEST_FILE

CURRENT_FILE = "current"


def write_bundle(cache_dir: Path, version: str, files: Mapping[str, bytes]) -> Path:
    """The verified files under ``<cache>/<version>/``, written atomically (tmp dir + rename)."""
    target = cache_dir / version
    if target.is_dir():
        shutil.rmtree(target)  # a copy we could not use before; this one was just verified
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = cache_dir / f".{version}.tmp-{uuid.uuid4().hex[:8]}"
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


def remember_current(cache_dir: Path, version: str) -> None:
    """Name ``version`` as the bundle to start with after a restart."""
    path = cache_dir / CURRENT_FILE
    temporary = path.with_name(f".{CURRENT_FILE}.{uuid.uuid4().hex[:8]}")
    temporary.write_text(version + "\n", encoding="utf-8")
    temporary.replace(path)


def cached_champion(cache_dir: Path) -> Path | None:
    """The bundle this site last installed (to start with after a restart), if any."""
    path = cache_dir / CURRENT_FILE
    if not path.is_file():
        return None
    version = path.read_text(encoding="utf-8").strip()
    bundle = cache_dir / version
    return bundle if version and (bundle / MANIFEST_FILE).is_file() else None
