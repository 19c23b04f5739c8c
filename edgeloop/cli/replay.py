"""The ``edgeloop replay`` command (see edgeloop.cli.replayer)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer


def replay_command(
    csv_path: Annotated[
        Path, typer.Argument(help="CSV laid out as the model's base data", exists=True, dir_okay=False)
    ],
    site: Annotated[str, typer.Option(help="The site whose scoring app is addressed")] = "site-local",
    rate: Annotated[float, typer.Option(help="Rows per second", min=0.01)] = 5.0,
    feedback_delay: Annotated[
        float, typer.Option(help="Seconds until a row's outcome is reported", min=0)
    ] = 10.0,
    url: Annotated[str, typer.Option(help="Scoring app base URL")] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str | None, typer.Option(help="X-API-Key (default: SCORING_API_KEY, else var/local/scoring-api-key)")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Rows to send at most", min=1)] = None,
    skip: Annotated[int, typer.Option(help="Rows to skip first", min=0)] = 0,
    flip_labels: Annotated[
        bool,
        typer.Option(help="Report a wrong outcome (a poisoned batch): the other label, the next class, x60"),
    ] = False,
) -> None:
    """Stream rows through the scoring API at a rate, then send their true labels as feedback.

    The serving model's description says which CSV column is which input and the label,
    and the label's type (0/1, a class name, a number).
    """
    import httpx
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from edgeloop.cli.replayer import Replayer, ReplayError, ReplayStats, layout_of, read_rows, wrong_label

    key = _api_key(api_key)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30.0) as client,
        Progress(*columns, console=console) as progress,
    ):
        try:
            replayer = Replayer(client, rate=rate, feedback_delay=feedback_delay)
            replayer.check_site(site)
            model = replayer.model()
            rows = read_rows(csv_path, limit=limit, skip=skip, layout=layout_of(model))
            scored = progress.add_task("scored", total=len(rows))
            labelled = progress.add_task("feedback", total=len(rows))

            def on_progress(stats: ReplayStats) -> None:
                progress.update(scored, completed=stats.scored + stats.refused)
                progress.update(labelled, completed=stats.feedback_sent, total=stats.scored)

            poison = wrong_label(model["task"]) if flip_labels else None
            stats = replayer.run(rows, on_progress, poison=poison)
        except ReplayError as exc:
            console.print(f"[red]replay failed:[/red] {exc}")
            raise typer.Exit(1) from exc
    console.print(
        f"{site}: {stats.scored} rows scored ({stats.refused} refused), {stats.feedback_sent} outcomes "
        f"reported; model versions: {stats.versions}"
    )


def _api_key(given: str | None) -> str:
    """``--api-key``, else SCORING_API_KEY, else the local key file ``make run`` writes."""
    key = given or os.environ.get("SCORING_API_KEY")
    if key:
        return key
    key_file = Path("var/local/scoring-api-key")
    if not key_file.exists():
        typer.secho("no API key: pass --api-key or set SCORING_API_KEY", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    return key_file.read_text(encoding="utf-8").strip()
