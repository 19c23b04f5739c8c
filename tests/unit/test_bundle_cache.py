"""The site's bundle cache on a real directory: atomic writes, and what a restart starts with."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeloop.service_layer.bundle_cache import (
    CURRENT_FILE,
    cached_champion,
    remember_current,
    write_bundle,
)

FILES = {"manifest.json": b"{}\n", "model.onnx": b"\x08\x01"}


def test_a_written_bundle_holds_exactly_its_files_and_no_staging_is_left(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "cache", "1.2.0", FILES)
    assert bundle == tmp_path / "cache" / "1.2.0"
    assert {path.name: path.read_bytes() for path in bundle.iterdir()} == FILES
    assert [path.name for path in (tmp_path / "cache").iterdir()] == ["1.2.0"]


def test_rewriting_a_version_replaces_the_old_copy(tmp_path: Path) -> None:
    write_bundle(tmp_path, "1.2.0", {**FILES, "stale.bin": b"old"})
    bundle = write_bundle(tmp_path, "1.2.0", FILES)
    assert sorted(path.name for path in bundle.iterdir()) == sorted(FILES)


def test_a_failed_write_leaves_neither_the_bundle_nor_its_staging(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_bundle(tmp_path, "1.2.0", {**FILES, "missing-dir/model.onnx": b""})
    assert list(tmp_path.iterdir()) == []


def test_a_restart_starts_with_the_bundle_remembered_last(tmp_path: Path) -> None:
    assert cached_champion(tmp_path) is None
    write_bundle(tmp_path, "1.2.0", FILES)
    write_bundle(tmp_path, "1.3.0", FILES)
    remember_current(tmp_path, "1.3.0")
    remember_current(tmp_path, "1.2.0")
    assert cached_champion(tmp_path) == tmp_path / "1.2.0"
    assert (tmp_path / CURRENT_FILE).read_text(encoding="utf-8") == "1.2.0\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["1.2.0", "1.3.0", CURRENT_FILE]


@pytest.mark.parametrize("current", ["", "9.9.9\n"])
def test_no_cached_champion_when_current_names_no_bundle(tmp_path: Path, current: str) -> None:
    (tmp_path / CURRENT_FILE).write_text(current, encoding="utf-8")
    assert cached_champion(tmp_path) is None


def test_no_cached_champion_when_the_bundle_has_no_manifest(tmp_path: Path) -> None:
    write_bundle(tmp_path, "1.2.0", {"model.onnx": b"\x08\x01"})
    remember_current(tmp_path, "1.2.0")
    assert cached_champion(tmp_path) is None
