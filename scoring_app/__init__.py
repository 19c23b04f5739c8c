"""Edge scoring app (FastAPI): ``create_app()`` builds it, ``python -m scoring_app`` serves it."""

from scoring_app.app import create_app

__all__ = ["create_app"]
