"""The interpreter settings a scoring worker serves with, applied for the app's lifetime.

Set from the lifespan, not from ``python -m scoring_app``'s main: with several uvicorn
workers each worker is a fresh process that never runs that main. Restored at shutdown,
so an app built and dropped in a test process leaves the interpreter as it found it.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# The event loop, the scoring thread and the relay's senders share the GIL: a thread whose I/O
# completed waits less for a busy one to let go (figures: docs/benchmarks.md).
GIL_SWITCH_INTERVAL = 0.001  # seconds
# A 1,000-row request allocates thousands of short-lived containers: most are freed before
# a young collection looks at them.
YOUNG_GENERATION_THRESHOLD = 10_000


@contextmanager
def serving_interpreter() -> Iterator[None]:
    """Freeze what start-up built, then serve with the settings above; undo all on exit."""
    switch_interval = sys.getswitchinterval()
    thresholds = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    # Start-up leaves many long-lived objects (model, framework, SDKs); frozen, a full
    # collection skips them instead of pausing every request in flight.
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(switch_interval)
        # gc.unfreeze() thaws everything: only when nothing was frozen before us (on Python 3.12 some are
        # frozen before the app starts); otherwise what we froze stays frozen, which costs nothing.
        if not frozen_before:
            gc.unfreeze()
