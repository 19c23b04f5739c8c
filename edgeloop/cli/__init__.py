"""Command lines: ``edgeloop`` (train, replay, models, powerbi). Each command module is thin:
it parses options, builds what it needs through ``edgeloop.bootstrap``, and calls a use case."""

from edgeloop.cli.main import app, main

__all__ = ["app", "main"]
