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

# The event loop, the scoring thread and the relay's senders share the GIL. At the default
# 5 ms switch interval a thread whose I/O completed (a request body, a queue reply) waits up
# to 5 ms for a busy thread to let go; 1 ms measured 20% more rows/s under 1,000-row load.
GIL_SWITCH_INTERVAL = 0.001  # seconds
# A 1,000-row request allocates thousands of short-lived containers; at the default young
# threshold (700) the collector ran ~150 times a second and walked most of them while they
# were still in use, ~3% of a saturated worker's CPU. At 10,000 most are freed before a
# collection looks at them; one collection pauses ~4 ms.
YOUNG_GENERATION_THRESHOLD = 10_000


@contextmanager
def serving_interpreter() -> Iterator[None]:
    """Freeze what start-up built, then serve with the settings above; undo all on exit."""
    switch_interval = sys.getswitchinterval()
    thresholds = gc.get_threshold()
    # Start-up leaves ~100,000 long-lived objects (model, framework, SDKs). A full garbage
    # collection walked them all in ~44 ms, a pause every request in flight waited out (it
    # was the single-row p99); frozen, collections skip them.
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(switch_interval)
        gc.unfreeze()
