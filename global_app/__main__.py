"""``python -m global_app``: serve the global app with uvicorn (127.0.0.1:8001 by default)."""

from __future__ import annotations

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from edgeloop.config.cloud import CloudSettings
from edgeloop.config.observability import ObservabilitySettings
from edgeloop.observability.json_logs import uvicorn_log_config
from global_app.app import create_app_from_settings


def main() -> None:
    settings = CloudSettings()
    uvicorn.run(
        create_app_from_settings(settings),
        host=settings.app_host,
        port=settings.app_port,
        # LOG_FORMAT=json: JSON lines with the trace ids; else uvicorn's default text.
        log_config=uvicorn_log_config(ObservabilitySettings().log_format) or LOGGING_CONFIG,
    )


if __name__ == "__main__":
    main()
