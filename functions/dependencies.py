"""The edge Functions' dependencies: composed on first use, then cached for the process.

Never at import: the host imports function_app.py to index functions before
any setting may be read, and an import must not open connections.
Tests replace the composition with :func:`override_edge_dependencies`.
"""

from __future__ import annotations

import threading

from edgeloop.service_layer.filtering import InsightFilter

_lock = threading.Lock()
_insight_filter: InsightFilter | None = None


def insight_filter() -> InsightFilter:
    global _insight_filter
    with _lock:
        if _insight_filter is None:
            from edgeloop.edge_bootstrap import build_insight_filter  # the adapters load only when needed

            _insight_filter = build_insight_filter()
        return _insight_filter


def override_edge_dependencies(filter_: InsightFilter | None) -> None:
    """Use ``filter_`` from now on; ``None`` makes the next call compose from settings again."""
    global _insight_filter
    with _lock:
        _insight_filter = filter_
