"""`make run`'s closing summary: what is up, and where.

One table, printed once every component has started: each process with its
state (checked as the table is made, not assumed) and where to reach it, then
the local API key. Columns are separated by spaces, not box lines, so a line
can be copied (and the tests read it) as ``name  where  state``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class SummaryRow:
    component: str
    where: str
    state: str


def process_state(process: subprocess.Popen[bytes] | None) -> str:
    if process is None:
        return "up"
    code = process.poll()
    return f"up (pid {process.pid})" if code is None else f"exited with code {code}"


def azurite_where(blob: int, queue: int, table: int, accounts: Sequence[str] = ("edge", "cloud")) -> str:
    return f"127.0.0.1 blob :{blob}, queue :{queue}, table :{table} (accounts: {', '.join(accounts)})"


def summary_table(rows: Sequence[SummaryRow]) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column in ("component", "where", "state"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        style = "green" if row.state.startswith("up") else "red"
        table.add_row(row.component, row.where, f"[{style}]{row.state}[/{style}]")
    return table


def print_summary(rows: Sequence[SummaryRow], api_key: str, var: Path) -> None:
    # Wide when piped (a log, a test), so no row wraps; a terminal keeps its own width.
    console = Console(width=None if sys.stdout.isatty() else 200, soft_wrap=True)
    console.print("\nEdgeloop is running (Ctrl-C stops everything):", highlight=False)
    console.print(summary_table(rows), highlight=False)
    console.print(f"local API key    {api_key}   (header X-API-Key)", highlight=False)
    console.print(f"state            {var}\n", highlight=False)
    sys.stdout.flush()
