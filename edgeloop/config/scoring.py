"""Settings of the edge scoring app (env prefix ``SCORING_``).

A few names are shared with the rest of the system and keep their contract
names (docs/CONTRACTS.md): ``EDGELOOP_SITE_ID``, ``EdgeStorage``, ``INSIGHTS_QUEUE``.
``EdgeStorage`` (or its identity-based settings, edgeloop.config.connections) has no
default: the relay needs it, and ``make run`` and the tests set it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from edgeloop.config.azure_sdk import AzureSdkOptions
from edgeloop.config.base import EdgeloopSettings
from edgeloop.config.connections import EdgeStorageConnection
from edgeloop.domain.execution_providers import CPU_PROVIDER
from edgeloop.wire.messaging import INSIGHTS_QUEUE

MAX_ROWS_PER_REQUEST = 10_000


class ScoringSettings(EdgeStorageConnection, AzureSdkOptions, EdgeloopSettings):
    model_config = SettingsConfigDict(env_prefix="SCORING_", extra="ignore", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    access_log: bool = False  # off by default: a log line per request costs a fifth of the throughput

    model_dir: Path = Path("var/models/demo")
    onnx_intra_op_threads: int = Field(default=1, ge=0, le=64)  # 0: onnxruntime picks
    # onnxruntime execution providers, best first, comma-separated (edgeloop.domain.execution_providers):
    # one this onnxruntime build lacks is passed over with a warning; the CPU provider always ends the list.
    execution_providers: Annotated[tuple[str, ...], NoDecode] = (CPU_PROVIDER,)
    # JSON: {"CUDAExecutionProvider": {"device_id": "0"}}, onnxruntime's provider options.
    execution_provider_options: Annotated[dict[str, dict[str, str]], NoDecode] = Field(default_factory=dict)

    outbox_path: Path = Path("var/edge/outbox.sqlite3")
    outbox_capacity: int = Field(default=1_000_000, ge=1)
    # How far an acknowledged scoring is durable (edgeloop.adapters.sqlite_outbox, docs/benchmarks.md):
    # FULL survives kill -9 and a power cut or OS crash; NORMAL survives kill -9 only.
    outbox_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    # How long a scoring waits for a locked outbox file before answering 503 (Retry-After).
    outbox_busy_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_rows: int = Field(default=MAX_ROWS_PER_REQUEST, ge=1, le=MAX_ROWS_PER_REQUEST)
    retry_after_seconds: int = Field(default=30, ge=1)
    # Image scoring (POST /api/v1/score/images, docs/vision.md): files a request, bytes a file, and
    # pixels an image before any resize (a decompression bomb is refused from its header).
    image_max_files: int = Field(default=32, ge=1, le=1024)
    image_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    image_max_pixels: int = Field(default=4096 * 4096, ge=64)

    # None: read ``api_key_file``, or generate a key there on first start.
    api_key: SecretStr | None = None
    api_key_file: Path = Path("var/local/scoring-api-key")  # where `make run` keeps it
    # Admin routes (model rollback) need this second key (header X-Admin-Key); the scoring key
    # cannot administer. Neither set: admin routes are off (403).
    admin_api_key: SecretStr | None = None
    admin_api_key_file: Path | None = None
    # The browser form works without a key (same-origin cookie + CSRF token).
    form_open: bool = True
    recent_limit: int = Field(default=20, ge=1, le=500)

    site_id: str = Field(
        default="site-local",
        min_length=1,
        alias="EDGELOOP_SITE_ID",
    )
    insights_queue: str = Field(
        default=INSIGHTS_QUEUE,
        min_length=3,
        alias="INSIGHTS_QUEUE",
    )
    relay_enabled: bool = True
    # Queue messages the relay has in flight at once: a send is a round trip to the queue
    # (no batched send), so a site behind a slow uplink keeps several going.
    relay_max_in_flight: int = Field(default=4, ge=1, le=32)
    # The site's status record (edgeloop.service_layer.site_status), written this often; 0: none.
    heartbeat_interval_seconds: float = Field(default=30.0, ge=0, le=3600)

    # Drift at the edge (docs/drift.md): the last drift_window_rows scored rows against the model's
    # training profile; fewer than drift_min_rows: "unavailable". Recomputed at most every
    # drift_cache_seconds when read (/metrics, /readyz, the heartbeat).
    drift_enabled: bool = True
    drift_window_rows: int = Field(default=1000, ge=10, le=1_000_000)
    drift_min_rows: int = Field(default=200, ge=1)
    drift_cache_seconds: float = Field(default=5.0, ge=0, le=3600)

    # Shadow scoring (docs/rollouts.md): the challenger the shadow pointer names for this site scores
    # each committed request's rows off the answer path; at most shadow_queue_batches scorings wait
    # for it (more are dropped and counted). 0: no shadow scoring on this site. Its worker works at most
    # shadow_busy_share of the time (it rests in between): what bounds its cost to the answers.
    shadow_queue_batches: int = Field(default=64, ge=0, le=100_000)
    shadow_busy_share: float = Field(default=0.25, gt=0.0, le=1.0)
    # An image model's shadow: at most this many MiB of decoded frames wait for it (a camera's frames
    # are full size; more are dropped and counted, as a full queue's).
    shadow_queue_frame_mib: int = Field(default=256, ge=1, le=65_536)

    @field_validator("execution_providers", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        names = tuple(name.strip() for name in value.split(","))
        if not all(names):
            raise ValueError(f"SCORING_EXECUTION_PROVIDERS: an empty name in {value!r}")
        return names

    @field_validator("execution_provider_options", mode="before")
    @classmethod
    def _options_object(cls, value: Any) -> Any:
        name = "SCORING_EXECUTION_PROVIDER_OPTIONS"
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"{name}: not valid JSON: {exc}") from None
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise ValueError(f"{name}: an object of objects, provider name -> {{option: value}}")
        # onnxruntime takes every option value as text; JSON numbers and booleans are spelt its way.
        return {
            provider: {key: _option_text(option) for key, option in values.items()}
            for provider, values in value.items()
        }

    @model_validator(mode="after")
    def _drift_min_rows_fit_the_window(self) -> ScoringSettings:
        if self.drift_min_rows > self.drift_window_rows:
            raise ValueError(
                f"SCORING_DRIFT_MIN_ROWS ({self.drift_min_rows}) must not exceed"
                f" SCORING_DRIFT_WINDOW_ROWS ({self.drift_window_rows})"
            )
        return self

    @model_validator(mode="after")
    def _options_name_listed_providers(self) -> ScoringSettings:
        for provider in self.execution_provider_options:
            if provider not in self.execution_providers:
                raise ValueError(
                    f"SCORING_EXECUTION_PROVIDER_OPTIONS: {provider!r} is not in SCORING_EXECUTION_PROVIDERS"
                )
        return self


def _option_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value) if isinstance(value, int | float) else value
