"""``python -m scoring_app``: serve the scoring app with uvicorn (settings: SCORING_HOST/PORT/WORKERS)."""

from __future__ import annotations

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from edgeloop.config.observability import ObservabilitySettings
from edgeloop.config.scoring import ScoringSettings
from edgeloop.observability.json_logs import uvicorn_log_config


def main() -> None:
    settings = ScoringSettings()
    uvicorn.run(
        # A factory by import string: every worker process builds its own app (and model session).
        "scoring_app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        access_log=settings.access_log,
        log_level="info",
        # LOG_FORMAT=json: JSON lines with the trace ids; else uvicorn's default text.
        log_config=uvicorn_log_config(ObservabilitySettings().log_format) or LOGGING_CONFIG,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
