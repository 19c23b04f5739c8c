"""The ``edgeloop`` command line (typer). Commands import their dependencies lazily,
so e.g. the edge runtime never needs the training extra installed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeloop.cli.models import models_app
from edgeloop.cli.ops import ops_app
from edgeloop.cli.powerbi import powerbi_app
from edgeloop.cli.replay import replay_command

app = typer.Typer(help="Edgeloop: AI at the edge, hybrid with the cloud.", no_args_is_help=True)
app.add_typer(powerbi_app, name="powerbi")
app.add_typer(models_app, name="models")
app.command("replay")(replay_command)
app.add_typer(ops_app, name="ops")


@app.callback()
def _root() -> None:
    """Edgeloop command line."""


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="AI4I 2020 CSV", exists=True, dir_okay=False, readable=True)],
    out: Annotated[Path, typer.Option(help="Bundle directory to write (replaced atomically)")],
    version: Annotated[str, typer.Option(help="Model version recorded in the manifest")] = "1.0.0",
    seed: Annotated[int, typer.Option(help="Seed for the split and the models")] = 7,
) -> None:
    """Train the demo failure model and write a model bundle (model.onnx + manifest.json)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from edgeloop.domain.manifest import ManifestError
    from edgeloop.training.bundle import BundleWriteError, write_bundle
    from edgeloop.training.dataset import TrainingDataError, load_ai4i
    from edgeloop.training.demo_model import TrainingError, train_demo_model

    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("Loading data", total=None)

        def on_step(step: str) -> None:
            progress.update(task, description=step)
            progress.console.log(step)

        try:
            dataset = load_ai4i(data)
            trained = train_demo_model(dataset, version=version, seed=seed, on_step=on_step)
            on_step(f"Writing bundle to {out}")
            manifest = write_bundle(out, trained.manifest_fields, {"model.onnx": trained.onnx_bytes})
        except (TrainingDataError, TrainingError, ManifestError, BundleWriteError) as exc:
            console.print(f"[red]training failed:[/red] {exc}")
            raise typer.Exit(code=1) from exc
        progress.update(task, description="Done", total=1, completed=1)
    metrics = manifest.metrics
    console.print(
        f"[green]{manifest.name} {manifest.version}[/green] -> {out}: "
        f"ROC AUC {metrics['test_roc_auc']:.3f}, AP {metrics['test_average_precision']:.3f}, "
        f"F1 {metrics['test_f1_at_threshold']:.3f} at threshold {manifest.threshold:.3f}"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
