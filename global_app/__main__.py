"""``python -m global_app``: serve the global app with uvicorn (127.0.0.1:8001 by default)."""

from __future__ import annotations

import uvicorn

from edgeloop.config.cloud import CloudSettings
from global_app.app import create_app_from_settings


def main() -> None:
    settings = CloudSettings()
    uvicorn.run(create_app_from_settings(settings), host=settings.app_host, port=settings.app_port)


if __name__ == "__main__":
    main()
