"""The edge Functions' dependencies: composed on first use, then cached for the process.

Never at import (see functions/lazy.py). Tests replace the composition with
:func:`override_edge_dependencies`.
"""

from __future__ import annotations

from edgeloop.service_layer.filtering import InsightFilter
from functions.lazy import Lazy


def _compose_insight_filter() -> InsightFilter:
    from edgeloop.bootstrap.edge import build_insight_filter  # the adapters load only when needed

    return build_insight_filter()


_insight_filter = Lazy(_compose_insight_filter)


def insight_filter() -> InsightFilter:
    return _insight_filter.get()


def override_edge_dependencies(filter_: InsightFilter | None) -> None:
    """Use ``filter_`` from now on; ``None`` makes the next call compose from settings again."""
    _insight_filter.override(filter_)
