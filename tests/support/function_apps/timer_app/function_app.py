"""Test app: one timer function that records each run's occurrence and past_due flag."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import azure.functions as func

app = func.FunctionApp()


def record(**fields: Any) -> None:
    """Append one JSON line to the file ``TEST_RECORD_FILE`` names (what the tests read)."""
    line = json.dumps({"t": time.time(), **fields}, default=str) + "\n"
    with open(os.environ["TEST_RECORD_FILE"], "a", encoding="utf-8") as out:
        out.write(line)


@app.timer_trigger(schedule="%TEST_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
def tick(timer: func.TimerRequest) -> None:
    record(fn="tick", past_due=timer.past_due, occurrence=timer.schedule_status["Next"])
