"""Settings of the edge scoring app (env prefix ``SCORING_``).

A few names are shared with the rest of the system and keep their contract
names (docs/CONTRACTS.md): ``EDGELOOP_SITE_ID``, ``EdgeStorage``, ``INSIGHTS_QUEUE``.
``EdgeStorage`` (or its identity-based settings, edgeloop.config.connections) has no
default: the relay needs it, and ``make run`` and the tests set it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from edgeloop.config.azure_sdk import AzureSdkOptions
from edgeloop.config.base import EdgeloopSettings
from edgeloop.config.connections import EdgeStorageConnection
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
