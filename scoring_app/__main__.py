"""``python -m scoring_app``: serve the scoring app with uvicorn (settings: SCORING_HOST/PORT/WORKERS)."""

from __future__ import annotations

import uvicorn

from edgeloop.config.scoring import ScoringSettings


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
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
