"""Composition root of the champion lines' retraining runs (the run_retraining worker's side).

One RetrainingService per line of ``RETRAIN_COHORTS`` (edgeloop.domain.model_lines), built on
first use from the same settings; never at import time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from edgeloop.adapters.azure_clients import AzureClients
from edgeloop.bootstrap.retraining import build_retraining
from edgeloop.config.retraining import RetrainingSettings

if TYPE_CHECKING:  # needs the train extra; imported at run time only when a run is built
    from edgeloop.service_layer.retraining import RetrainingService


def build_line_retrainings(
    settings: RetrainingSettings, clients: AzureClients | None = None
) -> Callable[[str | None], RetrainingService]:
    """The run_retraining worker's services by line (None: MODEL_NAME's), each built on first use;
    a line RETRAIN_COHORTS does not name raises ValueError."""
    services: dict[str, RetrainingService] = {}
    lock = threading.Lock()

    def for_line(line: str | None) -> RetrainingService:
        name = line or settings.model_name
        with lock:
            if name not in services:
                services[name] = build_retraining(settings, clients, line=name)
            return services[name]

    return for_line
