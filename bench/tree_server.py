"""The global app of another source tree (an exported earlier commit) over a SQLite store, served by
uvicorn in a child process, so a bench times the code before a change and after it in one run; and
the dashboard's largest reads of a tree, timed in a child process the same way (``tree_parts``).

Usage: ``git archive <commit> | tar -x -C /tmp/before`` once, then ``serving_tree(Path("/tmp/before"),
db)``: the child runs with that tree first on its path (``python -c`` puts its working directory
there), and this environment's packages for the rest.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from localdev.azurite import free_port, wait_for_port

SERVE = """
import sys
from pathlib import Path

import uvicorn

import global_app
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from global_app.app import create_app
from global_app.auth import OpenAccess

assert Path(global_app.__file__).is_relative_to(Path.cwd()), "the tree's own app, not this one"
app = create_app(SqliteInsightStore(Path(sys.argv[1])), OpenAccess())
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


# The same calls of the InsightStore port whatever the tree, CPU time (process_time), median.
PARTS = """
import statistics, sys, time
from datetime import timedelta
from pathlib import Path

import edgeloop
from edgeloop.adapters.sqlite_store import SqliteInsightStore
from edgeloop.domain.records import utc_now
from edgeloop.service_layer.dashboard_view import dashboard

assert Path(edgeloop.__file__).is_relative_to(Path.cwd()), "the tree's own store, not this one"
store, repeat = SqliteInsightStore(Path(sys.argv[1])), int(sys.argv[2])
day = (utc_now() - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
calls = {
    "per-site totals": lambda: store.site_totals(None, None),
    "per-model totals": lambda: store.model_stats(None, None),
    "per-model totals, last 24 h": lambda: store.model_stats(day, None),
    "the use case": lambda: dashboard(store, None, None),
}
for name, call in calls.items():
    call()
    timings = []
    for _ in range(repeat):
        started = time.process_time()
        call()
        timings.append((time.process_time() - started) * 1000)
    print(f"{name} {statistics.median(timings):.1f}", end="; ")
"""


def tree_parts(tree: Path, db: Path, repeat: int) -> str:
    """``tree``'s dashboard reads over the store ``db``, in a child process: "name ms; ..."."""
    done = subprocess.run(
        [sys.executable, "-c", PARTS, str(db.resolve()), str(repeat)],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    done.check_returncode()
    return done.stdout.strip()


@contextmanager
def serving_tree(tree: Path, db: Path) -> Iterator[str]:
    """The base URL of ``tree``'s global app over the store ``db``; stopped on exit."""
    port = free_port()
    child = subprocess.Popen([sys.executable, "-c", SERVE, str(db.resolve()), str(port)], cwd=tree)
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(timeout=30)
