"""Settings of a site's cameras (env prefix ``SCORING_``, read by the scoring app).

* ``SCORING_CAMERAS``: a JSON list of cameras, each ``{"id", "url", "sample_fps", "batch_size"}``
  (url: ``rtsp://``, ``http(s)://`` for MJPEG, or a video file's path); or
* ``SCORING_CAMERAS_FILE``: a YAML (or JSON) file holding that list, or ``{"cameras": [...]}``.
  Neither set: no camera workers. Both set: refused (one place says what the site has).
* ``SCORING_CAMERA_BACKOFF_INITIAL_SECONDS`` (1), ``_MAX_SECONDS`` (60), ``_MULTIPLIER`` (2),
  ``_JITTER`` (0.2): the wait before reconnecting a camera (edgeloop.domain.cameras.Backoff).
* ``SCORING_CAMERA_OPEN_TIMEOUT_SECONDS`` (10), ``SCORING_CAMERA_READ_TIMEOUT_SECONDS`` (10): how
  long a connection, then a read, may take before the camera counts as down.
* ``SCORING_CAMERA_BATCH_MAX_WAIT_SECONDS`` (2): a partial batch is scored once its oldest frame
  has waited this long (a camera sampled slowly is still scored promptly).
* ``SCORING_CAMERA_GROUP_BATCHES`` (8): when scoring lags, a camera's scorer takes up to this many
  full batches already waiting and commits their insights in one outbox transaction (one fsync
  instead of one a batch); 1: a commit per batch. A group never waits for frames to arrive.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from edgeloop.config.base import EdgeloopSettings
from edgeloop.domain.cameras import DEFAULT_GROUP_BATCHES, MAX_GROUP_BATCHES, Backoff, CameraSpec

CAMERA_FIELDS = ("id", "url", "sample_fps", "batch_size")


class CameraSettings(EdgeloopSettings):
    model_config = SettingsConfigDict(env_prefix="SCORING_", extra="ignore", populate_by_name=True)

    cameras: Annotated[str | None, NoDecode] = None
    cameras_file: Path | None = None
    camera_backoff_initial_seconds: float = Field(default=1.0, gt=0, le=3600)
    camera_backoff_max_seconds: float = Field(default=60.0, gt=0, le=3600)
    camera_backoff_multiplier: float = Field(default=2.0, ge=1, le=10)
    camera_backoff_jitter: float = Field(default=0.2, ge=0, lt=1)
    camera_open_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    camera_read_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    camera_batch_max_wait_seconds: float = Field(default=2.0, gt=0, le=600)
    camera_group_batches: int = Field(default=DEFAULT_GROUP_BATCHES, ge=1, le=MAX_GROUP_BATCHES)

    @model_validator(mode="after")
    def _one_source_of_cameras(self) -> CameraSettings:
        if self.cameras and self.cameras_file is not None:
            raise ValueError("SCORING_CAMERAS and SCORING_CAMERAS_FILE: set one of them, not both")
        if self.camera_backoff_initial_seconds > self.camera_backoff_max_seconds:
            raise ValueError(
                "SCORING_CAMERA_BACKOFF_INITIAL_SECONDS: above SCORING_CAMERA_BACKOFF_MAX_SECONDS"
            )
        self.camera_specs()  # a bad camera fails at start-up, named
        return self

    def backoff(self) -> Backoff:
        return Backoff(
            self.camera_backoff_initial_seconds,
            self.camera_backoff_max_seconds,
            self.camera_backoff_multiplier,
            self.camera_backoff_jitter,
        )

    def camera_specs(self) -> tuple[CameraSpec, ...]:
        """The cameras configured, checked; a fault names the setting, the camera and the field."""
        if self.cameras_file is not None:
            where = f"SCORING_CAMERAS_FILE ({self.cameras_file})"
            document = _read_file(self.cameras_file, where)
        elif self.cameras and self.cameras.strip():
            where = "SCORING_CAMERAS"
            try:
                document = json.loads(self.cameras)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not valid JSON: {exc}") from None
        else:
            return ()
        return parse_cameras(document, where)


def _read_file(path: Path, where: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{where}: cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{where}: not valid YAML: {exc}") from None


def parse_cameras(document: Any, where: str) -> tuple[CameraSpec, ...]:
    if isinstance(document, dict) and set(document) == {"cameras"}:
        document = document["cameras"]
    if not isinstance(document, list):
        raise ValueError(f"{where}: a list of cameras, each {{{', '.join(CAMERA_FIELDS)}}}")
    cameras: list[CameraSpec] = []
    for index, item in enumerate(document):
        name = f"{where}[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{name}: an object with {', '.join(CAMERA_FIELDS)}")
        unknown = sorted(set(item) - set(CAMERA_FIELDS))
        if unknown:
            raise ValueError(f"{name}.{unknown[0]}: not a camera field ({', '.join(CAMERA_FIELDS)})")
        for field in ("id", "url"):
            if not isinstance(item.get(field), str):
                raise ValueError(f"{name}.{field}: required, a string")
        cameras.append(_camera(item, name))
    ids = [camera.id for camera in cameras]
    duplicated = sorted({camera_id for camera_id in ids if ids.count(camera_id) > 1})
    if duplicated:
        raise ValueError(f"{where}: camera id {duplicated[0]!r} given twice")
    return tuple(cameras)


def _camera(item: dict[str, Any], name: str) -> CameraSpec:
    for field, kind, what in (("sample_fps", (int, float), "a number"), ("batch_size", (int,), "an integer")):
        value = item.get(field)
        if field in item and (isinstance(value, bool) or not isinstance(value, kind)):
            raise ValueError(f"{name}.{field}: {what}")
    try:
        return CameraSpec(**item)
    except ValueError as exc:
        field = str(exc).split(" ", 1)[0]
        raise ValueError(f"{name}.{field if field in CAMERA_FIELDS else 'url'}: {exc}") from None
