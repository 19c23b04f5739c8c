"""The ``edgeloop replay`` command (see edgeloop.cli.replayer)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from edgeloop.cli.recalibration import Recalibration
    from edgeloop.cli.replayer import ReplayRow, ReplayStats


SiteOption = Annotated[
    str | None, typer.Option(help="The site the scoring app must serve (checked first; default: any)")
]
DriftOption = Annotated[
    str | None,
    typer.Option(help="A recalibrated sensor: FIELD[*SCALE][+-OFFSET]@ROW or @SECONDSs (torque_nm+5@60s)"),
]
FleetOption = Annotated[
    bool, typer.Option(help="Drive every site of the fleet file at once, each its own rows")
]
FleetFileOption = Annotated[Path, typer.Option(help="The fleet file `make run` writes")]
DriftSiteOption = Annotated[
    str | None, typer.Option(help="With --fleet: the one site whose sensor --drift is")
]


@dataclass(frozen=True)
class ReplayRequest:
    """What to send and how fast: the CSV's rows (``skip``, ``limit``), the pace, the key, the drift."""

    csv_path: Path
    key: str
    rate: float
    feedback_delay: float
    limit: int | None
    skip: int
    drift: str | None

    def rows(self, model: dict[str, Any]) -> list[ReplayRow]:
        from edgeloop.cli.replayer import layout_of, read_rows

        return read_rows(self.csv_path, limit=self.limit, skip=self.skip, layout=layout_of(model))

    def recalibration(self) -> Recalibration | None:
        from edgeloop.cli.recalibration import Recalibration

        return None if self.drift is None else Recalibration.parse(self.drift, self.rate)


def replay_command(
    csv_path: Annotated[
        Path, typer.Argument(help="CSV laid out as the model's base data", exists=True, dir_okay=False)
    ],
    site: SiteOption = None,
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
    drift: DriftOption = None,
    fleet: FleetOption = False,
    fleet_file: FleetFileOption = Path("var/local/fleet.json"),
    drift_site: DriftSiteOption = None,
) -> None:
    """Stream rows through the scoring API at a rate, then send their true labels as feedback.

    The serving model's description says which CSV column is which input and the label,
    and the label's type (0/1, a class name, a number). ``--fleet``: every site of a local
    fleet (``make run``) at once, each with its own rows; ``--drift`` makes one site drift.
    """
    from rich.console import Console

    from edgeloop.cli.replayer import ReplayError

    console = Console(stderr=True)
    request = ReplayRequest(csv_path, _api_key(api_key), rate, feedback_delay, limit, skip, drift)
    try:
        if fleet:
            _replay_fleet(console, request, fleet_file, drift_site)
        elif drift_site is not None:
            raise ReplayError("--drift-site names a site of the fleet: use it with --fleet")
        else:
            _replay_site(console, request, site, url, flip_labels)
    except ReplayError as exc:
        console.print(f"[red]replay failed:[/red] {exc}")
        raise typer.Exit(1) from exc


def _replay_site(
    console: Console, request: ReplayRequest, site: str | None, url: str, flip_labels: bool
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from edgeloop.cli.fleet_replay import FleetReplay, FleetSite, served_model
    from edgeloop.cli.replayer import wrong_label

    target = FleetSite(site or "", url)  # "": not checked
    model = served_model(target, request.key)
    rows = request.rows(model)
    if (recalibration := request.recalibration()) is not None:
        rows = recalibration.apply(rows)
    poison = wrong_label(model["task"]) if flip_labels else None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        scored = progress.add_task("scored", total=len(rows))
        labelled = progress.add_task("feedback", total=len(rows))

        def on_progress(stats: ReplayStats) -> None:
            progress.update(scored, completed=stats.scored + stats.refused)
            progress.update(labelled, completed=stats.feedback_sent, total=stats.scored)

        replay = FleetReplay(request.key, request.rate, request.feedback_delay, poison)
        stats = replay.one(target, rows, on_progress)
    _report(console, site or url, stats)


def _replay_fleet(console: Console, request: ReplayRequest, fleet_file: Path, drift_site: str | None) -> None:
    from edgeloop.cli.fleet_replay import FleetReplay, deal_rows, read_fleet, served_model
    from edgeloop.cli.replayer import ReplayError

    sites = read_fleet(fleet_file)
    ids = [site.site_id for site in sites]
    if (request.drift is None) != (drift_site is None) and len(sites) > 1:
        raise ReplayError("--fleet --drift needs --drift-site (the one site that drifts), and the reverse")
    if drift_site is not None and drift_site not in ids:
        raise ReplayError(f"--drift-site {drift_site!r}: the fleet's sites are {', '.join(ids)}")
    rows = request.rows(served_model(sites[0], request.key))
    slices = deal_rows(rows, len(sites))
    if (recalibration := request.recalibration()) is not None:
        index = ids.index(drift_site) if drift_site is not None else 0
        slices[index] = recalibration.apply(slices[index])
    console.print(f"replaying {len(rows)} rows over {len(sites)} sites: {', '.join(ids)}")
    replay = FleetReplay(request.key, request.rate, request.feedback_delay)
    for site_id, stats in replay.run(sites, slices).items():
        _report(console, site_id, stats)


def _report(console: Console, site: str, stats: ReplayStats) -> None:
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
